#!/usr/bin/env bash
# The local cloud's PostgreSQL: one cluster on 127.0.0.1 only, TLS required for TCP clients
# (certificate from the local CA), data under $LOCALCLOUD_DIR/postgres, run as the `postgres`
# system user when we are root.
#
#   localcloud/services/postgres.sh install   apt-install postgresql and openssl if missing
#   localcloud/services/postgres.sh start     initdb (first time), configure, start; idempotent
#   localcloud/services/postgres.sh stop      fast shutdown
#   localcloud/services/postgres.sh status    exit 0 when running
#
# Environment: LOCALCLOUD_DIR (default <repo>/.local), LOCALCLOUD_PG_PORT (default: the port
# remembered in $LOCALCLOUD_DIR/postgres/port, else a free one picked on the first start; see
# ports.ts), LOCALCLOUD_PG_BINDIR (default: the newest /usr/lib/postgresql/*/bin).
# The superuser is `localcloud_admin`; its password is $LOCALCLOUD_DIR/secrets/pg-admin-password.

LC_COMPONENT=postgres
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_DIR=$LOCALCLOUD_DIR/postgres
PG_DATA=$PG_DIR/data
PG_RUN=$PG_DIR/run
PG_TLS=$PG_DIR/tls
PG_LOG=$PG_DIR/postgres.log
PG_ADMIN=localcloud_admin
PG_USER=$(service_user postgres)

pg_bindir() {
    if [ -n "${LOCALCLOUD_PG_BINDIR:-}" ]; then
        echo "$LOCALCLOUD_PG_BINDIR"
        return
    fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
    elif command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
    else
        die "PostgreSQL is not installed (run: $0 install)"
    fi
}

pg_ctl_() { (cd "$PG_DIR" && run_as "$PG_USER" "$BIN/pg_ctl" -D "$PG_DATA" "$@"); }

is_running() { [ -f "$PG_DATA/PG_VERSION" ] && pg_ctl_ status >/dev/null 2>&1; }

# A PostgreSQL configuration string literal.
pg_quote() { printf "'%s'" "${1//\'/\'\'}"; }

cmd_install() {
    apt_install postgresql openssl
}

init_cluster() {
    local pwfile
    log "initialising a new cluster in $PG_DATA (superuser $PG_ADMIN)"
    mkdir -p "$PG_DATA"
    chmod 700 "$PG_DATA"
    if is_root; then chown "$PG_USER": "$PG_DATA"; fi
    # initdb reads the superuser password from a file the postgres user can read; remove it after.
    pwfile=$(mktemp "$PG_DIR/.pwfile.XXXXXX")
    cat "$(secret_file pg-admin-password)" >"$pwfile"
    chmod 600 "$pwfile"
    if is_root; then chown "$PG_USER": "$pwfile"; fi
    local locale_args=(--locale=C.UTF-8)
    locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' || locale_args=(--no-locale)
    if ! (cd "$PG_DIR" && run_as "$PG_USER" "$BIN/initdb" -D "$PG_DATA" -U "$PG_ADMIN" --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 "${locale_args[@]}" >"$PG_DIR/initdb.log" 2>&1); then
        rm -f "$pwfile"
        tail -n 20 "$PG_DIR/initdb.log" >&2
        die "initdb failed (log: $PG_DIR/initdb.log)"
    fi
    rm -f "$pwfile"
    log "cluster initialised"
}

