#!/usr/bin/env bash
# Make sure what the tests need is installed and running, on ports of the tests' own:
# Debian's Chromium, coturn and nginx (binaries only), a Redis on 127.0.0.1:6390 and a throw-away PostgreSQL cluster on
# 127.0.0.1:5440 (trust auth), so tests never touch data they did not create.
set -euo pipefail
REDIS_PORT="${HYFLEX_TEST_REDIS_PORT:-6390}"
PG_PORT="${HYFLEX_TEST_PG_PORT:-5440}"
PG_DIR="${HYFLEX_TEST_PG_DIR:-/tmp/hyflex-test-pg}"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# coturn (TURN relay tests) and nginx (front proxy tests): the binaries only; the tests start
# their own instances on free loopback ports with temporary configs.
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ "${#need[@]}" -gt 0 ]; then
  echo "services: installing ${need[*]} from Debian"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "services: starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /tmp --logfile "/tmp/hyflex-test-redis.log"
fi

PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    echo "services: creating a PostgreSQL cluster in $PG_DIR"
    mkdir -p "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DIR"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR" -U postgres -A trust -E UTF8 >/dev/null
  fi
  echo "services: starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k /tmp -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null
fi
echo "services: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), redis :$REDIS_PORT, postgresql :$PG_PORT ready"
