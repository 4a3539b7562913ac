#!/usr/bin/env bash
# Dapr placement (actors) and scheduler (reminders, workflow timers, jobs) as local processes,
# scheduler's embedded etcd under $SC_RUN_DIR/scheduler so reminders survive a restart.
#   controlplane.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PIDS="$RUN_DIR/pids"
mkdir -p "$PIDS" "$RUN_DIR/logs"

running() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

start_one() { # name health-port cmd...
  local name=$1 health=$2; shift 2
  if running "$name"; then info "$name already running"; return 0; fi
  nohup "$@" >"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
}

wait_healthy() { # name port
  local i
  for ((i = 0; i < 300; i++)); do
    curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    running "$1" || { tail -20 "$RUN_DIR/logs/$1.log"; die "$1 exited"; }
    sleep 0.1
  done
  tail -20 "$RUN_DIR/logs/$1.log"; die "$1 not healthy after 30 s"
}

stop_one() {
  local pid
  running "$1" || { rm -f "$PIDS/$1.pid"; return 0; }
  pid=$(cat "$PIDS/$1.pid")
  kill "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDS/$1.pid"
  info "$1 stopped"
}

case "${1:-}" in
  start)
    step "Dapr control plane"
    [ -x "$DAPR_BIN/placement" ] || die "$DAPR_BIN/placement missing (run task setup)"
    start_one placement "$SC_PLACEMENT_HEALTH_PORT" "$DAPR_BIN/placement" \
      --port "$SC_PLACEMENT_PORT" --healthz-port "$SC_PLACEMENT_HEALTH_PORT" \
      --metrics-port "$SC_PLACEMENT_METRICS_PORT" --listen-address 127.0.0.1 --healthz-listen-address 127.0.0.1 \
      --initial-cluster "dapr-placement-0=127.0.0.1:$SC_PLACEMENT_RAFT_PORT"
    mkdir -p "$RUN_DIR/scheduler"
    start_one scheduler "$SC_SCHEDULER_HEALTH_PORT" "$DAPR_BIN/scheduler" \
      --port "$SC_SCHEDULER_PORT" --healthz-port "$SC_SCHEDULER_HEALTH_PORT" \
      --metrics-port "$SC_SCHEDULER_METRICS_PORT" --listen-address 127.0.0.1 --healthz-listen-address 127.0.0.1 \
      --etcd-data-dir "$RUN_DIR/scheduler" --etcd-client-port "$SC_SCHEDULER_ETCD_PORT" \
      --etcd-initial-cluster "dapr-scheduler-server-0=http://127.0.0.1:$((SC_SCHEDULER_ETCD_PORT + 1))"
    wait_healthy placement "$SC_PLACEMENT_HEALTH_PORT"
    wait_healthy scheduler "$SC_SCHEDULER_HEALTH_PORT"
    info "placement on 127.0.0.1:$SC_PLACEMENT_PORT, scheduler on 127.0.0.1:$SC_SCHEDULER_PORT"
    ;;
  stop) stop_one scheduler; stop_one placement ;;
  status) for n in placement scheduler; do running $n && echo "$n: running" || echo "$n: stopped"; done ;;
  *) die "usage: controlplane.sh start|stop|status" ;;
esac
