#!/usr/bin/env bash
# Both local cloud services at once: PostgreSQL (postgres.sh) and Redis (redis.sh).
#
#   localcloud/services/services.sh install|start|stop|restart|status
#
# `install` apt-installs what is missing (postgresql, redis-server, redis-tools, openssl, and time for the benchmark): CI's
# fresh machines call it before `start`.

LC_COMPONENT=services
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
install)
    apt_install postgresql redis-server redis-tools openssl time
    ;;
start | stop | restart)
    "$LC_SERVICES_DIR/postgres.sh" "$1"
    "$LC_SERVICES_DIR/redis.sh" "$1"
    ;;
status)
    rc=0
    "$LC_SERVICES_DIR/postgres.sh" status || rc=$?
    "$LC_SERVICES_DIR/redis.sh" status || rc=$?
    exit $rc
    ;;
*)
    echo "usage: $0 install|start|stop|restart|status" >&2
    exit 2
    ;;
esac
