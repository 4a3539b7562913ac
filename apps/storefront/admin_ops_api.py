"""`/api/admin/audit-logs` and `/api/admin/dead-letters*` (served by `backoffice`), and the
gateway's audit trail of every staff and admin action.

Why the gateway records the actions: it is the one place every staff/admin request passes
(the only ingress), with the principal it verified, the route it matched, what was sent and
what came back; recording there covers every app, today's and tomorrow's, without each app
learning to audit (and without handing the context key to apps that do not need it). The
storefront publishes nothing (its publishing scope is empty, so a compromised gateway cannot
forge events), so it hands its records in batches to the backoffice by service invocation;
the backoffice puts each on `audit-events`, the one way into the log. A batch is sent within
a second; what is still in memory when the storefront dies unexpectedly is lost (logged
nowhere else but the request log), which is the price of keeping audit off the hot path.
"""

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.audit import (
    AuditPage,
    DeadLetter,
    DeadLetterPage,
    DeadLetterStatus,
    GatewayAction,
    GatewayActions,
    ReplayRequest,
    ReplayResult,
)
from apps.contracts.events import utcnow
from apps.contracts.identity import Principal, Role
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar
from apps.platform.params import Limit, Page
from apps.storefront.adapters import forward
from apps.storefront.auth import Admin
from apps.storefront.openapi import ERRORS

log = structlog.stdlib.get_logger("audit_trail")

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=ERRORS)
Filter = Annotated[str | None, Query(min_length=1, max_length=200)]
LetterId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@-]+$")]


@router.get("/audit-logs", response_model=AuditPage)
async def audit_logs(
    request: Request,
    admin: Admin,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    actor: Filter = None,
    action: Filter = None,
    entity_type: Filter = None,
    entity_id: Filter = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """Every staff and admin action, newest first (seed 004 filters; `start_date` inclusive,
    `end_date` exclusive, ISO 8601)."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    for name, value in (
        ("start_date", start_date),
        ("end_date", end_date),
        ("actor", actor),
        ("action", action),
        ("entity_type", entity_type),
        ("entity_id", entity_id),
    ):
        if value:
            params[name] = value
    return await forward(request, AppId.BACKOFFICE, "admin/audit-logs", params=params)


@router.get("/dead-letters", response_model=DeadLetterPage)
async def dead_letters(
    request: Request,
    admin: Admin,
    status: DeadLetterStatus | None = None,
    topic: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    event_type: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> Response:
    """Messages consumers gave up on (poison or out of retries), most recent first."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    for name, value in (("status", status), ("topic", topic), ("event_type", event_type)):
        if value:
            params[name] = value
    return await forward(request, AppId.BACKOFFICE, "admin/dead-letters", params=params)


@router.get("/dead-letters/{letter_id}", response_model=DeadLetter)
async def dead_letter(letter_id: LetterId, request: Request, admin: Admin) -> Response:
    return await forward(request, AppId.BACKOFFICE, f"admin/dead-letters/{letter_id}")


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayResult)
async def replay(
    letter_id: LetterId, request: Request, admin: Admin, body: ReplayRequest | None = Body(None)
) -> Response:
    """Deliver the original message again to its topic's consumers (or one `app_id`); once
    every one accepts it the letter is `replayed` and cannot be replayed again."""
    payload = (body or ReplayRequest()).model_dump(mode="json")
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"admin/dead-letters/{letter_id}/replay",
        method="POST",
        body=payload,
    )


@router.delete("/dead-letters/{letter_id}", status_code=204)
async def discard(letter_id: LetterId, request: Request, admin: Admin) -> Response:
    return await forward(
        request, AppId.BACKOFFICE, f"admin/dead-letters/{letter_id}", method="DELETE"
    )


# -- the audit trail ------------------------------------------------------------------------
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
#: A staff member's own account and shopping are not staff actions (signing in and out is
#: in identity's security log); everything else a staff member or admin changes is.
NOT_ACTIONS = (
    "/api/auth/",
    "/api/users/me",
    "/api/cart",
    "/api/checkout/",
    "/api/activity",
    "/api/addresses/",
)
MAX_BODY = 16_000
SECRET_KEY = re.compile(r"password|secret|token|card|cvc|cvv|otp|totp", re.IGNORECASE)
FLUSH_SECONDS = 0.5
MAX_BATCH = 200
MAX_PENDING = 5_000


