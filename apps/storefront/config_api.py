"""Runtime settings: `/api/admin/config` (served by `backoffice`), and the storefront's own
rate limits applied live from the configuration store.

The gateway checks the admin role here and the backoffice checks it again from the signed
context. A PUT or DELETE is recorded by the gateway's audit trail (admin_ops_api.py) like
every admin write: entity `config`, the key as its id, and the change's `before`/`after`
(the values as JSON text) from the answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import Response

from apps.contracts.names import AppId
from apps.contracts.runtime_config import (
    KEY_PATTERN,
    ConfigChange,
    ConfigEntry,
    ConfigKey,
    ConfigList,
    ConfigUpdate,
    keys_of,
)
from apps.platform.runtime_config import RuntimeConfig
from apps.storefront.adapters import forward
from apps.storefront.auth import Admin
from apps.storefront.openapi import ERRORS
from apps.storefront.settings import StorefrontSettings

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=ERRORS)
#: Any well-formed name: an unknown one is refused by the backoffice (422, with the known).
Key = Annotated[str, Path(pattern=KEY_PATTERN, max_length=100)]


@router.get("/config", response_model=ConfigList)
async def list_config(request: Request, admin: Admin) -> Response:
    """Every known runtime setting: the value in effect (stored, else the default), its
    version, default, type and bounds, what it does and which app applies it."""
    return await forward(request, AppId.BACKOFFICE, "admin/config")


@router.get("/config/{key}", response_model=ConfigEntry)
async def get_config(key: Key, request: Request, admin: Admin) -> Response:
    return await forward(request, AppId.BACKOFFICE, f"admin/config/{key}")


@router.put("/config/{key}", response_model=ConfigChange)
async def put_config(key: Key, body: ConfigUpdate, request: Request, admin: Admin) -> Response:
    """Set a runtime setting (validated against the key's type and bounds: 422 otherwise,
    and nothing changes). The app that applies it follows within seconds, no restart."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"admin/config/{key}",
        method="PUT",
        body=body.model_dump(mode="json"),
    )


@router.delete("/config/{key}", response_model=ConfigChange)
async def reset_config(key: Key, request: Request, admin: Admin) -> Response:
    """Remove a runtime setting: its app goes back to its configured default."""
    return await forward(request, AppId.BACKOFFICE, f"admin/config/{key}", method="DELETE")


# -- the storefront's own runtime settings -----------------------------------------------
FIELDS: dict[ConfigKey, str] = {
    ConfigKey.RATE_LIMIT_ENABLED: "rate_limit_enabled",
    ConfigKey.RATE_LIMIT_IP: "rate_limit_ip_per_minute",
    ConfigKey.RATE_LIMIT_USER: "rate_limit_user_per_minute",
    ConfigKey.RATE_LIMIT_AUTH_IP: "rate_limit_auth_ip_per_minute",
    ConfigKey.RATE_LIMIT_AUTH_EMAIL: "rate_limit_auth_email_per_minute",
}


def start_runtime_settings(app: FastAPI, configured: StorefrontSettings) -> RuntimeConfig:
    """Rate limits from the configuration store, live: every request reads
    `app.state.settings`, replaced here by the configured settings with the stored values
    over them (a key removed: its STOREFRONT_RATE_LIMIT_* value again)."""
    overrides: dict[str, Any] = {}

    def apply(key: ConfigKey, value: Any) -> None:
        if value is None:
            overrides.pop(FIELDS[key], None)
        else:
            overrides[FIELDS[key]] = value
        app.state.settings = configured.model_copy(update=overrides)

    config = RuntimeConfig(app.state.sidecar.http, keys_of(AppId.STOREFRONT), apply)
    app.state.runtime_config = config
    config.start()
    return config
