#!/usr/bin/env bash
# ruff (lint + format check) on Python, mypy on the shared packages, gofmt on the build modules.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
step "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
step "mypy (apps/contracts, actors)"
"$VENV/bin/mypy"
step "gofmt (tools/)"
bad=$(gofmt -l tools/)
[ -z "$bad" ] || die "gofmt needed: $bad"