def redact(value: Any, depth: int = 0) -> Any:
    """Secrets never reach the log: values under secret-sounding keys are masked."""
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        return {
            str(k)[:100]: "***" if SECRET_KEY.search(str(k)) else redact(v, depth + 1)
            for k, v in list(value.items())[:60]
        }
    if isinstance(value, list):
        return [redact(v, depth + 1) for v in value[:20]]
    if isinstance(value, str):
        return value[:500]
    return value


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw or len(raw) > MAX_BODY:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return redact(value) if isinstance(value, dict) else {}


class AuditTrail:
    """Sends what staff and admins did to the backoffice, a batch every half second."""

    def __init__(self) -> None:
        self.pending: list[GatewayAction] = []
        self.flusher: asyncio.Task[None] | None = None

    def add(self, action: GatewayAction, sidecar: Sidecar) -> None:
        if len(self.pending) >= MAX_PENDING:
            log.error("audit trail full; action not recorded", request_id=action.request_id)
            return
        self.pending.append(action)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush(sidecar))

    async def _flush(self, sidecar: Sidecar) -> None:
        while self.pending:
            await asyncio.sleep(FLUSH_SECONDS)
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            body = GatewayActions(actions=batch).model_dump(mode="json")
            reply = await sidecar.invoke(
                AppId.BACKOFFICE, "audit/gateway-actions", method="POST", json_body=body
            )
            if not reply.ok:  # kept for the next round (same audit ids: logged once)
                log.warning("audit batch not accepted; will retry", status=reply.status)
                self.pending = batch + self.pending
                await asyncio.sleep(2.0)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class AuditTrailMiddleware:
    """Watches mutating `/api` requests; those a staff member or admin made are recorded
    with their outcome (refused ones too: an attempt is worth knowing about)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.trail = AuditTrail()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or not path.startswith("/api/")
            or path.startswith(NOT_ACTIONS)
        ):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        sent, answered = bytearray(), bytearray()
        status = 500

        async def receive_copy() -> Any:
            message = await receive()
            if message.get("type") == "http.request" and len(sent) <= MAX_BODY:
                sent.extend(message.get("body", b""))
            return message

        async def send_copy(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(answered) <= MAX_BODY:
                answered.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_copy, send_copy)
        finally:
            principal = state.get("principal")
            if isinstance(principal, Principal) and principal.role.at_least(Role.STAFF):
                self._record(scope, state, principal, status, bytes(sent), bytes(answered))

    def _record(
        self,
        scope: Scope,
        state: dict[str, Any],
        principal: Principal,
        status: int,
        sent: bytes,
        answered: bytes,
    ) -> None:
        route = getattr(scope.get("route"), "path", "") or ""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        try:
            action = GatewayAction(
                audit_id=f"gw-{uuid.uuid4()}",
                request_id=str(state.get("request_id") or f"req-{uuid.uuid4()}"),
                method=scope["method"],
                path=scope["path"][:1000],
                route=route[:1000],
                path_params={
                    str(k)[:200]: str(v)[:200]
                    for k, v in list((scope.get("path_params") or {}).items())[:10]
                },
                status=status,
                actor_id=principal.user_id or "unknown",
                actor_role=principal.role.value,
                actor_email=principal.email,
                request_body=_json_object(sent),
                response_body=_json_object(answered),
                ip_address=(
                    headers.get("x-forwarded-for", "").split(",")[0].strip()
                    or (client[0] if client else "")
                )[:64],
                user_agent=headers.get("user-agent", "")[:300],
                at=utcnow(),
            )
        except ValueError:
            log.exception("audit record not built", path=scope.get("path"))
            return
        app: FastAPI = scope["app"]
        self.trail.add(action, app.state.sidecar)


def install_audit_trail(app: FastAPI) -> None:
    app.add_middleware(AuditTrailMiddleware)
