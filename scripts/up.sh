#!/usr/bin/env bash
# Brings the whole system up in the background: stores, control plane, then every app of
# dapr.yaml with its sidecar (`dapr run -f dapr.yaml`), and waits until each app's
# /health/ready answers 200.   up.sh [--foreground]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids"
export PATH="$DAPR_BIN:$PATH"

bash "$ROOT/scripts/stores.sh" start
bash "$ROOT/scripts/controlplane.sh" start

step "Models (trained on first run, ~20 s)"
cd "$ROOT"
"$VENV/bin/python" -m ml.train --if-missing

step "Apps (dapr run -f dapr.yaml)"
# Fraud bands for local use: the model weighs the shopper's local hour, and with the
# production bands (0.30 review / 0.80 reject) a guest's laptop at night is held for review
# or refused. Locally only extreme scores are held or refused unless you ask for production:
#   FRAUD_REVIEW_THRESHOLD=0.30 FRAUD_REJECT_THRESHOLD=0.80 ./taskw up
# Dapr app API token (as Azure Container Apps injects it): daprd sends it to its app and the
# internal apps answer nothing else. One per local install, kept in .run/.
token_file="$RUN_DIR/app-api-token"
[ -s "$token_file" ] || "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(24))" >"$token_file"
APP_API_TOKEN="$(cat "$token_file")"
export APP_API_TOKEN
# Dapr API token: every sidecar (bound to 127.0.0.1, apiListenAddresses in dapr.yaml) refuses
# API calls without it; the apps read DAPR_API_TOKEN and send it. Tools that call a sidecar
# (scripts/seed.py, `dapr invoke`, curl) take it from the same file:
#   curl -H "dapr-api-token: $(cat .run/dapr-api-token)" localhost:3501/v1.0/metadata
dapr_token_file="$RUN_DIR/dapr-api-token"
[ -s "$dapr_token_file" ] || "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(24))" >"$dapr_token_file"
chmod 600 "$token_file" "$dapr_token_file"
DAPR_API_TOKEN="$(cat "$dapr_token_file")"
export DAPR_API_TOKEN
export FRAUD_REVIEW_THRESHOLD="${FRAUD_REVIEW_THRESHOLD:-0.90}"
export FRAUD_REJECT_THRESHOLD="${FRAUD_REJECT_THRESHOLD:-0.95}"
info "fraud bands: review from $FRAUD_REVIEW_THRESHOLD, reject from $FRAUD_REJECT_THRESHOLD"
if [ "${1:-}" = "--foreground" ]; then
  exec dapr run -f dapr.yaml
fi
pidf="$RUN_DIR/pids/dapr-run.pid"
if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
  info "already running (pid $(cat "$pidf")); ./taskw down first to restart"
else
  nohup dapr run -f dapr.yaml >"$RUN_DIR/logs/dapr-run.log" 2>&1 &
  echo $! >"$pidf"
fi
"$VENV/bin/python" "$ROOT/scripts/wait_ready.py" --timeout "${SC_UP_TIMEOUT:-180}" || {
  warn "not every app became ready; see $RUN_DIR/logs/dapr-run.log and .dapr/logs/"
  tail -30 "$RUN_DIR/logs/dapr-run.log" >&2
  exit 1
}
step "Catalog data"
(cd "$ROOT" && "$VENV/bin/python" -m scripts.seed --if-empty)  # a module: it imports scripts.*
cat <<MSG

  SmartCommerce is up.
    Web shop         http://localhost:8080   (staff: /staff, admin: /admin/ops)
    Storefront API   http://localhost:8000/api   (OpenAPI: http://localhost:8000/docs)
    Health           http://localhost:8000/health/ready
    Mail sent        http://127.0.0.1:$SC_MAIL_UI_PORT   (Mailpit: every email notifications sent)
    Apps             $DAPR_BIN/dapr list
    Logs             .dapr/logs/ (apps and sidecars), $RUN_DIR/logs/ (stores, control plane)
    Stop             ./taskw down
MSG
