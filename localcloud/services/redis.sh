#!/usr/bin/env bash
# The local cloud's Redis servers, TLS only on 127.0.0.1 (certificate from the local CA), run as
# the `redis` system user when we are root:
#
# - the admin instance ($LOCALCLOUD_DIR/redis/main), TLS port LOCALCLOUD_REDIS_PORT (default: the
#   port remembered in $LOCALCLOUD_DIR/redis/port, else a free one picked on the first start, see
#   ports.ts), no plain TCP port (a unix socket of mode 700 when the path is short enough), the
#   `default` user disabled and one ACL user `localcloud-admin`;
# - one instance per Upstash database ($LOCALCLOUD_DIR/redis/databases/<id>), created, configured
#   and deleted by the upstash stand-in provider; this script (re)starts and stops them too.
#
#   localcloud/services/redis.sh install   apt-install redis-server, redis-tools and openssl if missing
#   localcloud/services/redis.sh start     write the admin config, start every instance; idempotent
#   localcloud/services/redis.sh stop      stop every instance (SIGTERM: Redis saves, then exits)
#   localcloud/services/redis.sh status    exit 0 when the admin instance runs
#
# The admin password is $LOCALCLOUD_DIR/secrets/redis-admin-password (never printed).

LC_COMPONENT=redis
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

R_DIR=$LOCALCLOUD_DIR/redis
R_MAIN=$R_DIR/main
R_TLS=$R_DIR/tls
R_DBS=$R_DIR/databases
R_USER=$(service_user redis)
R_ADMIN=localcloud-admin

