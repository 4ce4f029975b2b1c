# shellcheck shell=bash
# Sourced by postgres.sh, redis.sh and services.sh: paths, logging, the service users, generated
# secrets, the local CA and apt installs. Nothing here prints a secret.

set -euo pipefail

LC_SERVICES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LC_REPO_ROOT=$(cd "$LC_SERVICES_DIR/../.." && pwd)
LOCALCLOUD_DIR=${LOCALCLOUD_DIR:-$LC_REPO_ROOT/.local}
mkdir -p "$LOCALCLOUD_DIR"
LOCALCLOUD_DIR=$(cd "$LOCALCLOUD_DIR" && pwd -P)
export LOCALCLOUD_DIR

LC_TLS_DIR=$LOCALCLOUD_DIR/tls
LC_SECRETS_DIR=$LOCALCLOUD_DIR/secrets
LC_COMPONENT=${LC_COMPONENT:-localcloud}

log() { printf '[localcloud %s] %s\n' "$LC_COMPONENT" "$*"; }
warn() { printf '[localcloud %s] warning: %s\n' "$LC_COMPONENT" "$*" >&2; }
die() {
    printf '[localcloud %s] error: %s\n' "$LC_COMPONENT" "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

# The OS user a server runs as: the Debian package's system user when we are root (PostgreSQL
# refuses to run as root), else ourselves.
service_user() {
    local wanted=$1
    if is_root && getent passwd "$wanted" >/dev/null; then
        echo "$wanted"
    else
        id -un
    fi
}

# run_as USER CMD...: runs CMD as USER (via runuser when we are root and USER is someone else).
run_as() {
    local user=$1
    shift
    if is_root && [ "$user" != "$(id -un)" ]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

# Fails with a hint when USER cannot reach DIR (every parent needs the x bit for it).
check_reachable() {
    local user=$1 dir=$2
    if ! run_as "$user" test -x "$dir" && is_root; then
        # A clone under /root (mode 700) is the usual case. As root, add only the search bit
        # (o+x, never read) to each parent that blocks the server's user, and say so.
        # From / down, so each test sees its parents already passable.
        local d="" part
        local IFS=/
        for part in ${dir#/}; do
            d="$d/$part"
            if ! run_as "$user" test -x "$d"; then
                chmod o+x "$d"
                log "granted o+x on $d so the '$user' user can reach $dir"
            fi
        done
    fi
    if ! run_as "$user" test -x "$dir"; then
        die "the '$user' user cannot reach $dir (a parent directory lacks the search permission 'x' for it).
  Either grant it (e.g. chmod o+x on each parent) or point LOCALCLOUD_DIR somewhere '$user' can reach."
    fi
}

# secret_file NAME: prints the path of secrets/NAME, generating a 40-character alphanumeric value
# (mode 600) the first time.
secret_file() {
    local file=$LC_SECRETS_DIR/$1
    if [ ! -s "$file" ]; then
        (
            umask 077
            mkdir -p "$LC_SECRETS_DIR"
            local value=""
            while [ "${#value}" -lt 40 ]; do
                value+=$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9')
            done
            printf '%s\n' "${value:0:40}" >"$file.tmp"
            mv "$file.tmp" "$file"
        )
        log "generated $1 (stored in $file, mode 600)" >&2
    fi
    chmod 700 "$LC_SECRETS_DIR"
    chmod 600 "$file"
    echo "$file"
}

# ensure_tls: the local CA (10 years) and a server certificate for 127.0.0.1/localhost signed by
# it (re-issued when missing, expiring within 30 days or not signed by the current CA).
ensure_tls() {
    command -v openssl >/dev/null || die "openssl is not installed (run: $0 install)"
    mkdir -p "$LC_TLS_DIR"
    chmod 755 "$LC_TLS_DIR"
    local ca=$LC_TLS_DIR/ca.pem ca_key=$LC_TLS_DIR/ca-key.pem
    local crt=$LC_TLS_DIR/server.pem key=$LC_TLS_DIR/server-key.pem
    if [ ! -s "$ca" ] || [ ! -s "$ca_key" ]; then
        log "creating the local CA ($ca)"
        (
            umask 077
            openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
                -subj "/O=fpsgame localcloud/CN=fpsgame localcloud CA" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" \
                -keyout "$ca_key.tmp" -out "$ca.tmp" 2>/dev/null
            mv "$ca_key.tmp" "$ca_key"
            mv "$ca.tmp" "$ca"
        )
        rm -f "$crt" "$key"
    fi
    chmod 600 "$ca_key"
    chmod 644 "$ca"
    if [ -s "$crt" ] && [ -s "$key" ] &&
        openssl x509 -in "$crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
        openssl verify -CAfile "$ca" "$crt" >/dev/null 2>&1; then
        return 0
    fi
    log "issuing the server certificate for 127.0.0.1 and localhost ($crt)"
    local tmp
    tmp=$(mktemp -d)
    (
        umask 077
        openssl req -new -newkey rsa:2048 -nodes -subj "/O=fpsgame localcloud/CN=localhost" \
            -keyout "$tmp/key.pem" -out "$tmp/req.csr" 2>/dev/null
        printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/ext.cnf"
        openssl x509 -req -in "$tmp/req.csr" -CA "$ca" -CAkey "$ca_key" -CAcreateserial \
            -CAserial "$LC_TLS_DIR/ca.srl" -days 825 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/crt.pem" 2>/dev/null
        mv "$tmp/key.pem" "$key"
        mv "$tmp/crt.pem" "$crt"
    )
    rm -rf "$tmp"
    chmod 600 "$key"
    chmod 644 "$crt"
}

# put_file SRC DEST MODE USER: DEST becomes a copy of SRC (mode MODE, owned by USER when we are
# root), by a rename and only when it differs. Every local command runs `services.sh start`, and
# others read these files meanwhile: each command reads the port files, and a Redis instance the
# Upstash stand-in starts reads its TLS copy. Rewritten in place (`>` truncates first, install
# unlinks first), a reader could find one empty or missing; that failed a command now and then
# with three test files at a time ("no postgres port yet").
put_file() {
    local src=$1 dest=$2 mode=$3 user=$4 tmp
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "$mode" ] &&
        { ! is_root || [ "$(stat -c %U "$dest")" = "$user" ]; }; then
        return 0
    fi
    tmp=$(mktemp "$dest.XXXXXX")
    cat "$src" >"$tmp"
    chmod "$mode" "$tmp"
    if is_root; then chown "$user": "$tmp"; fi
    mv -f "$tmp" "$dest"
}

# write_port_file FILE PORT: FILE holds PORT (as put_file: by a rename, only when it differs).
write_port_file() {
    local file=$1 port=$2
    [ "$(cat "$file" 2>/dev/null)" != "$port" ] || return 0
    put_file <(printf '%s\n' "$port") "$file" 644 "$(id -un)"
}

# install_tls_copy DIR USER: copies the server cert/key and the CA into DIR, owned by USER (the
# servers want their key owned by themselves and not readable by others).
install_tls_copy() {
    local dir=$1 user=$2
    mkdir -p "$dir"
    put_file "$LC_TLS_DIR/server.pem" "$dir/server.pem" 644 "$user"
    put_file "$LC_TLS_DIR/server-key.pem" "$dir/server-key.pem" 600 "$user"
    put_file "$LC_TLS_DIR/ca.pem" "$dir/ca.pem" 644 "$user"
    if is_root; then chown "$user": "$dir"; fi
    chmod 700 "$dir"
}

# apt_install PKG...: installs the Debian packages that are missing (needs root or sudo).
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "already installed: $*"
        return 0
    fi
    local sudo=()
    if ! is_root; then
        command -v sudo >/dev/null || die "installing ${missing[*]} needs root"
        sudo=(sudo)
    fi
    log "installing ${missing[*]} with apt-get"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "installed ${missing[*]}"
}

# port_listening PORT: true when something listens on 127.0.0.1:PORT.
port_listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# choose_port postgres|redis: the port to start the service on (its variable, else the port
# remembered in the clone's .local/, else a free one picked and remembered): see ports.ts, the one
# home of that rule. Node and the TypeScript loader are this clone's.
choose_port() {
    local node=node
    [ -x "$LC_REPO_ROOT/node_modules/.bin/node" ] && node=$LC_REPO_ROOT/node_modules/.bin/node
    "$node" --require "$LC_REPO_ROOT/lib/register.js" "$LC_SERVICES_DIR/ports.ts" choose "$1"
}