write_config() {
    local port=$1
    install_tls_copy "$PG_TLS" "$PG_USER"
    mkdir -p "$PG_RUN"
    chmod 700 "$PG_RUN"
    if is_root; then chown "$PG_USER": "$PG_RUN"; fi
    local conf=$PG_DATA/localcloud.conf
    {
        echo "# Written by localcloud/services/postgres.sh on every start: edit that script, not this file."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = $(pg_quote "$PG_RUN")"
        echo "unix_socket_permissions = 0700"
        echo "ssl = on"
        echo "ssl_cert_file = $(pg_quote "$PG_TLS/server.pem")"
        echo "ssl_key_file = $(pg_quote "$PG_TLS/server-key.pem")"
        echo "ssl_min_protocol_version = 'TLSv1.2'"
        echo "password_encryption = 'scram-sha-256'"
        echo "max_connections = 200"
        echo "shared_buffers = '128MB'"
        echo "log_min_messages = warning"
        echo "log_connections = off"
        echo "log_statement = 'none'"
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
    # TCP only with TLS (like Neon); the unix socket (mode 700, owner only) for the owner.
    {
        echo "# Written by localcloud/services/postgres.sh on every start."
        echo "# TYPE  DATABASE USER ADDRESS        METHOD"
        echo "local   all      all                 scram-sha-256"
        echo "hostssl all      all  127.0.0.1/32   scram-sha-256"
    } >"$PG_DATA/pg_hba.conf.tmp"
    mv "$PG_DATA/pg_hba.conf.tmp" "$PG_DATA/pg_hba.conf"
    grep -q "^include_if_exists = 'localcloud.conf'" "$PG_DATA/postgresql.conf" ||
        echo "include_if_exists = 'localcloud.conf'" >>"$PG_DATA/postgresql.conf"
    if is_root; then chown "$PG_USER": "$conf" "$PG_DATA/pg_hba.conf"; fi
    chmod 600 "$conf" "$PG_DATA/pg_hba.conf"
}

cmd_start() {
    BIN=$(pg_bindir)
    local port
    mkdir -p "$PG_DIR"
    if is_root; then chown "$PG_USER": "$PG_DIR"; fi
    chmod 700 "$PG_DIR"
    check_reachable "$PG_USER" "$PG_DIR"
    ensure_tls
    secret_file pg-admin-password >/dev/null
    if is_running; then
        local running_port
        running_port=$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
        log "already running on 127.0.0.1:${running_port:-?} (data $PG_DATA)"
        if [ -n "$running_port" ] && [ -n "${LOCALCLOUD_PG_PORT:-}" ] && [ "$running_port" != "$LOCALCLOUD_PG_PORT" ]; then
            warn "LOCALCLOUD_PG_PORT=$LOCALCLOUD_PG_PORT differs from the running port $running_port; run '$0 stop' then '$0 start' to move it"
        else
            write_port_file "$PG_DIR/port" "$running_port"
        fi
        return 0
    fi
    # Not running: LOCALCLOUD_PG_PORT, else the remembered port, else a new free one; a
    # remembered port that another process holds is an error (it is in the stacks' connection URIs).
    port=$(choose_port postgres) || exit 1
    [ -f "$PG_DATA/PG_VERSION" ] || init_cluster
    write_config "$port"
    if port_listening "$port"; then
        die "127.0.0.1:$port is already in use by another process; set LOCALCLOUD_PG_PORT to a free port"
    fi
    log "starting PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (TLS required; log $PG_LOG)"
    touch "$PG_LOG"
    if is_root; then chown "$PG_USER": "$PG_LOG"; fi
    if ! pg_ctl_ -l "$PG_LOG" -w -t 60 start >/dev/null; then
        tail -n 20 "$PG_LOG" >&2
        die "PostgreSQL did not start (log: $PG_LOG)"
    fi
    write_port_file "$PG_DIR/port" "$port"
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || die "PostgreSQL does not accept connections on 127.0.0.1:$port"
    log "running on 127.0.0.1:$port; CA $LC_TLS_DIR/ca.pem; superuser $PG_ADMIN (password in $LC_SECRETS_DIR/pg-admin-password)"
}

cmd_stop() {
    BIN=$(pg_bindir)
    if ! is_running; then
        log "not running"
        return 0
    fi
    log "stopping"
    pg_ctl_ -m fast -w -t 60 stop >/dev/null
    log "stopped"
}

cmd_status() {
    BIN=$(pg_bindir)
    if is_running; then
        log "running: pid $(head -n 1 "$PG_DATA/postmaster.pid"), 127.0.0.1:$(sed -n 4p "$PG_DATA/postmaster.pid"), data $PG_DATA"
    else
        log "not running (data $PG_DATA)"
        return 3
    fi
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_stop && cmd_start ;;
status) cmd_status ;;
*)
    echo "usage: $0 install|start|stop|restart|status" >&2
    exit 2
    ;;
esac
