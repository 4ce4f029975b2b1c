#!/usr/bin/env bash
# Lints every workflow in .github/workflows with actionlint (built from its Go module on first
# use, cached outside the clone like the Pulumi toolchain) and shellcheck (Debian's package) over
# their `run:` scripts. Used by .ci/run and by the ci workflow.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.7.12
dir="${FPSGAME_TOOLS_CACHE:-$HOME/.cache/fpsgame-infra/tools}/actionlint-$version"
if [ ! -x "$dir/actionlint" ]; then
    go=$(command -v go || echo /usr/local/go/bin/go)
    if [ ! -x "$go" ]; then
        echo "actionlint: Go is needed to build it (github.com/rhysd/actionlint@$version); install Go" >&2
        exit 1
    fi
    echo "[actionlint] building github.com/rhysd/actionlint/cmd/actionlint@$version into $dir (once)" >&2
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-mod=mod "$go" install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
if ! command -v shellcheck >/dev/null; then
    echo "actionlint: shellcheck is missing (apt-get install shellcheck); the run: scripts would go unchecked" >&2
    exit 1
fi
echo "[actionlint] $("$dir/actionlint" -version | head -1), $(shellcheck --version | sed -n 2p)" >&2
"$dir/actionlint" -shellcheck "$(command -v shellcheck)" .github/workflows/*.yml
echo "[actionlint] $(ls .github/workflows/*.yml | wc -l) workflows: no findings" >&2
