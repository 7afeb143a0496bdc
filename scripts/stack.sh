#!/usr/bin/env bash
# evidock local stack: Redis, PostgreSQL and MinIO on loopback, all data under <repo>/var/.
#
#   bash scripts/stack.sh up       install what is missing, start the three services, wait for them
#   bash scripts/stack.sh status   one line per service; exits 1 if any service is down
#   bash scripts/stack.sh down     stop the services this checkout started
#
# Every command is idempotent and works from any directory (the repo root is found from this
# script's location), including from a fresh clone such as /tmp/x in CI.
#
# Sharing: if something already answers on a service's port, `up` reuses it instead of
# starting a second copy, so a CI clone in /tmp/x uses the stack a developer started from
# /work/main. `down` only stops what this checkout started (its own var/ pidfiles and data
# directory); a reused service is reported as "left running".
#
# Environment:
#   EVIDOCK_REDIS_PORT (6390)  EVIDOCK_PG_PORT (5439)  EVIDOCK_MINIO_PORT (9010)
#   EVIDOCK_MINIO_CONSOLE_PORT (MinIO port + 1)
#   EVIDOCK_TOOLS_CACHE (~/.cache/evidock): minio and mc binaries live in its bin/, outside the repo
#   EVIDOCK_STACK_TIMEOUT (60): seconds to wait for each service to answer
#
# Credentials of the local stack (loopback only, development use):
#   PostgreSQL: role evidock, databases evidock and evidock_test, trust auth on 127.0.0.1
#   MinIO:      evidock / evidock-local-secret, mc alias `evidock-local` (config in var/mc;
#               var/bin/mc is a wrapper that uses it)
set -euo pipefail

# --- pins --------------------------------------------------------------------------------
# MinIO server. The issue asked for v0.0.0-20251015172955-9e49d5e7a648, but proxy.golang.org
# refuses that version with 403 "This module version is not available", so we pin the
# proxy's latest pseudo-version instead.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_MODULE=github.com/minio/mc
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
# Only used when no Go >= 1.21 is installed: this toolchain is fetched from the Go module
# proxy (it is the module golang.org/toolchain). MinIO needs Go >= 1.24.
GO_TOOLCHAIN=go1.25.7
# Binaries built earlier on this machine, copied instead of rebuilt when their embedded
# module version matches the pin (saves ~10 minutes of compiling).
LEGACY_MINIO_BIN=/root/.cache/evidock-tools/minio-bin/minio
LEGACY_MC_BIN=/root/.cache/evidock-tools/mc-bin/mc

# --- layout ------------------------------------------------------------------------------
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
VAR=$ROOT/var
RUN_DIR=$VAR/run
LOG_DIR=$VAR/log

HOST=127.0.0.1
REDIS_PORT=${EVIDOCK_REDIS_PORT:-6390}
PG_PORT=${EVIDOCK_PG_PORT:-5439}
MINIO_PORT=${EVIDOCK_MINIO_PORT:-9010}
MINIO_CONSOLE_PORT=${EVIDOCK_MINIO_CONSOLE_PORT:-$((MINIO_PORT + 1))}
TIMEOUT=${EVIDOCK_STACK_TIMEOUT:-60}

TOOLS_CACHE=${EVIDOCK_TOOLS_CACHE:-${HOME:-/root}/.cache/evidock}
TOOLS_BIN=$TOOLS_CACHE/bin
MINIO_BIN=$TOOLS_BIN/minio
MC_BIN=$TOOLS_BIN/mc

REDIS_DIR=$VAR/redis
REDIS_PIDFILE=$RUN_DIR/redis.pid
PG_BASE=$VAR/pg
PG_DATA=$PG_BASE/data
PG_SOCKET_DIR=$RUN_DIR/pg
PG_LOG=$LOG_DIR/postgres.log
PG_SUPERUSER=postgres
MINIO_DATA=$VAR/minio
MINIO_PIDFILE=$RUN_DIR/minio.pid
MINIO_LOG=$LOG_DIR/minio.log
MINIO_USER=evidock
MINIO_PASSWORD=evidock-local-secret
MC_CONFIG_DIR=$VAR/mc
MC_ALIAS=evidock-local

