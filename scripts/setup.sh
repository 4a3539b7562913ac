#!/usr/bin/env bash
# Everything SmartCommerce needs on a machine with Python 3.11, Go and apt (or the tools
# already installed): PostgreSQL + Redis + Node.js + Chromium (Debian packages), the Python
# environment (.venv, pinned by requirements.lock), the Dapr runtime + CLI (~/.dapr/bin) and
# the tests' Node.js packages (tests/polyglot/node, tests/browser/node, pinned by their locks).
# Idempotent and cached: a second run checks and finishes in seconds.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
started=$SECONDS

# ---- system packages -------------------------------------------------------------------
step "System packages (PostgreSQL, Redis, Node.js, Chromium)"
missing=()
pg_bin_dir >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v wrk >/dev/null || missing+=(wrk)  # the load generator of ./taskw soak
# The browser of tests/browser (Playwright drives it; no browser download).
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -q . || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]}: install them with your package manager"
  info "installing ${missing[*]} with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts packaged services; ours run on their own ports with project-local data.
  as_root service redis-server stop >/dev/null 2>&1 || true
  as_root service postgresql stop >/dev/null 2>&1 || true
fi
info "PostgreSQL $("$(pg_bin_dir)/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), Node.js $(node --version)"

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

# ---- Mailpit (the local mail server) ----------------------------------------------------
# notifications sends email through Dapr's SMTP binding; locally Mailpit receives it and
# shows it (web UI and REST API, which the tests read).
step "Mailpit $MAILPIT_VERSION in $TOOLS_BIN"
mailpit_stamp="$TOOLS_BIN/.mailpit-$MAILPIT_VERSION"
if [ -x "$TOOLS_BIN/mailpit" ] && [ -f "$mailpit_stamp" ]; then
  info "up to date"
else
  command -v go >/dev/null || die "Go is needed to build Mailpit"
  info "building from the Go module proxy (cached in $(go env GOMODCACHE))"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
  rm -f "$TOOLS_BIN"/.mailpit-* && touch "$mailpit_stamp"
fi

# ---- Node.js packages of the tests ------------------------------------------------------
# tests/polyglot/node: the cross-language client (tests/security/test_polyglot.py, the
# official Dapr JavaScript SDK); tests/browser/node: axe-core, injected into Chromium pages
# by the accessibility checks. `npm ci` installs exactly each lock file, and only when
# node_modules is missing or the lock (or the Node.js major) changed since: the stamp lives
# inside node_modules, so deleting it re-installs. No install scripts: none is needed
# (protobufjs's only checks versions).
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js 18+ is required ($(node --version) found)"
for NODE_CLIENT in "$ROOT/tests/polyglot/node" "$ROOT/tests/browser/node"; do
  step "Node.js packages (${NODE_CLIENT#"$ROOT"/})"
  node_stamp=$( (echo "node $node_major"; cat "$NODE_CLIENT/package.json" "$NODE_CLIENT/package-lock.json") |
    sha256sum | cut -c1-16)
  if [ "$(cat "$NODE_CLIENT/node_modules/.smartcommerce-stamp" 2>/dev/null)" = "$node_stamp" ]; then
    info "up to date"
  else
    info "npm ci (npm cache: $CACHE_DIR/npm)"
    (cd "$NODE_CLIENT" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
      --cache "$CACHE_DIR/npm")
    echo "$node_stamp" >"$NODE_CLIENT/node_modules/.smartcommerce-stamp"
    info "installed $(cd "$NODE_CLIENT" && npm ls --depth=0 --parseable 2>/dev/null | tail -n +2 | xargs -n1 basename | tr '\n' ' ')"
  fi
done

step "Set-up done in $((SECONDS - started)) s"
