"""Runtime settings through the Dapr Configuration API: read at start, kept current by a
subscription, applied live (no restart).

- `GET /v1.0/configuration/{store}?key=...` reads the keys an app applies;
- `GET /v1.0/configuration/{store}/subscribe?key=...` asks the sidecar to push changes: it
  POSTs `{"id", "items": {key: {value, version, metadata}}}` to the app at
  `/configuration/{store}/{key}` (`runtime_config_router`);
- a push only says "this key changed": the value applied is the one read back from the
  sidecar, so a forged push (the storefront answers the internet) cannot set anything;
- every value is validated with the key's model (apps/contracts/runtime_config.py); one the
  model refuses is logged and not applied (the app keeps what it had); an absent (or
  deleted) key means the app's own configured default, and `apply` is called with None;
- a re-read every `resync_seconds` covers a subscription lost with a sidecar restart or a
  dropped database connection; the subscription is retried until the sidecar takes it (it
  refuses one before its channel to the app is up).
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Body, Request

from apps.contracts.names import Component
from apps.contracts.runtime_config import NOTIFY_CHANNEL, SENTINEL_KEY, ConfigKey, decode

log = structlog.stdlib.get_logger("runtime_config")

#: Called with the key and its parsed value (None: absent, use the app's default).
Apply = Callable[[ConfigKey, Any], None]


def _numeric(version: str | None) -> int | None:
    try:
        return int(version) if version else None
    except ValueError:
        return None


class RuntimeConfig:
    def __init__(
        self,
        http: httpx.AsyncClient,
        keys: Iterable[ConfigKey],
        apply: Apply,
        store: str = Component.RUNTIME_CONFIG,
        resync_seconds: float = 30.0,
    ) -> None:
        self.http = http
        self.keys = list(keys)
        self.apply = apply
        self.store = store
        self.resync_seconds = resync_seconds
        #: key -> (version, parsed value) in effect; absent: the app's default.
        self.current: dict[ConfigKey, tuple[str | None, Any]] = {}
        self.subscription: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- reading -------------------------------------------------------------------------
    async def fetch(self, keys: Iterable[ConfigKey]) -> dict[str, dict[str, Any]]:
        resp = await self.http.get(
            f"/v1.0/configuration/{self.store}", params=[("key", k.value) for k in keys]
        )
        resp.raise_for_status()
        if not resp.content.strip():  # none of the keys stored: an empty answer
            return {}
        body = resp.json()
        return body if isinstance(body, dict) else {}

    async def refresh(self, keys: Iterable[ConfigKey] | None = None) -> None:
        """Read `keys` (all this app applies by default) and apply what changed."""
        wanted = [k for k in (keys if keys is not None else self.keys) if k in self.keys]
        if not wanted:
            return
        async with self._lock:
            items = await self.fetch(wanted)
            for key in wanted:
                self._settle(key, items.get(key.value))

    def _settle(self, key: ConfigKey, item: dict[str, Any] | None) -> None:
        value_text = (item or {}).get("value")
        version = (item or {}).get("version") or None
        if not value_text:  # absent or deleted: back to the app's default
            if key in self.current:
                del self.current[key]
                self._apply(key, None, version)
            return
        known = self.current.get(key)
        if known is not None and known[0] == version:
            return
        before, after = _numeric(known[0]) if known else None, _numeric(version)
        if before is not None and after is not None and after < before:
            return  # an older read than what is applied
        try:
            value = decode(key, value_text)
        except ValueError as exc:
            log.error("runtime setting refused; keeping the current one", key=key, error=str(exc))
            return
        self.current[key] = (version, value)
        self._apply(key, value, version)

    def _apply(self, key: ConfigKey, value: Any, version: str | None) -> None:
        try:
            self.apply(key, value)
        except Exception:
            log.exception("runtime setting not applied", key=key)
            return
        log.info("runtime setting applied", key=key, version=version, default=value is None)

    def value(self, key: ConfigKey) -> Any:
        """The parsed value in effect (None: the app's default)."""
        item = self.current.get(key)
        return item[1] if item else None

    # -- subscription --------------------------------------------------------------------
    async def subscribe(self) -> str:
        params: list[tuple[str, str]] = [("key", k.value) for k in self.keys]
        # Each component reads its own: PostgreSQL's NOTIFY channel, App Configuration's
        # sentinel key (the other one is ignored).
        params += [
            ("metadata.pgNotifyChannel", NOTIFY_CHANNEL),
            ("metadata.sentinelKey", SENTINEL_KEY),
        ]
        resp = await self.http.get(f"/v1.0/configuration/{self.store}/subscribe", params=params)
        resp.raise_for_status()
        return str(resp.json().get("id", ""))

    async def run(self) -> None:
        """Subscribe (retrying), then re-read every `resync_seconds`."""
        delay = 0.5
        while True:
            try:
                if self.subscription is None:
                    self.subscription = await self.subscribe()
                    log.info("runtime settings subscribed", id=self.subscription)
                await self.refresh()
                delay = self.resync_seconds
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("runtime settings not read yet; retrying", error=str(exc))
                delay = min(max(delay * 2, 0.5), 5.0) if self.subscription is None else delay
            await asyncio.sleep(delay)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def runtime_config_router(store: str = Component.RUNTIME_CONFIG) -> APIRouter:
    """The sidecar's pushes: `POST /configuration/{store}/{key}`. The app keeps its
    `RuntimeConfig` in `app.state.runtime_config`."""
    router = APIRouter(include_in_schema=False)

    @router.post(f"/configuration/{store}/{{key}}")
    async def changed(key: str, request: Request, _: Any = Body(None)) -> dict[str, str]:
        config: RuntimeConfig | None = getattr(request.app.state, "runtime_config", None)
        if config is None:
            return {"status": "ignored"}
        try:
            known = ConfigKey(key)
        except ValueError:
            return {"status": "ignored"}
        try:
            await config.refresh([known])
        except (httpx.HTTPError, ValueError) as exc:  # the next re-read applies it
            log.warning("runtime setting push not read back", key=key, error=str(exc))
        return {"status": "ok"}

    return router