# --- helpers -----------------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
warn() { printf 'stack: warning: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { if [ -f "$1" ]; then head -n1 "$1" | tr -dc '0-9'; fi; }

# wait_until <what> <command...>: retry the command every 0.5 s for $TIMEOUT seconds.
wait_until() {
  local what=$1 deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "$what did not become ready within ${TIMEOUT}s"
      return 1
    fi
    sleep 0.5
  done
}

# Run a command as the owner of the PostgreSQL cluster (postgres refuses to run as root).
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Server binaries of the highest installed PostgreSQL major version (Debian layout).
pg_bindir() {
  local d best
  best=$(for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && printf '%s\n' "$d"; done | sort -V | tail -n1)
  [ -n "$best" ] && printf '%s\n' "$best"
}

# --- system packages ---------------------------------------------------------------------
ensure_packages() {
  local need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v redis-cli >/dev/null || need+=(redis-tools)
  pg_bindir >/dev/null || need+=(postgresql)
  command -v psql >/dev/null && command -v pg_isready >/dev/null || need+=(postgresql-client)
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
  [ -e /usr/include/libudev.h ] || need+=(libudev-dev)            # usb-detection (node-gyp)
  command -v make >/dev/null && command -v g++ >/dev/null || need+=(build-essential)
  command -v python3 >/dev/null || need+=(python3)                 # node-gyp
  command -v curl >/dev/null || need+=(curl ca-certificates)
  command -v runuser >/dev/null || need+=(util-linux)
  # `evidock report --format pdf` embeds this font (reports.fontFile); the tests read the
  # report back through poppler's pdftotext.
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
  command -v pdftotext >/dev/null || need+=(poppler-utils)
  [ "${#need[@]}" -eq 0 ] && return 0

  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null || die "missing packages (${need[*]}) and not root; install them with apt-get"
    sudo=(sudo)
  fi
  say "stack: installing ${need[*]} with apt-get"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  pg_bindir >/dev/null || die "PostgreSQL server binaries still missing under /usr/lib/postgresql/*/bin"
  if is_root; then id postgres >/dev/null 2>&1 || die "the postgres OS user is missing after installing postgresql"; fi
}

# --- Go-built tools (minio, mc) ----------------------------------------------------------
# Embedded module version of a Go binary, via `go version -m` (empty if unknown).
embedded_version() { # <go> <binary> <module>
  "$1" version -m "$2" 2>/dev/null | awk -v m="$3" '$1 == "mod" && $2 == m { print $3; exit }'
}

go_usable() { # a go that can switch toolchains by itself (>= 1.21)
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  [ "$(printf '%s\n' "1.21" "$v" | sort -V | head -n1)" = "1.21" ]
}

find_go() {
  local g
  for g in "$(command -v go || true)" /usr/local/go/bin/go "$TOOLS_CACHE/go/bin/go"; do
    [ -n "$g" ] && [ -x "$g" ] && go_usable "$g" && { printf '%s\n' "$g"; return 0; }
  done
  return 1
}

# Fetch a Go toolchain from the Go module proxy (module golang.org/toolchain).
fetch_go() {
  local arch proxy zip tmp
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no Go installed and no toolchain download for $(uname -m); install Go >= 1.24" ;;
  esac
  proxy=${GOPROXY:-https://proxy.golang.org}
  proxy=${proxy%%[,|]*}
  case "$proxy" in http*) ;; *) proxy=https://proxy.golang.org ;; esac
  tmp=$(mktemp -d)
  zip=$tmp/go.zip
  say "stack: fetching Go $GO_TOOLCHAIN from $proxy" >&2
  curl -fsSL --retry 3 -o "$zip" "$proxy/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-$arch.zip" ||
    die "could not download Go $GO_TOOLCHAIN from $proxy"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tmp/x"
  rm -rf "$TOOLS_CACHE/go"
  mkdir -p "$TOOLS_CACHE"
  mv "$tmp/x/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch" "$TOOLS_CACHE/go"
  chmod -R u+w "$TOOLS_CACHE/go"
  chmod +x "$TOOLS_CACHE/go/bin/"* "$TOOLS_CACHE/go/pkg/tool/"*/* 2>/dev/null || true
  rm -rf "$tmp"
  printf '%s\n' "$TOOLS_CACHE/go/bin/go"
}

# ensure_go_tool <name> <module> <version> <legacy binary>
ensure_go_tool() {
  local name=$1 module=$2 version=$3 legacy=$4
  local bin=$TOOLS_BIN/$name stamp=$TOOLS_BIN/$name.version want="$2@$3" go='' have
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$want" ]; then return 0; fi
  mkdir -p "$TOOLS_BIN"
  go=$(find_go || true)

  # A binary already in the cache (without stamp) or built earlier on this machine.
  local candidate
  for candidate in "$bin" "$legacy"; do
    [ -x "$candidate" ] || continue
    if [ -n "$go" ]; then
      have=$(embedded_version "$go" "$candidate" "$module")
      [ "$have" = "$version" ] || continue
    elif [ "$candidate" != "$legacy" ]; then
      continue # cannot check its version without Go; rebuild
    fi
    if [ "$candidate" != "$bin" ]; then
      say "stack: reusing $candidate ($want)"
      cp "$candidate" "$bin.tmp" && chmod 755 "$bin.tmp" && mv -f "$bin.tmp" "$bin"
    fi
    printf '%s\n' "$want" >"$stamp"
    return 0
  done

  [ -n "$go" ] || go=$(fetch_go)
  local build log=$LOG_DIR/build-$name.log
  build=$(mktemp -d "$TOOLS_BIN/.build-$name.XXXXXX")
  mkdir -p "$LOG_DIR"
  say "stack: building $name $version with $("$go" env GOVERSION) (about 10 minutes on 2 cores; log $log)"
  if ! CGO_ENABLED=0 GOBIN=$build GOFLAGS=-buildvcs=false "$go" install "$want" >"$log" 2>&1 9>&-; then
    tail -n 20 "$log" >&2
    rm -rf "$build"
    die "go install $want failed (full log: $log)"
  fi
  mv -f "$build/$name" "$bin"
  rm -rf "$build"
  printf '%s\n' "$want" >"$stamp"
}

# var/bin/mc: mc preconfigured with this checkout's alias.
write_mc_wrapper() {
  mkdir -p "$VAR/bin"
  cat >"$VAR/bin/mc.tmp" <<EOF
#!/bin/sh
# Generated by scripts/stack.sh: mc with the evidock-local alias of this checkout.
exec "$MC_BIN" --config-dir "$MC_CONFIG_DIR" "\$@"
EOF
  chmod 755 "$VAR/bin/mc.tmp"
  mv -f "$VAR/bin/mc.tmp" "$VAR/bin/mc"
}

# --- Redis -------------------------------------------------------------------------------
redis_cli() { redis-cli -h "$HOST" -p "$REDIS_PORT" --no-auth-warning "$@"; }
redis_ping() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }
redis_server_pid() { redis_cli info server 2>/dev/null | awk -F: '/^process_id:/ { gsub(/\r/, "", $2); print $2 }'; }
redis_owned() {
  local pid
  pid=$(read_pid "$REDIS_PIDFILE")
  pid_alive "$pid" && [ "$(redis_server_pid)" = "$pid" ]
}

redis_up() {
  if redis_ping; then
    local note=""
    redis_owned || note=" (reused: not started by this checkout)"
    [ "$(redis_cli config get appendonly 2>/dev/null | sed -n 2p)" = yes ] ||
      warn "redis on port $REDIS_PORT runs without appendonly; BullMQ jobs may be lost on a crash"
    say "redis: up on $HOST:$REDIS_PORT$note"
    return 0
  fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by something that does not answer as Redis (set EVIDOCK_REDIS_PORT)"
  mkdir -p "$REDIS_DIR" "$RUN_DIR" "$LOG_DIR"
  # Settings from the BullMQ production guide: AOF every second, never evict keys.
  redis-server \
    --port "$REDIS_PORT" --bind "$HOST" --protected-mode yes \
    --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction \
    --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$LOG_DIR/redis.log" 9>&- ||
    die "redis-server failed to start; see $LOG_DIR/redis.log"
  if ! wait_until redis redis_ping; then
    tail -n 20 "$LOG_DIR/redis.log" >&2 || true
    die "redis did not start; see $LOG_DIR/redis.log"
  fi
  say "redis: up on $HOST:$REDIS_PORT"
}

redis_status() {
  if redis_ping; then
    if redis_owned; then
      say "redis: up on $HOST:$REDIS_PORT (pid $(read_pid "$REDIS_PIDFILE"), aof $(redis_cli config get appendonly | sed -n 2p))"
    else
      say "redis: up on $HOST:$REDIS_PORT (not started by this checkout)"
    fi
    return 0
  fi
  say "redis: down (port $REDIS_PORT)"
  return 1
}

redis_down() {
  local pid
  pid=$(read_pid "$REDIS_PIDFILE")
  if pid_alive "$pid" && redis_owned; then
    redis_cli shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    wait_until "redis shutdown" bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$REDIS_PIDFILE"
    say "redis: stopped"
  elif redis_ping; then
    say "redis: left running on $HOST:$REDIS_PORT (not started by this checkout)"
  else
    rm -f "$REDIS_PIDFILE"
    say "redis: down"
  fi
}

# --- PostgreSQL --------------------------------------------------------------------------
pg_ready() { pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }
pg_owned_pid() { # pid of this checkout's postmaster, if it runs on our port
  local pid port
  [ -f "$PG_DATA/postmaster.pid" ] || return 1
  pid=$(sed -n 1p "$PG_DATA/postmaster.pid" | tr -dc '0-9')
  port=$(sed -n 4p "$PG_DATA/postmaster.pid" | tr -dc '0-9')
  pid_alive "$pid" && [ "$port" = "$PG_PORT" ] && printf '%s\n' "$pid"
}
pg_psql() { psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" "$@"; }

# The postgres OS user must be able to reach var/pg through every parent directory.
ensure_traversable() {
  is_root || return 0
  local d=$1
  while [ -n "$d" ] && [ "$d" != / ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      say "stack: chmod o+x $d (so the postgres user can reach $PG_BASE)"
      chmod o+x "$d"
    fi
    d=$(dirname -- "$d")
  done
}

pg_init() {
  local bindir=$1
  say "stack: creating PostgreSQL cluster in $PG_DATA"
  local args=(-D "$PG_DATA" -U "$PG_SUPERUSER" -E UTF8 --auth=trust --data-checksums)
  if ! as_pg "$bindir/initdb" "${args[@]}" --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1; then
    as_pg rm -rf "$PG_DATA"
    as_pg mkdir -m 700 "$PG_DATA"
    as_pg "$bindir/initdb" "${args[@]}" --locale=C >"$LOG_DIR/initdb.log" 2>&1 ||
      { cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  # Port, address and socket are rewritten on every `up` (they follow the environment).
  printf "\ninclude_if_exists = 'evidock.conf'\n" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_write_conf() {
  local sock=$PG_SOCKET_DIR
  # A Unix socket path must fit in 107 bytes; fall back to TCP only when the repo is deep.
  [ "${#sock}" -le 90 ] || sock=""
  {
    printf "# Generated by scripts/stack.sh on every up.\n"
    printf "listen_addresses = '%s'\n" "$HOST"
    printf "port = %s\n" "$PG_PORT"
    printf "unix_socket_directories = '%s'\n" "${sock//\'/\'\'}"
  } | as_pg tee "$PG_DATA/evidock.conf" >/dev/null
}

pg_ensure_databases() {
  pg_psql -U "$PG_SUPERUSER" -d postgres >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'evidock') THEN
    CREATE ROLE evidock LOGIN CREATEDB;
  END IF;
END $$;
SELECT 'CREATE DATABASE evidock OWNER evidock' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'evidock')
\gexec
SELECT 'CREATE DATABASE evidock_test OWNER evidock' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'evidock_test')
\gexec
SQL
}

pg_up() {
  local bindir note=""
  bindir=$(pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
  if pg_ready; then
    pg_owned_pid >/dev/null || note=" (reused: not started by this checkout)"
  else
    port_open "$PG_PORT" && die "port $PG_PORT is taken by something that does not answer as PostgreSQL (set EVIDOCK_PG_PORT)"
    if is_root; then id postgres >/dev/null 2>&1 || die "no postgres OS user; reinstall the postgresql package"; fi
    mkdir -p "$PG_BASE" "$PG_SOCKET_DIR" "$LOG_DIR"
    touch "$PG_LOG"
    if is_root; then
      chown postgres: "$PG_BASE" "$PG_SOCKET_DIR" "$PG_LOG"
      ensure_traversable "$PG_BASE"
    fi
    chmod 700 "$PG_BASE"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
      pg_init "$bindir"
    elif [ "$(cat "$PG_DATA/PG_VERSION")" != "$(basename "$(dirname "$bindir")")" ]; then
      die "$PG_DATA was created by PostgreSQL $(cat "$PG_DATA/PG_VERSION") but $bindir is installed; move var/pg away"
    fi
    pg_write_conf
    if ! as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null 9>&-; then
      tail -n 20 "$PG_LOG" >&2 || true
      die "PostgreSQL did not start; see $PG_LOG"
    fi
    wait_until postgres pg_ready || die "PostgreSQL does not answer on $HOST:$PG_PORT; see $PG_LOG"
  fi
  if ! pg_ensure_databases; then
    [ -n "$note" ] || die "could not create role/databases evidock, evidock_test"
    warn "could not create role/databases on the reused server (no trust login for $PG_SUPERUSER?)"
  fi
  pg_psql -U evidock -d evidock -c 'select 1' >/dev/null || die "cannot connect as evidock to database evidock"
  say "postgres: up on $HOST:$PG_PORT (databases evidock, evidock_test; user evidock)$note"
}

pg_status() {
  if pg_ready; then
    local pid
    if pid=$(pg_owned_pid); then
      say "postgres: up on $HOST:$PG_PORT (pid $pid, data $PG_DATA)"
    else
      say "postgres: up on $HOST:$PG_PORT (not started by this checkout)"
    fi
    return 0
  fi
  say "postgres: down (port $PG_PORT)"
  return 1
}

pg_down() {
  local bindir
  if pg_owned_pid >/dev/null; then
    bindir=$(pg_bindir) || die "PostgreSQL binaries not found"
    as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
    say "postgres: stopped"
  elif pg_ready; then
    say "postgres: left running on $HOST:$PG_PORT (not started by this checkout)"
  else
    say "postgres: down"
  fi
}

# --- MinIO -------------------------------------------------------------------------------
minio_live() { curl -sf -o /dev/null --max-time 2 "http://$HOST:$MINIO_PORT/minio/health/live"; }
minio_writable() { curl -sf -o /dev/null --max-time 2 "http://$HOST:$MINIO_PORT/minio/health/cluster"; }
minio_owned_pid() {
  local pid
  pid=$(read_pid "$MINIO_PIDFILE")
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "minio server" && printf '%s\n' "$pid"
}
mc() { "$MC_BIN" --config-dir "$MC_CONFIG_DIR" "$@"; }

minio_up() {
  local note=""
  ensure_go_tool minio "$MINIO_MODULE" "$MINIO_VERSION" "$LEGACY_MINIO_BIN"
  ensure_go_tool mc "$MC_MODULE" "$MC_VERSION" "$LEGACY_MC_BIN"
  if minio_live; then
    minio_owned_pid >/dev/null || note=" (reused: not started by this checkout)"
  else
    port_open "$MINIO_PORT" && die "port $MINIO_PORT is taken by something that does not answer as MinIO (set EVIDOCK_MINIO_PORT)"
    port_open "$MINIO_CONSOLE_PORT" && die "MinIO console port $MINIO_CONSOLE_PORT is taken (set EVIDOCK_MINIO_CONSOLE_PORT)"
    mkdir -p "$MINIO_DATA" "$RUN_DIR" "$LOG_DIR"
    # exec in a subshell without job control: setsid execs in place, so $! is minio's pid.
    # All descriptors are redirected so that callers reading our output (pipes) never hang.
    (
      export MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_UPDATE=off
      exec setsid "$MINIO_BIN" server "$MINIO_DATA" \
        --address "$HOST:$MINIO_PORT" --console-address "$HOST:$MINIO_CONSOLE_PORT"
    ) </dev/null >>"$MINIO_LOG" 2>&1 9>&- &
    local pid=$!
    printf '%s\n' "$pid" >"$MINIO_PIDFILE"
    minio_live_or_dead() { minio_live || ! pid_alive "$pid"; }
    wait_until minio minio_live_or_dead || true
    if ! pid_alive "$pid" || ! minio_live; then
      tail -n 20 "$MINIO_LOG" >&2 || true
      kill -TERM "$pid" 2>/dev/null || true
      rm -f "$MINIO_PIDFILE"
      die "MinIO did not start; see $MINIO_LOG"
    fi
  fi
  wait_until "minio write quorum" minio_writable || die "MinIO answers but is not writable; see $MINIO_LOG"
  mkdir -p "$MC_CONFIG_DIR"
  # `alias set` contacts the server, so it also checks the credentials.
  if ! mc alias set "$MC_ALIAS" "http://$HOST:$MINIO_PORT" "$MINIO_USER" "$MINIO_PASSWORD" >"$LOG_DIR/mc.log" 2>&1; then
    cat "$LOG_DIR/mc.log" >&2
    die "mc could not log in to MinIO on $HOST:$MINIO_PORT as $MINIO_USER"
  fi
  write_mc_wrapper
  say "minio: up on $HOST:$MINIO_PORT (console $HOST:$MINIO_CONSOLE_PORT, mc alias $MC_ALIAS via var/bin/mc)$note"
}

minio_status() {
  if minio_live; then
    local pid
    if pid=$(minio_owned_pid); then
      say "minio: up on $HOST:$MINIO_PORT (pid $pid, data $MINIO_DATA)"
    else
      say "minio: up on $HOST:$MINIO_PORT (not started by this checkout)"
    fi
    return 0
  fi
  say "minio: down (port $MINIO_PORT)"
  return 1
}

minio_down() {
  local pid
  if pid=$(minio_owned_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "minio shutdown" bash -c "! kill -0 $pid 2>/dev/null"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$MINIO_PIDFILE"
    say "minio: stopped"
  elif minio_live; then
    say "minio: left running on $HOST:$MINIO_PORT (not started by this checkout)"
  else
    rm -f "$MINIO_PIDFILE"
    say "minio: down"
  fi
}

# --- main --------------------------------------------------------------------------------
# Serialises up/down of this checkout. Every service is started with fd 9 closed (`9>&-`):
# a daemon inheriting it would hold the lock for as long as it runs.
lock() {
  mkdir -p "$RUN_DIR"
  command -v flock >/dev/null || return 0
  exec 9>"$RUN_DIR/stack.lock"
  # Long wait: a first `up` may be compiling MinIO.
  flock -w 1800 9 || die "another stack.sh holds $RUN_DIR/stack.lock"
}

usage() { die "usage: bash scripts/stack.sh up|down|status"; }

[ "$#" -eq 1 ] || usage
case "$1" in
  up)
    ensure_packages
    lock
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    redis_up
    pg_up
    minio_up
    say "stack: up (data in $VAR)"
    ;;
  status)
    rc=0
    redis_status || rc=1
    if command -v pg_isready >/dev/null; then pg_status || rc=1; else say "postgres: down (not installed)"; rc=1; fi
    minio_status || rc=1
    exit "$rc"
    ;;
  down)
    lock
    minio_down
    if command -v pg_isready >/dev/null; then pg_down; else say "postgres: down"; fi
    if command -v redis-cli >/dev/null; then redis_down; else say "redis: down"; fi
    ;;
  *) usage ;;
esac
