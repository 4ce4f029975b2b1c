#!/usr/bin/env bash
# localcloud/toolchain/toolchain.sh: build (once) and locate the offline Pulumi toolchain.
#
# Builds into a cache outside the repo:
#   <root>/pulumi-<ver>/bin/pulumi                   the Pulumi CLI, from the Go module proxy
#   <root>/pulumi-<ver>/bin/pulumi-language-nodejs   the Node.js language host: this repo's own,
#                                                    built from localcloud/toolchain/langhost (see its main.go)
#   <root>/command-v<ver>/bin/pulumi-resource-command  the `command` provider (optional)
# <root> is ${FPSGAME_TOOLCHAIN_DIR:-$HOME/.cache/fpsgame-infra/toolchain}. The CLI is keyed by
# its version; the language host by a hash of localcloud/toolchain/langhost's sources (go.mod, go.sum, *.go),
# kept in bin/.pulumi-language-nodejs.stamp, so an edit there rebuilds it (a few seconds).
#
# Usage:
#   localcloud/toolchain/toolchain.sh               build what is missing, then print a summary
#   localcloud/toolchain/toolchain.sh --print-path  same, then print ONLY the PATH fragment (the
#                                    directory of pulumi and its language host):
#                                    PATH="$(localcloud/toolchain/toolchain.sh --print-path):$PATH"
#   localcloud/toolchain/toolchain.sh --print-command-provider
#                                    same, then print ONLY the provider binary's path:
#                                    pulumi plugin install resource command 1.2.1 \
#                                      --file "$(localcloud/toolchain/toolchain.sh --print-command-provider)"
#   --strict   exit 3 if the CLI or the language host could not be had (a failed build
#              already exits 1). The command provider is optional and never fails
#              --strict; --print-command-provider exits 3 when it is missing.
#   --retry    ask the proxy again for the command provider (else a refusal is
#              remembered for 24 h)
#   localcloud/toolchain/toolchain.sh --test-langhost
#              run the language host's Go tests (npm run test:go), built with the settings of
#              its build here, so they reuse the compiled packages Go's build cache holds
#              from that build; nothing is built or checked in the toolchain cache
# All progress goes to stderr, in every mode. Env: PULUMI_VERSION, COMMAND_VERSION,
# FPSGAME_TOOLCHAIN_DIR, FPSGAME_COMMAND_MODVER (see below).
#
# The provider is not put on PATH: pulumi warns "using pulumi-resource-command from
# $PATH" on every run for a provider found there; the plugin cache is silent.
#
# Why the language host is our own: the module proxy this project reaches serves
# github.com/pulumi/pulumi/{pkg,sdk}/v3 but (checked 2026-11-28) refuses
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 at every version, and
# upstream code may not be committed. localcloud/toolchain/langhost needs only the served sdk module.
# The proxy also refuses github.com/pulumi/pulumi-command/provider at every version tried;
# that one is asked again once a day. See localcloud/toolchain/ENGINE-NOTES.md.
set -euo pipefail

# ---- pins (each overridable from the environment) ---------------------------------
PULUMI_VERSION="${PULUMI_VERSION:-v3.276.0}"
COMMAND_VERSION="${COMMAND_VERSION:-1.2.1}"
# pulumi-command has no provider/ tags either: v1.2.1 is commit 7f3eb6f3b77c
# (2026-03-03 23:59:22 UTC), hence this pseudo-version.
if [[ -z "${FPSGAME_COMMAND_MODVER:-}" && "${COMMAND_VERSION#v}" == "1.2.1" ]]; then
  FPSGAME_COMMAND_MODVER="v0.0.0-20260303235922-7f3eb6f3b77c"
fi
FPSGAME_COMMAND_MODVER="${FPSGAME_COMMAND_MODVER:-}"

PULUMI_PKG=github.com/pulumi/pulumi/pkg/v3
PULUMI_SDK=github.com/pulumi/pulumi/sdk/v3
# The language host's Go module, committed in this repo next to this script.
LANGHOST_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/langhost"
LANGHOST_STAMP=.pulumi-language-nodejs.stamp
COMMAND_MOD=github.com/pulumi/pulumi-command/provider
# Settings of the upstream release builds (.goreleaser.yml, scripts/go-wrapper.sh).
GO_TAGS=osusergo,grpcnotrace
# The language host's module is committed with a complete go.sum: its build and its tests must
# never edit it (readonly). No VCS stamping: the sources' hash is the key, and git may not be
# usable (CI, ownership).
LANGHOST_GOFLAGS="-mod=readonly -buildvcs=false"
PULUMI_LDFLAGS_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
COMMAND_LDFLAGS_VAR=github.com/pulumi/pulumi-command/provider/pkg/version.Version
UNAVAILABLE_TTL_MIN=1440
TOTAL_STEPS=4

