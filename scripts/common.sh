# Shared shell helpers and the local ports (sourced by the other scripts).
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Standard tool locations a minimal PATH (CI, cron, env -i) may lack: runuser, go, pyenv.
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /sbin /usr/local/go/bin "$HOME/go/bin" \
  "$HOME/.pyenv/shims"; do
  [ -d "$dir" ] && case ":$PATH:" in *":$dir:"*) ;; *) PATH="$PATH:$dir" ;; esac
done
export PATH
export ROOT
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"

DAPR_HOME="${DAPR_HOME:-$HOME/.dapr}"
DAPR_BIN="$DAPR_HOME/bin"
RUN_DIR="${SC_RUN_DIR:-$ROOT/.run}"          # project-local data and logs of `task up`
CACHE_DIR="${SC_CACHE_DIR:-$HOME/.cache/smartcommerce}"
VENV="$ROOT/.venv"

# Local ports of `task up` (tests pick free ports of their own).
SC_PG_PORT="${SC_PG_PORT:-55432}"
SC_REDIS_PORT="${SC_REDIS_PORT:-56379}"
SC_STRIPE_PORT="${SC_STRIPE_PORT:-12111}"               # stripe-mock's default HTTP port
SC_SMTP_PORT="${SC_SMTP_PORT:-1025}"                    # Mailpit's SMTP (the email binding)
SC_MAIL_UI_PORT="${SC_MAIL_UI_PORT:-8025}"              # Mailpit's web UI and REST API
TOOLS_BIN="$CACHE_DIR/bin"                               # go-task, stripe-mock, mailpit
SC_PLACEMENT_PORT="${SC_PLACEMENT_PORT:-50005}"     # dapr CLI default
SC_SCHEDULER_PORT="${SC_SCHEDULER_PORT:-50006}"     # dapr CLI default
SC_SCHEDULER_ETCD_PORT="${SC_SCHEDULER_ETCD_PORT:-52379}"
SC_PLACEMENT_HEALTH_PORT="${SC_PLACEMENT_HEALTH_PORT:-58080}"
SC_PLACEMENT_RAFT_PORT="${SC_PLACEMENT_RAFT_PORT:-58201}"   # placement's default 8201 would clash between clusters
SC_SCHEDULER_HEALTH_PORT="${SC_SCHEDULER_HEALTH_PORT:-58081}"
SC_PLACEMENT_METRICS_PORT="${SC_PLACEMENT_METRICS_PORT:-59090}"
SC_SCHEDULER_METRICS_PORT="${SC_SCHEDULER_METRICS_PORT:-59091}"
SC_DASHBOARD_PORT="${SC_DASHBOARD_PORT:-8088}"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (install it yourself or run as root)"; fi
}

# PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  return 1
}
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_tcp() { # host port seconds what
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  die "$4 did not listen on $1:$2 within $3 s"
}
