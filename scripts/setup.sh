#!/usr/bin/env bash
# Everything SmartCommerce needs on a machine with Python 3.11, Go and apt (or the tools
# already installed): PostgreSQL + Redis (Debian packages), the Python environment (.venv,
# pinned by requirements.lock) and the Dapr runtime + CLI (~/.dapr/bin). Idempotent and
# cached: a second run checks and finishes in seconds.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
started=$SECONDS

# ---- system packages -------------------------------------------------------------------
step "System packages (PostgreSQL, Redis)"
missing=()
pg_bin_dir >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]}: install them with your package manager"
  info "installing ${missing[*]} with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts packaged services; ours run on their own ports with project-local data.
  as_root service redis-server stop >/dev/null 2>&1 || true
  as_root service postgresql stop >/dev/null 2>&1 || true
fi
info "PostgreSQL $("$(pg_bin_dir)/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"

# ---- Python ----------------------------------------------------------------------------
step "Python environment (.venv)"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
  die "Python 3.11 is required ($("$PY" --version 2>&1) found); set PYTHON=/path/to/python3.11"
py_stamp=$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" | sha256sum | cut -c1-16)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.smartcommerce-stamp" 2>/dev/null)" = "$py_stamp" ]; then
  info "up to date"
else
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  info "installing pinned dependencies (pip cache: ${PIP_CACHE_DIR:-$HOME/.cache/pip})"
  "$VENV/bin/python" -m pip install -q --progress-bar off -c "$ROOT/requirements.lock" -e "$ROOT[dev,ml]"
  echo "$py_stamp" >"$VENV/.smartcommerce-stamp"
  info "installed $("$VENV/bin/python" -m pip list 2>/dev/null | wc -l) packages"
fi

# ---- Dapr ------------------------------------------------------------------------------
bash "$ROOT/scripts/install-dapr.sh"

# ---- stripe-mock -----------------------------------------------------------------------
step "stripe-mock $STRIPE_MOCK_VERSION in $TOOLS_BIN"
stripe_stamp="$TOOLS_BIN/.stripe-mock-$STRIPE_MOCK_VERSION"
if [ -x "$TOOLS_BIN/stripe-mock" ] && [ -f "$stripe_stamp" ]; then
  info "up to date"
else
  command -v go >/dev/null || die "Go is needed to build stripe-mock"
  info "building from the Go module proxy (cached in $(go env GOMODCACHE))"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  rm -f "$TOOLS_BIN"/.stripe-mock-* && touch "$stripe_stamp"
fi

step "Set-up done in $((SECONDS - started)) s"
