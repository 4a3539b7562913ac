#!/usr/bin/env bash
# Stops the apps and sidecars, the control plane and the stores (data stays in .run/).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PATH="$DAPR_BIN:$PATH"
cd "$ROOT"
pidf="$RUN_DIR/pids/dapr-run.pid"
if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
  step "Stopping apps"
  dapr stop -f dapr.yaml >/dev/null 2>&1 || true
  pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidf"
step "Stopping control plane and stores"
bash "$ROOT/scripts/controlplane.sh" stop
bash "$ROOT/scripts/stores.sh" stop
