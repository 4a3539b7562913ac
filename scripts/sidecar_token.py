"""The local sidecars' API token for tools (seed, webhook): `$DAPR_API_TOKEN`, else the one
`./taskw up` made in `.run/dapr-api-token` (or `$SC_RUN_DIR/dapr-api-token`)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def local_token() -> str | None:
    if token := os.environ.get("DAPR_API_TOKEN"):
        return token
    path = Path(os.environ.get("SC_RUN_DIR") or ROOT / ".run") / "dapr-api-token"
    return path.read_text().strip() if path.exists() else None


def headers(token: str | None) -> dict[str, str]:
    """The header a sidecar's API asks for (none when no token is set)."""
    return {"dapr-api-token": token} if token else {}