# ---- arguments ----------------------------------------------------------------------
print_path=0 print_provider=0 strict=0 retry=0 test_langhost=0
for arg in "$@"; do
  case "$arg" in
    --print-path) print_path=1 ;;
    --print-command-provider) print_provider=1 ;;
    --strict) strict=1 ;;
    --retry) retry=1 ;;
    --test-langhost) test_langhost=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "toolchain.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

PULUMI_VERSION="v${PULUMI_VERSION#v}"
COMMAND_VERSION="${COMMAND_VERSION#v}"
ROOT="${FPSGAME_TOOLCHAIN_DIR:-$HOME/.cache/fpsgame-infra/toolchain}"
PULUMI_DIR="$ROOT/pulumi-$PULUMI_VERSION"
COMMAND_DIR="$ROOT/command-v$COMMAND_VERSION"
START_NS=$(date +%s%N)

# ---- output helpers (stderr only) -------------------------------------------------
CURRENT_STEP="starting"
TMP_DIRS=()
log() { echo "[toolchain] $*" >&2; }
step() {
  local name=${2%% (*}
  CURRENT_STEP="step $1/$TOTAL_STEPS, ${name%…}"
  echo "[toolchain $1/$TOTAL_STEPS] $2" >&2
}
die() { echo "[toolchain] ERROR in $CURRENT_STEP: $*" >&2; exit 1; }
BUILD_LOG=""
on_exit() {
  local rc=$?
  local d
  [[ -z "${BG_PID:-}" ]] || kill "$BG_PID" 2>/dev/null || true
  if [[ $rc -ne 0 && $rc -ne 2 && $rc -ne 3 ]]; then
    if [[ -n "$BUILD_LOG" && -f "$BUILD_LOG" ]]; then
      cp "$BUILD_LOG" "$ROOT/last-failed-build.log" 2>/dev/null || true
      echo "[toolchain] full log: $ROOT/last-failed-build.log" >&2
    fi
    echo "[toolchain] FAILED in $CURRENT_STEP (exit $rc). Nothing half-built was left in $ROOT." >&2
  fi
  for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do rm -rf "$d"; done
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# run_go DIR CMD...: run a go command in DIR with its output in the component's build
# log; say every minute that it is still going, and show the log's tail if it fails.
BG_PID=""
run_go() {
  local dir=$1 t0=$SECONDS rc=0 next=60
  shift
  echo "\$ (cd $dir && $*)" >>"$BUILD_LOG"
  (cd "$dir" && exec "$@") >>"$BUILD_LOG" 2>&1 &
  BG_PID=$!
  while kill -0 "$BG_PID" 2>/dev/null; do
    sleep 1
    if ((SECONDS - t0 >= next)); then
      log "  … '$1 $2' still running ($(((SECONDS - t0) / 60)) min so far)"
      next=$((next + 60))
    fi
  done
  wait "$BG_PID" || rc=$?
  BG_PID=""
  if ((rc != 0)); then
    log "'$1 $2' failed (exit $rc); last lines of its log:"
    tail -n 40 "$BUILD_LOG" | sed 's/^/    /' >&2
  fi
  return "$rc"
}

# make_tmp NAME: set $tmp to a new directory under $ROOT (same file system, so a final
# mv is an atomic rename), removed on exit whatever happens.
make_tmp() {
  tmp=$(mktemp -d "$ROOT/.tmp.$1.XXXXXX") || die "cannot create a temp dir in $ROOT"
  TMP_DIRS+=("$tmp")
}

# ---- Go module helpers --------------------------------------------------------------
go_env_setup() {
  command -v go >/dev/null 2>&1 || {
    [[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
  }
  command -v go >/dev/null 2>&1 || die "no 'go' on PATH (expected Go at /usr/local/go)"
  # The wrapper modules live in temp dirs: resolve with the network, never vendor,
  # never a go.work found above them. GOMODCACHE/GOCACHE stay at the user's defaults.
  export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
}

# json_field FIELD: read `go mod download -json` output on stdin, print FIELD's value.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n 1; }

# download_gomod MODULE@VERSION: print the path of its go.mod in the module cache,
# or fail with the proxy's own words.
download_gomod() {
  local out err gomod
  out=$(go mod download -json "$1" 2>/dev/null) || true
  err=$(json_field Error <<<"$out" | sed 's/\\n\\t/ /g')
  gomod=$(json_field GoMod <<<"$out")
  if [[ -n "$err" || -z "$gomod" ]]; then
    echo "${err:-go mod download printed no GoMod for $1}"
    return 1
  fi
  echo "$gomod"
}

# replace_flags GOMOD ALLOWED_LOCAL...: print one `-replace=old=new@ver` per non-local
# replace directive of GOMOD (a dependency's replaces do not apply when it is built as a
# requirement, so the wrapper must copy them). A local replace (=> ../x) is accepted
# only for the modules named in ALLOWED_LOCAL, which the wrapper requires itself at the
# pinned version.
replace_flags() {
  local gomod=$1 line lhs rhs lp lv rp rv
  shift
  while IFS= read -r line; do
    line="${line%%//*}"
    [[ "$line" == *"=>"* ]] || continue
    lhs="${line%%=>*}" rhs="${line#*=>}"
    read -r lp lv <<<"$lhs"
    read -r rp rv <<<"$rhs"
    if [[ "$rp" == .* || "$rp" == /* ]]; then
      [[ " $* " == *" $lp "* ]] ||
        die "$gomod has an unexpected local replace '$lp => $rp'; update localcloud/toolchain/toolchain.sh"
      continue
    fi
    echo "-replace=${lp}${lv:+@$lv}=${rp}${rv:+@$rv}"
  done < <(awk '
    /^replace[ \t]*\(/ { inblock = 1; next }
    inblock && /^\)/    { inblock = 0; next }
    inblock             { print; next }
    /^replace[ \t]/     { sub(/^replace[ \t]+/, ""); print }' "$gomod")
}

# new_wrapper DIR NAME: an empty main module to require the modules to build.
new_wrapper() {
  mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1) || die "go mod init failed in $1"
}

# expect_version DIR MODULE VERSION: the wrapper must resolve MODULE to exactly VERSION.
expect_version() {
  local got
  got=$(cd "$1" && go list -m -f '{{.Version}}' "$2")
  [[ "$got" == "$3" ]] || die "$2 resolved to $got, not the pinned $3"
}

# Remember a proxy refusal, so cached runs stay instant and quiet.
unavailable_marker() { echo "$ROOT/.unavailable/$1"; }
recently_refused() {
  local m
  m=$(unavailable_marker "$1")
  [[ $retry -eq 0 && -f "$m" && -n "$(find "$m" -mmin -"$UNAVAILABLE_TTL_MIN" 2>/dev/null)" ]]
}
remember_refusal() {
  mkdir -p "$ROOT/.unavailable"
  printf '%s\n' "$2" >"$(unavailable_marker "$1")"
}

lock_root() {
  # One build at a time per cache; a second caller waits, then finds the cache filled.
  if [[ -z "${LOCKED:-}" ]] && command -v flock >/dev/null 2>&1; then
    exec 9>"$ROOT/.lock"
    flock 9
    LOCKED=1
  fi
}

# ---- components ---------------------------------------------------------------------
PULUMI_BIN_DIR="" PULUMI_STATE="" LANGHOST_STATE="" COMMAND_STATE="" COMMAND_NOTE=""

# langhost_key: what the language host binary is built from; a different key means rebuild.
# Hashing a few small files costs milliseconds, so a cached run stays instant and calls no go.
langhost_key() {
  (
    cd "$LANGHOST_SRC" || exit 1
    shopt -s nullglob
    local f files=()
    for f in go.mod go.sum *.go; do [[ "$f" == *_test.go ]] || files+=("$f"); done
    [[ " ${files[*]} " == *" go.mod "* && " ${files[*]} " == *" main.go "* ]] || exit 1
    { echo "pulumi=$PULUMI_VERSION tags=$GO_TAGS"; sha256sum "${files[@]}"; } | sha256sum | cut -d' ' -f1
  )
}
LANGHOST_KEY=$(langhost_key) || {
  echo "[toolchain] ERROR: no language host sources (go.mod, main.go) in $LANGHOST_SRC" >&2
  exit 1
}
# langhost_current DIR: DIR holds a language host built from the current sources.
langhost_current() {
  [[ -x "$1/pulumi-language-nodejs" && -f "$1/$LANGHOST_STAMP" && "$(<"$1/$LANGHOST_STAMP")" == "$LANGHOST_KEY" ]]
}

pulumi_on_path_matches() {
  local p v
  p=$(command -v pulumi 2>/dev/null) || return 1
  # Our own cache on PATH is not a reuse: the cached branch handles it.
  [[ "$(cd "$(dirname "$p")" && pwd -P)" != "$(cd "$PULUMI_DIR/bin" 2>/dev/null && pwd -P)" ]] || return 1
  [[ -x "$(dirname "$p")/pulumi-language-nodejs" ]] || return 1
  # A host built by this script elsewhere (another cache root) must be from the current sources;
  # one without our stamp (e.g. an upstream install) is taken as it is.
  [[ ! -f "$(dirname "$p")/$LANGHOST_STAMP" ]] || langhost_current "$(dirname "$p")" || return 1
  v=$("$p" version 2>/dev/null) || return 1
  [[ "$v" == "$PULUMI_VERSION" ]] || return 1
  PULUMI_BIN_DIR=$(cd "$(dirname "$p")" && pwd -P)
}

build_pulumi() {
  local tmp mod gomod out flags flags_txt
  make_tmp "pulumi-$PULUMI_VERSION"
  mod="$tmp/mod" out="$tmp/pulumi-$PULUMI_VERSION"
  BUILD_LOG="$tmp/build.log"
  new_wrapper "$mod" fpsgame-toolchain/pulumi
  gomod=$(download_gomod "$PULUMI_PKG@$PULUMI_VERSION") ||
    die "the module proxy does not serve $PULUMI_PKG@$PULUMI_VERSION: $gomod"
  flags_txt=$(replace_flags "$gomod" "$PULUMI_SDK") || exit 1
  flags=()
  [[ -z "$flags_txt" ]] || mapfile -t flags <<<"$flags_txt"
  if ((${#flags[@]})); then (cd "$mod" && go mod edit "${flags[@]}"); fi
  # pkg's go.mod replaces sdk with ../sdk, so require sdk at the same version ourselves.
  run_go "$mod" go get "$PULUMI_PKG@$PULUMI_VERSION" "$PULUMI_SDK@$PULUMI_VERSION" ||
    die "go get $PULUMI_PKG@$PULUMI_VERSION failed"
  expect_version "$mod" "$PULUMI_PKG" "$PULUMI_VERSION"
  expect_version "$mod" "$PULUMI_SDK" "$PULUMI_VERSION"
  mkdir -p "$out/bin"
  run_go "$mod" go build -trimpath -tags "$GO_TAGS" \
    -ldflags "-s -w -X $PULUMI_LDFLAGS_VAR=$PULUMI_VERSION" \
    -o "$out/bin/pulumi" "$PULUMI_PKG/cmd/pulumi" || die "go build of the pulumi CLI failed"
  [[ "$("$out/bin/pulumi" version)" == "$PULUMI_VERSION" ]] ||
    die "the built pulumi reports '$("$out/bin/pulumi" version)', not $PULUMI_VERSION"
  cp "$mod/go.mod" "$out/go.mod.used"
  cp "$BUILD_LOG" "$out/build.log"
  mkdir -p "$(dirname "$PULUMI_DIR")"
  mv -T "$out" "$PULUMI_DIR" || die "could not move the build into $PULUMI_DIR"
}

build_langhost() {
  local tmp
  make_tmp "langhost"
  BUILD_LOG="$tmp/build.log"
  local -x GOFLAGS="$LANGHOST_GOFLAGS"
  grep -q "^[[:space:]]*$PULUMI_SDK $PULUMI_VERSION\b" "$LANGHOST_SRC/go.mod" ||
    log "note: localcloud/toolchain/langhost/go.mod requires another $PULUMI_SDK than $PULUMI_VERSION (fine for the protocol; see its header)"
  run_go "$LANGHOST_SRC" go build -trimpath -tags "$GO_TAGS" \
    -ldflags "-s -w -X main.version=${PULUMI_VERSION#v}+fpsgame" \
    -o "$tmp/pulumi-language-nodejs" . || die "go build of localcloud/toolchain/langhost failed"
  "$tmp/pulumi-language-nodejs" --version >/dev/null 2>&1 || die "the built language host does not run"
  echo "$LANGHOST_KEY" >"$tmp/stamp"
  # Same file system, so each rename is atomic: binary first, then the stamp that vouches for it
  # (interrupted in between, the next run sees a stale stamp and builds again).
  mv -T "$tmp/pulumi-language-nodejs" "$PULUMI_BIN_DIR/pulumi-language-nodejs"
  mv -T "$tmp/stamp" "$PULUMI_BIN_DIR/$LANGHOST_STAMP"
}

build_command() {
  local tmp mod gomod out flags flags_txt
  make_tmp "command-v$COMMAND_VERSION"
  mod="$tmp/mod" out="$tmp/command-v$COMMAND_VERSION"
  BUILD_LOG="$tmp/build.log"
  new_wrapper "$mod" fpsgame-toolchain/command
  gomod=$(download_gomod "$COMMAND_MOD@$FPSGAME_COMMAND_MODVER") || {
    remember_refusal "command-$FPSGAME_COMMAND_MODVER" "$gomod"
    COMMAND_NOTE="the module proxy refused $COMMAND_MOD@$FPSGAME_COMMAND_MODVER (its answer: $(unavailable_marker "command-$FPSGAME_COMMAND_MODVER"))"
    return 1
  }
  flags_txt=$(replace_flags "$gomod") || exit 1
  flags=()
  [[ -z "$flags_txt" ]] || mapfile -t flags <<<"$flags_txt"
  if ((${#flags[@]})); then (cd "$mod" && go mod edit "${flags[@]}"); fi
  run_go "$mod" go get "$COMMAND_MOD@$FPSGAME_COMMAND_MODVER" ||
    die "go get $COMMAND_MOD@$FPSGAME_COMMAND_MODVER failed"
  expect_version "$mod" "$COMMAND_MOD" "$FPSGAME_COMMAND_MODVER"
  mkdir -p "$out/bin"
  run_go "$mod" go build -trimpath \
    -ldflags "-s -w -X $COMMAND_LDFLAGS_VAR=$COMMAND_VERSION" \
    -o "$out/bin/pulumi-resource-command" "$COMMAND_MOD/cmd/pulumi-resource-command" ||
    die "go build of the command provider failed"
  cp "$mod/go.mod" "$out/go.mod.used"
  cp "$BUILD_LOG" "$out/build.log"
  mv -T "$out" "$COMMAND_DIR" || die "could not move the build into $COMMAND_DIR"
}

# ---- the language host's tests (--test-langhost) ------------------------------------------
# The settings of build_langhost: with Go's defaults instead (cgo on, no -trimpath, no tags),
# `go test` compiled all of the host's ~450 dependencies again, cgo included: about 130 CPU s,
# 80 s of npm test, on a machine whose cache held only the toolchain's build.
if [[ $test_langhost -eq 1 ]]; then
  go_env_setup
  cd "$LANGHOST_SRC"
  GOFLAGS="$LANGHOST_GOFLAGS" exec go test -trimpath -tags "$GO_TAGS" ./...
fi

# ---- main -------------------------------------------------------------------------------
step 1 "checking the cache at $ROOT"
mkdir -p "$ROOT"
log "pins: pulumi $PULUMI_VERSION, command v$COMMAND_VERSION; language host localcloud/toolchain/langhost ${LANGHOST_KEY:0:12}"

# -- 2: the CLI
if pulumi_on_path_matches; then
  PULUMI_STATE="reused from PATH"
  step 2 "pulumi $PULUMI_VERSION: reusing $PULUMI_BIN_DIR/pulumi (on PATH, same version, language host beside it)"
elif [[ -x "$PULUMI_DIR/bin/pulumi" ]]; then
  PULUMI_BIN_DIR="$PULUMI_DIR/bin" PULUMI_STATE="cached"
  step 2 "pulumi $PULUMI_VERSION: cached"
else
  go_env_setup
  lock_root
  if [[ -x "$PULUMI_DIR/bin/pulumi" ]]; then
    PULUMI_STATE="cached (built by a concurrent run)"
    step 2 "pulumi $PULUMI_VERSION: $PULUMI_STATE"
  else
    step 2 "building pulumi $PULUMI_VERSION (first build takes 3-20 minutes on 2 cores, downloads included)…"
    t0=$SECONDS
    build_pulumi
    PULUMI_STATE="built in $((SECONDS - t0)) s"
  fi
  PULUMI_BIN_DIR="$PULUMI_DIR/bin"
fi

# -- 3: the language host (localcloud/toolchain/langhost), next to the CLI
if [[ "$PULUMI_STATE" == reused* ]]; then
  LANGHOST_STATE="reused from PATH"
  step 3 "pulumi-language-nodejs: reusing the one beside $PULUMI_BIN_DIR/pulumi"
elif langhost_current "$PULUMI_BIN_DIR"; then
  LANGHOST_STATE="cached"
  step 3 "pulumi-language-nodejs: cached"
else
  go_env_setup
  lock_root
  if langhost_current "$PULUMI_BIN_DIR"; then
    LANGHOST_STATE="cached (built by a concurrent run)"
    step 3 "pulumi-language-nodejs: $LANGHOST_STATE"
  else
    step 3 "building pulumi-language-nodejs from localcloud/toolchain/langhost (seconds once the CLI is built)…"
    t0=$SECONDS
    build_langhost
    LANGHOST_STATE="built in $((SECONDS - t0)) s"
  fi
fi

# -- 4: the command provider
if [[ -x "$COMMAND_DIR/bin/pulumi-resource-command" ]]; then
  COMMAND_STATE="cached"
  step 4 "pulumi-resource-command v$COMMAND_VERSION: cached"
elif [[ -z "$FPSGAME_COMMAND_MODVER" ]]; then
  COMMAND_STATE="MISSING"
  COMMAND_NOTE="no pseudo-version pinned for command v$COMMAND_VERSION (set FPSGAME_COMMAND_MODVER)"
  step 4 "pulumi-resource-command v$COMMAND_VERSION: not pinned, skipped"
elif recently_refused "command-$FPSGAME_COMMAND_MODVER"; then
  COMMAND_STATE="MISSING"
  COMMAND_NOTE="the module proxy refuses it (asked again after 24 h, or now with --retry)"
  step 4 "pulumi-resource-command v$COMMAND_VERSION: unavailable, skipped"
else
  go_env_setup
  lock_root
  step 4 "building pulumi-resource-command v$COMMAND_VERSION (a few minutes)…"
  t0=$SECONDS
  if build_command; then
    COMMAND_STATE="built in $((SECONDS - t0)) s"
  else
    COMMAND_STATE="MISSING"
  fi
fi

# ---- summary ----------------------------------------------------------------------------
CURRENT_STEP="summary"
# A cached CLI was checked to report its pinned version when it was built, and its folder is named
# by that version: running it again here would cost a quarter of a second on every command.
if [[ "$PULUMI_STATE" == cached ]]; then
  pulumi_reports=$PULUMI_VERSION
else
  pulumi_reports=$("$PULUMI_BIN_DIR/pulumi" version) || die "$PULUMI_BIN_DIR/pulumi does not run"
fi
elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
{
  echo "[toolchain] done in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s"
  echo "  pulumi                   $pulumi_reports  $PULUMI_BIN_DIR/pulumi  ($PULUMI_STATE)"
  echo "  pulumi-language-nodejs   $PULUMI_BIN_DIR/pulumi-language-nodejs  ($LANGHOST_STATE; localcloud/toolchain/langhost)"
  if [[ "$COMMAND_STATE" == MISSING ]]; then
    echo "  pulumi-resource-command  unavailable (optional): $COMMAND_NOTE"
  else
    echo "  pulumi-resource-command  v$COMMAND_VERSION  $COMMAND_DIR/bin/pulumi-resource-command  ($COMMAND_STATE)"
  fi
  echo "  use: PATH=\"$PULUMI_BIN_DIR:\$PATH\"   (or: PATH=\"\$(localcloud/toolchain/toolchain.sh --print-path):\$PATH\")"
  if [[ "$COMMAND_STATE" != MISSING ]]; then
    echo "       pulumi plugin install resource command $COMMAND_VERSION --file $COMMAND_DIR/bin/pulumi-resource-command"
  fi
} >&2

if [[ $print_path -eq 1 ]]; then
  echo "$PULUMI_BIN_DIR"
fi
if [[ $print_provider -eq 1 ]]; then
  [[ "$COMMAND_STATE" != MISSING ]] || exit 3
  echo "$COMMAND_DIR/bin/pulumi-resource-command"
fi
if [[ $strict -eq 1 && ! -x "$PULUMI_BIN_DIR/pulumi-language-nodejs" ]]; then
  log "--strict: no pulumi-language-nodejs beside $PULUMI_BIN_DIR/pulumi"
  exit 3
fi
