#!/usr/bin/env bash
# PostgreSQL (state, actor and workflow store), Redis (pub/sub streams, caches), stripe-mock
# (the Stripe API for payments) and Mailpit (the mail server notifications sends to) on
# loopback, data under $SC_RUN_DIR (default .run/) so a restart keeps it.
#   stores.sh start|stop|status
#   stores.sh start-mail|stop-mail    the mail server alone (tests of "mail server down")
# The test harness calls it too, with its own SC_RUN_DIR and free ports.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_DATA="$RUN_DIR/postgres/data"
PG_SOCK="$RUN_DIR/postgres/sock"
PG_LOG="$RUN_DIR/logs/postgres.log"
REDIS_DIR="$RUN_DIR/redis"
PG_USER=smartcommerce
PG_DB=smartcommerce
PG_PASSWORD="${SC_PG_PASSWORD:-smartcommerce-local}"   # local only; Azure uses Entra ID tokens

pg() { local b; b=$(pg_bin_dir) || die "PostgreSQL server binaries not found (run task setup)"; as_pg_user "$b/$1" "${@:2}"; }

start_postgres() {
  mkdir -p "$RUN_DIR/postgres" "$PG_SOCK" "$RUN_DIR/logs"
  [ "$(id -u)" -eq 0 ] && chown postgres "$RUN_DIR/postgres" "$PG_SOCK" && touch "$PG_LOG" && chown postgres "$PG_LOG"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    info "initialising PostgreSQL cluster in $PG_DATA"
    local pw; pw=$(mktemp); echo "$PG_PASSWORD" >"$pw"; chmod 644 "$pw"
    pg initdb -D "$PG_DATA" -U "$PG_USER" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pw"
  fi
  if pg pg_ctl -D "$PG_DATA" status >/dev/null 2>&1; then
    info "PostgreSQL already running"
  else
    local opts="-p $SC_PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=300"
    # Test clusters trade durability for speed; `task up` keeps the defaults.
    [ "${SC_PG_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # The port lies in Linux's ephemeral range: a connection the machine made lately (a
    # test or benchmark cluster's thousands) may still hold it as its local port for up to
    # a minute (TIME_WAIT). Wait for it rather than fail.
    local waited=0
    until "$VENV/bin/python" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$SC_PG_PORT" 2>/dev/null; do
      [ $waited -ge 90 ] && die "port $SC_PG_PORT stays in use (SC_PG_PORT picks another)"
      [ $waited -eq 0 ] && info "port $SC_PG_PORT is still held by a closing connection; waiting"
      sleep 3; waited=$((waited + 3))
    done
    pg pg_ctl -D "$PG_DATA" -o "$opts" -l "$PG_LOG" -w -t 60 start >/dev/null || { tail -20 "$PG_LOG"; die "PostgreSQL did not start"; }
  fi
  if ! pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $PG_DB" >/dev/null
  fi
  # Dapr's state.postgresql creates this table itself with CREATE TABLE IF NOT EXISTS, which
  # PostgreSQL can still fail with 42P07 when several sidecars start at once on a new database
  # (components-contrib retries only 23505): the sidecar then exits. Created here first, with
  # Dapr's own definition, every sidecar finds it and goes on to its row-locked migrations.
  pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d "$PG_DB" -qc \
    "CREATE TABLE IF NOT EXISTS dapr_metadata (key text NOT NULL PRIMARY KEY, value text NOT NULL)" >/dev/null
  # The same for the rate-limit store's own metadata table (storefront replicas start together).
  pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d "$PG_DB" -qc \
    "CREATE TABLE IF NOT EXISTS dapr_ratelimit_metadata (key text NOT NULL PRIMARY KEY, value text NOT NULL)" >/dev/null
  # And for identity's own store (identitystore; identity replicas start together).
  pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d "$PG_DB" -qc \
    "CREATE TABLE IF NOT EXISTS dapr_identity_metadata (key text NOT NULL PRIMARY KEY, value text NOT NULL)" >/dev/null
  # The runtime-config store's table and NOTIFY trigger (configuration.postgresql needs the
  # table to exist, and subscriptions need the trigger); idempotent.
  pg psql -h "$PG_SOCK" -p "$SC_PG_PORT" -U "$PG_USER" -d "$PG_DB" -q -v ON_ERROR_STOP=1 \
    -f - <"$ROOT/scripts/sql/runtime_config.sql" >/dev/null
  info "PostgreSQL on 127.0.0.1:$SC_PG_PORT (db $PG_DB, data $PG_DATA)"
}

stop_postgres() {
  [ -s "$PG_DATA/PG_VERSION" ] || return 0
  pg pg_ctl -D "$PG_DATA" status >/dev/null 2>&1 || return 0
  pg pg_ctl -D "$PG_DATA" -m fast -w stop >/dev/null && info "PostgreSQL stopped"
}

start_redis() {
  command -v redis-server >/dev/null || die "redis-server not found (run task setup)"
  mkdir -p "$REDIS_DIR" "$RUN_DIR/logs"
  if [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    info "Redis already running"
  else
    redis-server --bind 127.0.0.1 --port "$SC_REDIS_PORT" --dir "$REDIS_DIR" \
      --appendonly yes --appendfsync everysec --save 60 1 --protected-mode yes \
      --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$RUN_DIR/logs/redis.log"
    wait_tcp 127.0.0.1 "$SC_REDIS_PORT" 20 Redis
  fi
  info "Redis on 127.0.0.1:$SC_REDIS_PORT (append-only file in $REDIS_DIR)"
}

stop_redis() {
  local pidf="$REDIS_DIR/redis.pid" pid
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    info "Redis stopped"
  fi
  rm -f "$pidf"
}

STRIPE_PID="$RUN_DIR/stripe-mock.pid"

start_stripe_mock() {
  [ -x "$TOOLS_BIN/stripe-mock" ] || die "stripe-mock not found in $TOOLS_BIN (run task setup)"
  mkdir -p "$RUN_DIR/logs"
  if [ -f "$STRIPE_PID" ] && kill -0 "$(cat "$STRIPE_PID")" 2>/dev/null; then
    info "stripe-mock already running"
  else
    nohup "$TOOLS_BIN/stripe-mock" -http-port "$SC_STRIPE_PORT" -https-port "$((SC_STRIPE_PORT + 1))" \
      >"$RUN_DIR/logs/stripe-mock.log" 2>&1 &
    echo $! >"$STRIPE_PID"
    wait_tcp 127.0.0.1 "$SC_STRIPE_PORT" 20 stripe-mock
  fi
  info "stripe-mock on 127.0.0.1:$SC_STRIPE_PORT (Stripe API, no webhooks)"
}

stop_stripe_mock() {
  [ -f "$STRIPE_PID" ] || return 0
  kill "$(cat "$STRIPE_PID")" 2>/dev/null && info "stripe-mock stopped"
  rm -f "$STRIPE_PID"
}

MAILPIT_PID="$RUN_DIR/mailpit.pid"

start_mailpit() {
  [ -x "$TOOLS_BIN/mailpit" ] || die "mailpit not found in $TOOLS_BIN (run task setup)"
  mkdir -p "$RUN_DIR/mailpit" "$RUN_DIR/logs"
  if [ -f "$MAILPIT_PID" ] && kill -0 "$(cat "$MAILPIT_PID")" 2>/dev/null; then
    info "Mailpit already running"
  else
    # Messages kept in a SQLite file under $RUN_DIR (they survive a restart); any (or no)
    # SMTP login accepted: the local binding sends none, Azure's sends ACS credentials.
    nohup "$TOOLS_BIN/mailpit" --smtp "127.0.0.1:$SC_SMTP_PORT" --listen "127.0.0.1:$SC_MAIL_UI_PORT" \
      --database "$RUN_DIR/mailpit/mailpit.db" --max 5000 --smtp-auth-accept-any \
      --smtp-auth-allow-insecure --disable-version-check --quiet \
      >"$RUN_DIR/logs/mailpit.log" 2>&1 &
    echo $! >"$MAILPIT_PID"
    wait_tcp 127.0.0.1 "$SC_SMTP_PORT" 20 "Mailpit (SMTP)"
    wait_tcp 127.0.0.1 "$SC_MAIL_UI_PORT" 20 "Mailpit (web)"
  fi
  info "Mailpit: SMTP on 127.0.0.1:$SC_SMTP_PORT, mail to read at http://127.0.0.1:$SC_MAIL_UI_PORT"
}

stop_mailpit() {
  [ -f "$MAILPIT_PID" ] || return 0
  local pid; pid=$(cat "$MAILPIT_PID")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    info "Mailpit stopped"
  fi
  rm -f "$MAILPIT_PID"
}

case "${1:-}" in
  start) step "Stores"; start_postgres; start_redis; start_stripe_mock; start_mailpit ;;
  stop) stop_mailpit; stop_stripe_mock; stop_redis; stop_postgres ;;
  start-mail) start_mailpit ;;
  stop-mail) stop_mailpit ;;
  status)
    pg pg_ctl -D "$PG_DATA" status >/dev/null 2>&1 && echo "postgres: running on $SC_PG_PORT" || echo "postgres: stopped"
    [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null &&
      echo "redis: running on $SC_REDIS_PORT" || echo "redis: stopped"
    [ -f "$STRIPE_PID" ] && kill -0 "$(cat "$STRIPE_PID")" 2>/dev/null &&
      echo "stripe-mock: running on $SC_STRIPE_PORT" || echo "stripe-mock: stopped"
    [ -f "$MAILPIT_PID" ] && kill -0 "$(cat "$MAILPIT_PID")" 2>/dev/null &&
      echo "mailpit: running (SMTP $SC_SMTP_PORT, http://127.0.0.1:$SC_MAIL_UI_PORT)" || echo "mailpit: stopped" ;;
  *) die "usage: stores.sh start|stop|status|start-mail|stop-mail" ;;
esac
