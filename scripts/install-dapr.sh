#!/usr/bin/env bash
# Installs the pinned Dapr runtime (daprd, placement, scheduler) and the dapr CLI into
# ~/.dapr/bin, the layout `dapr run` expects. Official binaries already there (or on PATH)
# at the pinned version are used as they are; otherwise they are built from Go modules
# (tools/daprd, tools/dapr-cli) because release downloads are not reachable here.
# Idempotent: a stamp records what was built, so a second run does nothing.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$DAPR_BIN"
command -v go >/dev/null || die "Go is required to build Dapr (https://go.dev/dl); none on PATH"

stamp_of() { # files... -> one hash of their contents and the pinned versions
  { cat "$@"; echo "$DAPR_RUNTIME_VERSION $DAPR_CLI_VERSION $(go env GOOS GOARCH)"; } | sha256sum | cut -c1-16
}

go_build_with_progress() { # label moduledir output-dir ldflags pkgs...
  local label=$1 dir=$2 out=$3 ldflags=$4; shift 4
  local total n=0 started=$SECONDS
  info "[$label] downloading Go modules (cached in $(go env GOMODCACHE))"
  (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go mod download)
  total=$(cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go list -deps "$@" | wc -l)
  info "[$label] compiling up to $total packages (first build: several minutes on 2 cores)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -v -trimpath -ldflags "$ldflags" -o "$out/" "$@" 2>&1) |
    while IFS= read -r line; do
      case "$line" in
        *.go:* | "#"* | go:* | *"cannot"*) printf '    %s\n' "$line" ;;
        *) n=$((n + 1)); if ((n % 100 == 0)); then
             info "[$label] $n/$total packages compiled ($((SECONDS - started)) s)"; fi ;;
      esac
    done
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "[$label] go build failed"
  info "[$label] built in $((SECONDS - started)) s"
}

# ---- runtime: daprd, placement, scheduler -------------------------------------------------
runtime_stamp=$(stamp_of "$ROOT"/tools/daprd/go.mod "$ROOT"/tools/daprd/go.sum "$ROOT"/tools/daprd/cmd/daprd/*.go)
runtime_stamp_file="$DAPR_BIN/.smartcommerce-runtime"
have_runtime() {
  [ -x "$DAPR_BIN/daprd" ] && [ -x "$DAPR_BIN/placement" ] && [ -x "$DAPR_BIN/scheduler" ] &&
    [ "$("$DAPR_BIN/daprd" --version 2>/dev/null)" = "$DAPR_RUNTIME_VERSION" ]
}

step "Dapr runtime $DAPR_RUNTIME_VERSION (daprd, placement, scheduler) in $DAPR_BIN"
if have_runtime && [ -f "$runtime_stamp_file" ] && [ "$(cat "$runtime_stamp_file")" = "$runtime_stamp" ]; then
  info "up to date (built by this project earlier)"
elif have_runtime && [ ! -f "$runtime_stamp_file" ]; then
  info "using the official binaries already installed there"
elif command -v daprd >/dev/null && [ "$(daprd --version 2>/dev/null)" = "$DAPR_RUNTIME_VERSION" ] &&
  [ -x "$(dirname "$(command -v daprd)")/placement" ] && [ -x "$(dirname "$(command -v daprd)")/scheduler" ]; then
  src=$(dirname "$(command -v daprd)")
  info "using the official binaries on PATH ($src)"
  for b in daprd placement scheduler; do ln -sf "$src/$b" "$DAPR_BIN/$b"; done
else
  if [ -x "$DAPR_BIN/daprd" ] && [ ! -f "$runtime_stamp_file" ]; then
    old=$("$DAPR_BIN/daprd" --version 2>/dev/null || echo unknown)
    warn "$DAPR_BIN holds Dapr $old; moving it to $DAPR_BIN/backup-$old"
    mkdir -p "$DAPR_BIN/backup-$old"
    for b in daprd placement scheduler; do [ -e "$DAPR_BIN/$b" ] && mv "$DAPR_BIN/$b" "$DAPR_BIN/backup-$old/"; done
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  bi=github.com/dapr/dapr/pkg/buildinfo
  go_build_with_progress daprd "$ROOT/tools/daprd" "$tmp" \
    "-s -w -X $bi.version=$DAPR_RUNTIME_VERSION -X $bi.gitversion=v$DAPR_RUNTIME_VERSION -X $bi.gitcommit=$DAPR_RUNTIME_COMMIT" \
    ./cmd/daprd github.com/dapr/dapr/cmd/placement github.com/dapr/dapr/cmd/scheduler
  for b in daprd placement scheduler; do mv -f "$tmp/$b" "$DAPR_BIN/$b"; done
  echo "$runtime_stamp" >"$runtime_stamp_file"
fi
info "daprd $("$DAPR_BIN/daprd" --version), $(du -h "$(readlink -f "$DAPR_BIN/daprd")" | cut -f1)"

# ---- CLI ----------------------------------------------------------------------------------
cli_stamp=$(stamp_of "$ROOT"/tools/dapr-cli/go.mod "$ROOT"/tools/dapr-cli/go.sum)
cli_stamp_file="$DAPR_BIN/.smartcommerce-cli"
cli_version() { "$1" version --output json 2>/dev/null | sed -n 's/.*"Cli version": *"\([^"]*\)".*/\1/p'; }
step "dapr CLI $DAPR_CLI_VERSION in $DAPR_BIN"
if [ -x "$DAPR_BIN/dapr" ] && [ -f "$cli_stamp_file" ] && [ "$(cat "$cli_stamp_file")" = "$cli_stamp" ]; then
  info "up to date (built by this project earlier)"
elif [ -x "$DAPR_BIN/dapr" ] && [ ! -f "$cli_stamp_file" ] && [[ "$(cli_version "$DAPR_BIN/dapr")" == 1.1[6-9]* ]]; then
  info "using the official CLI already installed there"
elif command -v dapr >/dev/null && [[ "$(cli_version "$(command -v dapr)")" == 1.1[6-9]* ]]; then
  info "using the official CLI on PATH ($(command -v dapr))"
  ln -sf "$(command -v dapr)" "$DAPR_BIN/dapr"
else
  tmp=$(mktemp -d)
  go_build_with_progress dapr-cli "$ROOT/tools/dapr-cli" "$tmp" \
    "-s -w -X main.version=$DAPR_CLI_VERSION -X main.apiVersion=1.0" github.com/dapr/cli
  mv -f "$tmp/cli" "$DAPR_BIN/dapr"
  rm -rf "$tmp"
  echo "$cli_stamp" >"$cli_stamp_file"
fi
info "$("$DAPR_BIN/dapr" version 2>/dev/null | tr '\n' ' ')"

# Like the official installer, make `dapr` callable from any shell (`dapr list`).
if ! command -v dapr >/dev/null; then
  if [ -w /usr/local/bin ]; then
    ln -sf "$DAPR_BIN/dapr" /usr/local/bin/dapr
    info "linked /usr/local/bin/dapr -> $DAPR_BIN/dapr"
  else
    info "add $DAPR_BIN to your PATH to call \`dapr\` directly (./taskw does it for its tasks)"
  fi
fi
