"""The actor runtime's calls to its sidecar over pooled connections.

The Dapr Python SDK's actor runtime (1.16) saves actor state, and sets reminders and
timers, through `DaprHttpClient.send_bytes`, which opens a new `aiohttp.ClientSession` — a
new TCP connection to daprd, and its teardown — for every call. An order's checkout makes a
dozen such calls; measured under the checkout benchmark, connecting was the single largest
own-time entry of the orders app. `pool_actor_calls()` makes every `DaprHttpClient` of the
process send over one session per event loop (keep-alive connections, the same requests,
headers, timeouts and retry policy, the same answers and errors)."""

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

import aiohttp
from dapr.clients._constants import DEFAULT_JSON_CONTENT_TYPE
from dapr.clients.http import client as sdk
from dapr.clients.http.conf import (
    CONTENT_TYPE_HEADER,
    DAPR_API_TOKEN_HEADER,
    DAPR_USER_AGENT,
    USER_AGENT_HEADER,
)
from dapr.conf import settings

#: Connections the pool keeps to the sidecar at most (actor turns in flight wait beyond it).
MAX_CONNECTIONS = 64

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = (
    weakref.WeakKeyDictionary()
)


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=30)
        session = _sessions[loop] = aiohttp.ClientSession(connector=connector)
    return session


async def _send_bytes(
    self: Any,
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, bytes | str] | None = None,
    query_params: Mapping[str, Any] | None = None,
    timeout: int | None = None,
) -> tuple[bytes, aiohttp.ClientResponse]:
    """`DaprHttpClient.send_bytes` (same headers and errors) over the loop's session."""
    headers_map = dict(headers or {})
    if not headers_map.get(CONTENT_TYPE_HEADER):
        headers_map[CONTENT_TYPE_HEADER] = DEFAULT_JSON_CONTENT_TYPE
    if settings.DAPR_API_TOKEN is not None:
        headers_map[DAPR_API_TOKEN_HEADER] = settings.DAPR_API_TOKEN
    if self._headers_callback is not None:
        headers_map.update(self._headers_callback())
    headers_map[USER_AGENT_HEADER] = DAPR_USER_AGENT
    request = {
        "method": method,
        "url": url,
        "data": data,
        "headers": headers_map,
        "sslcontext": self.get_ssl_context(),
        "params": query_params,
        "timeout": aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout,
    }
    response = await self.retry_policy.make_http_call(_session(), request)
    body = await response.read()  # the connection goes back to the pool
    if 200 <= response.status < 300:
        return body, response
    raise await self.convert_to_error(response)


def pool_actor_calls() -> None:
    """Send every `DaprHttpClient` call of this process over pooled connections (call once
    before registering actors; calling again changes nothing)."""
    sdk.DaprHttpClient.send_bytes = _send_bytes  # type: ignore[method-assign]


async def close_pool() -> None:
    """Close this loop's session (at shutdown)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()
