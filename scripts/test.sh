#!/usr/bin/env bash
# Runs a test suite: all (lint, type check, unit, integration, browser) | unit | integration |
# browser | e2e.
# Extra arguments go to pytest. pytest's "no tests collected" (exit 5) is a failure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
suite="${1:-all}"; shift || true
started=$SECONDS
case "$suite" in
  all) bash "$ROOT/scripts/lint.sh"; paths=(tests) ;;
  unit) paths=(tests/unit) ;;
  integration) paths=(tests/integration tests/security) ;;
  browser) paths=(tests/browser) ;;
  security) paths=(tests/security) ;;
  e2e) paths=(tests/e2e) ;;
  *) die "unknown suite: $suite (all | unit | integration | security | browser | e2e)" ;;
esac
step "pytest ${paths[*]}"
set +e
"$VENV/bin/python" -m pytest "${paths[@]}" "$@"
rc=$?
set -e
[ $rc -eq 5 ] && echo "error: no tests were collected" >&2
step "tests finished in $((SECONDS - started)) s (exit $rc)"
exit $rc
