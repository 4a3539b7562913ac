"""The admin API of runtime settings (reached through the storefront's `/api/admin/config`,
the admin role checked again here from the signed context).

`GET /admin/config` lists every known key (apps/contracts/runtime_config.py) with the value
in effect, read through this app's sidecar (Dapr Configuration API). `PUT` validates the value
against the key's model (422 and nothing written otherwise) and writes it through the
`ConfigWriter` port; `DELETE` removes it (its app goes back to its configured default). The
apps that apply a key are told by their sidecars' subscriptions.
"""

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Request

from apps.backoffice.audit_api import Admin
from apps.backoffice.config_store import (
    AppConfigurationWriter,
    ConfigWriter,
    PostgresConfigWriter,
)
from apps.backoffice.settings import get_settings
from apps.contracts.errors import Unavailable, UnprocessableError
from apps.contracts.events import utcnow
from apps.contracts.names import Component
from apps.contracts.runtime_config import (
    KEY_PATTERN,
    REGISTRY,
    ConfigChange,
    ConfigEntry,
    ConfigKey,
    ConfigList,
    ConfigUpdate,
    KnownKey,
    UnknownKey,
    decode,
    encode,
    invalid_reason,
    known,
)
from apps.platform.dapr import Sidecar

log = structlog.stdlib.get_logger("runtime_config_admin")

router = APIRouter(tags=["admin"])
Key = Annotated[str, Path(pattern=KEY_PATTERN, max_length=100)]


def writer_of(request: Request) -> ConfigWriter:
    """The writer for this environment (made once, on first use)."""
    writer: ConfigWriter | None = getattr(request.app.state, "config_writer", None)
    if writer is None:
        settings = get_settings()
        sidecar: Sidecar = request.app.state.sidecar
        writer = (
            AppConfigurationWriter(settings.appconfig_endpoint)
            if settings.config_writer == "appconfig"
            else PostgresConfigWriter(sidecar)
        )
        request.app.state.config_writer = writer
    return writer


def _known_or_422(key: str) -> KnownKey:
    try:
        return known(key)
    except UnknownKey:
        raise UnprocessableError(
            f"Unknown setting {key!r}", key=key, known=sorted(k.value for k in ConfigKey)
        ) from None


async def _stored(request: Request, keys: list[ConfigKey]) -> dict[str, dict[str, Any]]:
    sidecar: Sidecar = request.app.state.sidecar
    try:
        resp = await sidecar.http.get(
            f"/v1.0/configuration/{Component.RUNTIME_CONFIG}",
            params=[("key", k.value) for k in keys],
        )
    except Exception as exc:  # the sidecar or its store unreachable
        raise Unavailable("The configuration store cannot be read now") from exc
    if resp.status_code not in (200, 204):
        raise Unavailable("The configuration store cannot be read now", status=resp.status_code)
    if not resp.content.strip():  # none of the keys stored
        return {}
    body = resp.json()
    return body if isinstance(body, dict) else {}


def _entry(spec: KnownKey, item: dict[str, Any] | None) -> ConfigEntry:
    meta = (item or {}).get("metadata") or {}
    value: Any = spec.default
    source = "default"
    if item and item.get("value"):
        try:
            value = spec.dump(decode(spec.key, item["value"]))
            source = "store"
        except ValueError:  # written behind the API's back: the apps ignore it too
            log.error("stored runtime setting is invalid", key=spec.key)
    updated_at: datetime | None = None
    if source == "store" and meta.get("updated_at"):
        try:
            updated_at = datetime.fromisoformat(meta["updated_at"])
        except ValueError:
            updated_at = None
    return ConfigEntry(
        key=spec.key,
        value=value,
        source=source,
        version=(item or {}).get("version") if source == "store" else None,
        default=spec.default,
        type=spec.type,
        description=spec.description,
        applied_by=spec.applied_by,
        updated_by=meta.get("updated_by") if source == "store" else None,
        updated_at=updated_at,
    )


@router.get("/admin/config", response_model=ConfigList)
async def list_config(request: Request, admin: Admin) -> ConfigList:
    items = await _stored(request, list(REGISTRY))
    return ConfigList(items=[_entry(spec, items.get(key.value)) for key, spec in REGISTRY.items()])


@router.get("/admin/config/{key}", response_model=ConfigEntry)
async def get_config(key: Key, request: Request, admin: Admin) -> ConfigEntry:
    spec = _known_or_422(key)
    items = await _stored(request, [spec.key])
    return _entry(spec, items.get(spec.key.value))


def _who(admin: Any) -> str:
    return str(admin.email or admin.user_id or "admin")


@router.put("/admin/config/{key}", response_model=ConfigChange)
async def put_config(key: Key, body: ConfigUpdate, request: Request, admin: Admin) -> ConfigChange:
    spec = _known_or_422(key)
    reason = invalid_reason(key, body.value)
    if reason is not None:
        raise UnprocessableError(f"Invalid value for {key}: {reason}", key=key, expected=spec.type)
    text = encode(spec.key, body.value)
    at, by = utcnow(), _who(admin)
    written = await writer_of(request).put(spec.key.value, text, by, at)
    log.info("runtime setting changed", key=key, by=by, version=written.version)
    return ConfigChange(
        key=spec.key,
        value=spec.dump(body.value),
        version=written.version,
        before=written.before,
        after=text,
        updated_by=by,
        updated_at=at,
    )


@router.delete("/admin/config/{key}", response_model=ConfigChange)
async def reset_config(key: Key, request: Request, admin: Admin) -> ConfigChange:
    spec = _known_or_422(key)
    at, by = utcnow(), _who(admin)
    written = await writer_of(request).delete(spec.key.value)
    log.info("runtime setting reset to default", key=key, by=by)
    return ConfigChange(
        key=spec.key,
        value=spec.default,
        version=None,
        before=written.before,
        after=None,
        updated_by=by,
        updated_at=at,
    )