# A Redis configuration string (double-quoted, backslash-escaped).
rquote() {
    local v=${1//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

instance_port() { awk '$1 == "tls-port" {print $2}' "$1/redis.conf"; }

instance_pid() {
    local pidfile=$1/redis.pid pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

ping_instance() {
    local port=$1
    REDISCLI_AUTH=$(cat "$LC_SECRETS_DIR/redis-admin-password") \
        redis-cli --tls --cacert "$LC_TLS_DIR/ca.pem" -h 127.0.0.1 -p "$port" --user "$R_ADMIN" --no-auth-warning PING 2>/dev/null |
        grep -q PONG
}

start_instance() {
    local dir=$1 name=$2 pid port
    port=$(instance_port "$dir")
    if pid=$(instance_pid "$dir"); then
        log "$name: already running (pid $pid, 127.0.0.1:$port)"
        return 0
    fi
    if port_listening "$port"; then
        die "$name: 127.0.0.1:$port (its tls-port in $dir/redis.conf) is already in use by another process.
  Stop that process; the port is in the stack state of the database's URL, so it is not moved"
    fi
    if is_root; then chown -R "$R_USER": "$dir"; fi
    (cd "$dir" && run_as "$R_USER" redis-server "$dir/redis.conf") >/dev/null
    local i
    for i in $(seq 1 100); do
        if ping_instance "$port"; then
            log "$name: running on 127.0.0.1:$port (TLS)"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/redis.log" >&2 || true
    die "$name: Redis did not answer on 127.0.0.1:$port (log: $dir/redis.log)"
}

stop_instance() {
    local dir=$1 name=$2 pid i
    if ! pid=$(instance_pid "$dir"); then
        log "$name: not running"
        return 0
    fi
    kill -TERM "$pid"
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || {
            log "$name: stopped"
            return 0
        }
        sleep 0.1
    done
    die "$name: pid $pid did not exit within 30 s"
}

write_main_config() {
    local port=$1 pw sock=$R_MAIN/redis.sock
    pw=$(cat "$(secret_file redis-admin-password)")
    mkdir -p "$R_MAIN/data"
    chmod 700 "$R_MAIN"
    {
        echo "# Written by localcloud/services/redis.sh on every start: edit that script, not this file."
        echo "bind 127.0.0.1"
        echo "protected-mode yes"
        echo "port 0"
        echo "tls-port $port"
        echo "tls-cert-file $(rquote "$R_TLS/server.pem")"
        echo "tls-key-file $(rquote "$R_TLS/server-key.pem")"
        echo "tls-ca-cert-file $(rquote "$R_TLS/ca.pem")"
        echo "tls-auth-clients no"
        echo "tls-protocols \"TLSv1.2 TLSv1.3\""
        # sun_path holds 107 bytes: skip the socket for very long paths.
        if [ "${#sock}" -lt 100 ]; then
            echo "unixsocket $(rquote "$sock")"
            echo "unixsocketperm 700"
        fi
        echo "daemonize yes"
        echo "pidfile $(rquote "$R_MAIN/redis.pid")"
        echo "logfile $(rquote "$R_MAIN/redis.log")"
        echo "dir $(rquote "$R_MAIN/data")"
        echo "appendonly yes"
        echo "user default off"
        echo "user $R_ADMIN on >$pw ~* &* +@all"
    } >"$R_MAIN/redis.conf.tmp"
    chmod 600 "$R_MAIN/redis.conf.tmp"
    mv "$R_MAIN/redis.conf.tmp" "$R_MAIN/redis.conf"
    if is_root; then chown -R "$R_USER": "$R_MAIN"; fi
}

cmd_install() {
    apt_install redis-server redis-tools openssl
}

cmd_start() {
    command -v redis-server >/dev/null || die "redis-server is not installed (run: $0 install)"
    local port
    mkdir -p "$R_DIR" "$R_DBS"
    chmod 755 "$R_DIR"
    if is_root; then chown "$R_USER": "$R_DIR" "$R_DBS"; fi
    check_reachable "$R_USER" "$R_DIR"
    ensure_tls
    install_tls_copy "$R_TLS" "$R_USER"
    local was_running=0
    if instance_pid "$R_MAIN" >/dev/null; then
        local running
        was_running=1
        running=$(instance_port "$R_MAIN")
        log "admin instance: already running on 127.0.0.1:$running"
        [ -z "${LOCALCLOUD_REDIS_PORT:-}" ] || [ "$running" = "$LOCALCLOUD_REDIS_PORT" ] ||
            warn "LOCALCLOUD_REDIS_PORT=$LOCALCLOUD_REDIS_PORT differs from the running port $running; run '$0 stop' then '$0 start' to move it"
    else
        # LOCALCLOUD_REDIS_PORT, else the remembered port, else a new free one; clients read it
        # from redis/port, so a remembered port that another process took is replaced.
        port=$(choose_port redis) || exit 1
        write_main_config "$port"
        start_instance "$R_MAIN" "admin instance"
    fi
    write_port_file "$R_DIR/port" "$(instance_port "$R_MAIN")"
    local dir n=0 up=0
    if [ "$was_running" = 1 ]; then
        # While the local cloud runs, the Upstash stand-in owns the database instances: it starts
        # one when it creates its database and stops it before it deletes the folder. Starting
        # them here as well raced with both whenever a command checked the local cloud while
        # another stack's up or destroy ran (a database being deleted was started again; one being
        # created was started twice), and failed that command. So they start here only with the
        # admin instance: the first start, or after a stop or a reboot.
        for dir in "$R_DBS"/*/; do
            [ -f "$dir/redis.conf" ] || continue
            n=$((n + 1))
            if instance_pid "${dir%/}" >/dev/null; then up=$((up + 1)); fi
        done
        log "database instances: $up of $n running, left to the Upstash stand-in (to start every one: $0 restart)"
    else
        for dir in "$R_DBS"/*/; do
            [ -f "$dir/redis.conf" ] || continue
            dir=${dir%/}
            start_instance "$dir" "database $(basename "$dir")"
            n=$((n + 1))
        done
    fi
    log "ready: admin instance on 127.0.0.1:$(cat "$R_DIR/port"), $n Upstash database instance(s); CA $LC_TLS_DIR/ca.pem"
}

cmd_stop() {
    local dir
    for dir in "$R_DBS"/*/; do
        [ -f "$dir/redis.conf" ] || continue
        dir=${dir%/}
        stop_instance "$dir" "database $(basename "$dir")"
    done
    [ -f "$R_MAIN/redis.conf" ] && stop_instance "$R_MAIN" "admin instance" || log "admin instance: not running"
}

cmd_status() {
    local dir pid rc=0
    if pid=$(instance_pid "$R_MAIN"); then
        log "admin instance: running (pid $pid, 127.0.0.1:$(instance_port "$R_MAIN"))"
    else
        log "admin instance: not running"
        rc=3
    fi
    for dir in "$R_DBS"/*/; do
        [ -f "$dir/redis.conf" ] || continue
        dir=${dir%/}
        if pid=$(instance_pid "$dir"); then
            log "database $(basename "$dir"): running (pid $pid, 127.0.0.1:$(instance_port "$dir"))"
        else
            log "database $(basename "$dir"): not running"
        fi
    done
    return $rc
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
