"""The gateway's signed context: who the caller is, as the storefront verified it, carried to
internal apps in one header they can check (HMAC-SHA256 with a key from `gateway-secrets`)
and never taken from anything a client sent; and the Dapr app API token check that keeps
internal apps from answering anyone but their own sidecar."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Query, Request

from apps.contracts.errors import DomainError, ErrorCode, NotFound, Unauthorized
from apps.contracts.identity import ANONYMOUS, Principal, Role
from apps.contracts.names import Secret

if TYPE_CHECKING:
    from apps.platform.dapr import Sidecar

CONTEXT_HEADER = "X-SC-Context"
CONTEXT_SECRET = Secret.GATEWAY_CONTEXT_KEY  # in gateway-secrets: only who signs or checks
CONTEXT_TTL_SECONDS = 120
APP_TOKEN_HEADER = "dapr-api-token"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_context(principal: Principal, key: str, now: float | None = None) -> str:
    claims = {
        "sub": principal.user_id,
        "role": principal.role.value,
        "email": principal.email,
        "exp": int((now or time.time()) + CONTEXT_TTL_SECONDS),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify_context(header: str | None, key: str, now: float | None = None) -> Principal:
    """The principal in a context header; none is anonymous; a forged, altered or stale one
    is refused (401)."""
    if not header:
        return ANONYMOUS
    payload, _, mac = header.partition(".")
    want = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    try:
        good = hmac.compare_digest(_unb64(mac), want)
        claims = json.loads(_unb64(payload)) if good else {}
    except (ValueError, json.JSONDecodeError):
        good, claims = False, {}
    if not good:
        raise Unauthorized("Invalid gateway context")
    if claims.get("exp", 0) < (now or time.time()):
        raise Unauthorized("Expired gateway context")
    if not claims.get("sub"):
        return ANONYMOUS
    return Principal(user_id=claims["sub"], role=Role(claims["role"]), email=claims.get("email"))


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def carries_app_token(scope: MutableMapping[str, Any], token: bytes) -> bool:
    """Whether an ASGI request carries the app API token its sidecar adds."""
    sent = dict(scope.get("headers") or []).get(APP_TOKEN_HEADER.encode())
    return sent is not None and hmac.compare_digest(sent, token)


class AppTokenMiddleware:
    """With `token` set, every HTTP request must carry it in `dapr-api-token` (the sidecar adds
    it when daprd runs with APP_API_TOKEN); health probes, which the platform sends to the app
    directly, are exempt. Anything else gets the standard 401."""

    EXEMPT = ("/health/",)

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if self.token is None or scope["type"] != "http" or scope["path"].startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if carries_app_token(scope, self.token):
            await self.app(scope, receive, send)
            return
        from fastapi import Request

        from apps.platform.http import error_response

        response = error_response(
            Request(scope), 401, ErrorCode.UNAUTHORIZED, "Only this app's Dapr sidecar may call it"
        )
        await response(scope, receive, send)


class ContextKey:
    """The gateway-context key from its secret store (`gateway-secrets`, scoped to the apps
    that sign or check the context), read on first use (the sidecar may come up after the
    app) and kept."""

    def __init__(
        self, sidecar: "Sidecar", name: str = CONTEXT_SECRET, store: str | None = None
    ) -> None:
        self.sidecar = sidecar
        self.name = name
        self.store = store
        self.value: str | None = None

    async def get(self) -> str:
        if self.value is None:
            try:
                self.value = await self.sidecar.secret(self.name, self.store)
            except RuntimeError as exc:
                raise DomainError(
                    "The gateway is starting; try again", code=ErrorCode.SERVICE_UNAVAILABLE
                ) from exc
        return self.value


# -- who asks for an order (orders and checkout routes) ----------------------------------
UserIdParam = Annotated[
    str | None, Query(alias="user_id", max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


async def vouched_user_id(
    request: Request,
    user_id: UserIdParam = None,
    context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None,
) -> str | None:
    """The `user_id` asked for, if the signed context is that user or staff (anyone else:
    the same 404 as an order that does not exist)."""
    if user_id is None:
        return None
    who = verify_context(context, await request.app.state.context_key.get())
    if who.user_id == user_id or who.role.at_least(Role.STAFF):
        return user_id
    raise NotFound("Order not found")


#: The order owner's user id, vouched for by the gateway's signed context.
UserId = Annotated[str | None, Depends(vouched_user_id)]
#: The email a guest gives to see their order.
OwnerEmail = Annotated[str | None, Query(alias="email", max_length=254)]
