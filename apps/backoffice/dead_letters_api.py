"""Dead letters: the `dead-letter-events` consumer and the admin routes (list, get, replay,
discard), reached through the storefront's `/api/admin/dead-letters*`.

Why a replay is a delivery by service invocation and not a publish: see
`apps/backoffice/dead_letters.py`.
"""

import asyncio
import json
from typing import Annotated, Any

import structlog
from dapr.ext.fastapi import DaprApp
from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.responses import Response

from apps.backoffice import dead_letters as rules
from apps.backoffice.audit_api import Admin
from apps.contracts.audit import (
    DeadLetter,
    DeadLetterPage,
    DeadLetterStatus,
    ReplayOutcome,
    ReplayRequest,
    ReplayResult,
)
from apps.contracts.errors import Conflict, NotFound
from apps.contracts.events import utcnow
from apps.contracts.names import AppId, Component, Topic
from apps.platform.dapr import Sidecar
from apps.platform.params import Limit, Page
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import SUCCESS

log = structlog.stdlib.get_logger("dead_letters")

#: Apps that may consume a topic (the gateway only reads its broadcast copy; the backoffice
#: itself is not replayed to; web subscribes to nothing).
CONSUMERS = [a for a in AppId if a not in (AppId.STOREFRONT, AppId.BACKOFFICE, AppId.WEB)]
DISCOVERY_TIMEOUT = 3.0

router = APIRouter(prefix="/admin/dead-letters", tags=["admin"])
LetterId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@-]+$")]


def _key(letter_id: str) -> str:
    return f"dead-letter:{letter_id}"


def _doc(letter: DeadLetter) -> dict[str, Any]:
    return {"kind": "dead-letter", "letter": letter.model_dump(mode="json")}


async def on_dead_letter(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """dead-letter-events: keep the message (the CloudEvent as it came), once per id. Never
    DROP or RETRY here for a bad message: there is no dead-letter topic behind this one."""
    store: JsonStateStore = request.app.state.store
    now = utcnow()
    if len(json.dumps(cloud_event, default=str)) > rules.MAX_EVENT_BYTES:
        cloud_event = {k: v for k, v in cloud_event.items() if k not in ("data", "data_base64")}
    letter = rules.from_cloud_event(cloud_event, now)
    if letter is None:
        log.error("dead letter without an id ignored", keys=sorted(cloud_event)[:20])
        return SUCCESS

    def decide(raw: Any | None) -> Any | None:
        if raw is None:
            return _doc(letter)
        return _doc(rules.seen_again(DeadLetter.model_validate(raw["letter"]), now))

    await store.compare_and_set(_key(letter.dead_letter_id), decide)
    log.warning("message dead-lettered", topic=letter.topic, event_type=letter.event_type)
    return SUCCESS


async def _letter(store: JsonStateStore, letter_id: str) -> tuple[DeadLetter, str]:
    found = await store.get(_key(letter_id))
    if found is None:
        raise NotFound("No such dead letter", dead_letter_id=letter_id)
    return DeadLetter.model_validate(found.value["letter"]), found.etag


@router.get("", response_model=DeadLetterPage)
async def list_dead_letters(
    request: Request,
    who: Admin,
    status: DeadLetterStatus | None = None,
    topic: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    event_type: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> DeadLetterPage:
    """Most recently dead-lettered first."""
    store: JsonStateStore = request.app.state.store
    docs = await store.scan({"EQ": {"kind": "dead-letter"}}, "letter.dead_letter_id")
    letters = [DeadLetter.model_validate(d.value["letter"]) for d in docs]
    items, total = rules.select(letters, status, topic, event_type, page, limit)
    return DeadLetterPage(items=items, total=total, page=page, limit=limit)


@router.get("/{letter_id}", response_model=DeadLetter)
async def get_dead_letter(letter_id: LetterId, request: Request, who: Admin) -> DeadLetter:
    return (await _letter(request.app.state.store, letter_id))[0]


async def _routes(sidecar: Sidecar, app_id: str, pubsub: str, topic: str) -> list[str]:
    """The routes `app_id` registered for the topic (none if it is not running)."""
    reply = await sidecar.invoke(app_id, "dapr/subscribe", timeout=DISCOVERY_TIMEOUT)
    return rules.routes_for(reply.body, pubsub, topic) if reply.ok else []


async def _deliver(
    sidecar: Sidecar, app_id: str, route: str, event: dict[str, Any]
) -> ReplayOutcome:
    reply = await sidecar.invoke(app_id, route.lstrip("/"), method="POST", json_body=event)
    return ReplayOutcome(
        app_id=app_id, route=route, status=rules.outcome_status(reply.status, reply.body)
    )


@router.post("/{letter_id}/replay", response_model=ReplayResult)
async def replay(
    letter_id: LetterId, request: Request, who: Admin, body: ReplayRequest | None = None
) -> ReplayResult:
    """Deliver the original message again to the consumers of its topic (or to `app_id`);
    resolved once every one of them accepts it. A replayed letter is not replayed again."""
    store: JsonStateStore = request.app.state.store
    sidecar: Sidecar = request.app.state.sidecar
    letter, etag = await _letter(store, letter_id)
    if letter.status == DeadLetterStatus.REPLAYED:
        raise Conflict("Already replayed", current_status=letter.status.value)
    if not letter.replayable:
        raise Conflict(
            "This is an app's own report of a message it gave up on; it has no original "
            "to deliver again",
            dead_letter_id=letter_id,
        )
    targets = [body.app_id] if body and body.app_id else CONSUMERS
    found = await asyncio.gather(
        *(_routes(sidecar, a, letter.pubsub, letter.topic) for a in targets)
    )
    pairs = [(a, r) for a, routes in zip(targets, found, strict=True) for r in routes]
    if not pairs:
        raise Conflict("No running app subscribes to this topic", topic=letter.topic)
    outcomes = list(
        await asyncio.gather(*(_deliver(sidecar, a, r, letter.cloud_event) for a, r in pairs))
    )
    updated, resolved = rules.after_replay(letter, outcomes, utcnow())
    await store.replace(_key(letter_id), _doc(updated), etag)
    log.info("dead letter replayed", dead_letter_id=letter_id, resolved=resolved)
    return ReplayResult(dead_letter=updated, outcomes=outcomes, resolved=resolved)


@router.delete("/{letter_id}", status_code=204)
async def discard(letter_id: LetterId, request: Request, who: Admin) -> Response:
    store: JsonStateStore = request.app.state.store
    _, etag = await _letter(store, letter_id)
    await store.delete(_key(letter_id), etag)
    return Response(status_code=204)


def subscribe_dead_letters(app: FastAPI) -> None:
    """The one subscription without a dead-letter topic behind it (it would be itself)."""
    dapr_app = getattr(app.state, "dapr_app", None)
    if dapr_app is None:
        dapr_app = app.state.dapr_app = DaprApp(app)
    dapr_app.subscribe(
        pubsub=Component.PUBSUB, topic=Topic.DEAD_LETTER, route="/events/dead-letter-events"
    )(on_dead_letter)
