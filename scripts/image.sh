#!/usr/bin/env bash
# Builds the one image every app runs (Dockerfile; the app is picked by its command or by
# SC_APP / SC_APP_PORT) with the first container engine that works here: docker, then podman.
#   scripts/image.sh [tag]            (default smartcommerce:dev; SC_IMAGE_ENGINE=podman to choose)
# A CLI whose daemon is not running does not count. With no working engine it says so and
# exits 3: build in Azure instead (`az acr build` or `azd deploy` build from the same Dockerfile).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:-${SC_IMAGE_TAG:-smartcommerce:dev}}"
ENGINES="${SC_IMAGE_ENGINE:-docker podman}"

tried=()
engine=""
for candidate in $ENGINES; do
  if ! command -v "$candidate" >/dev/null 2>&1; then
    tried+=("$candidate: not installed")
  elif ! timeout 30 "$candidate" info >/dev/null 2>&1; then
    tried+=("$candidate: installed, but no engine answers ('$candidate info' fails: daemon or socket not running)")
  else
    engine="$candidate"
    break
  fi
done

if [ -z "$engine" ]; then
  {
    echo "image: no container engine available here, so the image was not built."
    for line in "${tried[@]}"; do echo "  - $line"; done
    echo "Start Docker or install Podman and run ./taskw image again, or build in Azure from the"
    echo "same Dockerfile: az acr build --registry <acr-name> --image smartcommerce:<tag> ."
    echo "(azd deploy does that for you)."
  } >&2
  exit 3
fi

echo "==> $engine build -t $TAG ($ROOT/Dockerfile)"
"$engine" build --file "$ROOT/Dockerfile" --tag "$TAG" "$ROOT"
echo "==> built $TAG; run one app with:"
echo "    $engine run --rm -p 8001:8001 -e SC_APP=catalog -e SC_APP_PORT=8001 $TAG"
