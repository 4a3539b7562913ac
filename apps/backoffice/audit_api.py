"""The audit log: the gateway's batches in, `audit-events` through, the admin query out.

Routes (reached through the storefront's `/api/admin/audit-logs`, the signed context checked
again here) and the `audit-events` subscription. Entries are kept 90 days (seed 004's TTL).
"""

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Query, Request

from apps.backoffice.audit import AuditQuery, entry_from, select
from apps.contracts.audit import AuditEntry, AuditPage, AuditRecorded, GatewayActions
from apps.contracts.errors import Forbidden
from apps.contracts.events import EventEnvelope
from apps.contracts.names import AppId, Topic
from apps.platform.ops import calling_app
from apps.platform.params import Limit, Page
from apps.platform.roles import AdminCaller
from apps.platform.state import EtagMismatch, JsonStateStore
from apps.platform.subscriptions import dispatch

log = structlog.stdlib.get_logger("audit")

RETENTION_SECONDS = 90 * 24 * 3600

router = APIRouter(tags=["admin"])


Admin = AdminCaller
Filter = Annotated[str | None, Query(min_length=1, max_length=200)]


def _key(audit_id: str) -> str:
    return f"audit:{audit_id}"


async def record(store: JsonStateStore, entry: AuditEntry) -> bool:
    """Keep an entry once (its id is the event id: a redelivery changes nothing)."""
    doc = {"kind": "audit", "entry": entry.model_dump(mode="json")}
    try:
        await store.insert(_key(entry.audit_id), doc, ttl_seconds=RETENTION_SECONDS)
    except EtagMismatch:
        return False
    return True


@router.post("/audit/gateway-actions", status_code=202, include_in_schema=False)
async def gateway_actions(
    request: Request,
    body: GatewayActions,
) -> dict[str, int]:
    """The storefront's batch of staff/admin requests: each becomes an `AuditRecorded`.
    The gateway names each entry (not the client's request id, which a client chooses),
    so a batch sent twice is logged once."""
    if calling_app(request) != AppId.STOREFRONT:  # one value, vouched for by its sidecar
        raise Forbidden("Only the gateway reports requests")
    sidecar = request.app.state.sidecar
    for action in body.actions:
        entry = entry_from(action, action.audit_id)
        event = EventEnvelope.of(
            AuditRecorded(entry=entry),
            correlation_id=action.request_id,
            source=AppId.BACKOFFICE,
            event_id=entry.audit_id,
        )
        await sidecar.publish(Topic.AUDIT_EVENTS, event)
    return {"accepted": len(body.actions)}


async def on_audit_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """audit-events: into the log, once per audit id."""
    store: JsonStateStore = request.app.state.store

    async def recorded(event: EventEnvelope) -> None:
        await record(store, AuditRecorded.model_validate(event.data).entry)

    return await dispatch(cloud_event, {AuditRecorded.EVENT_TYPE: recorded})


@router.get("/admin/audit-logs", response_model=AuditPage)
async def audit_logs(
    request: Request,
    who: Admin,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    actor: Filter = None,
    action: Filter = None,
    entity_type: Filter = None,
    entity_id: Filter = None,
    page: Page = 1,
    limit: Limit = 50,
) -> AuditPage:
    """Newest first; `start_date` inclusive, `end_date` exclusive."""
    query = AuditQuery(start_date, end_date, actor, action, entity_type, entity_id)
    store: JsonStateStore = request.app.state.store
    docs = await store.scan(query.store_filter(), "entry.audit_id")
    entries = [AuditEntry.model_validate(d.value["entry"]) for d in docs]
    items, total = select(entries, query, page, limit)
    return AuditPage(items=items, total=total, page=page, limit=limit)
