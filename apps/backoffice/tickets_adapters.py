"""Dapr I/O of the tickets area: the TicketActor proxy and its host, the order check through
`orders`, the ticket-number sequence and the list view (JSON documents, queryable)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from actors.serializer import SERIALIZERS
from actors.sidecar_http import pool_actor_calls
from actors.ticket.actor import TicketActor
from actors.ticket.logic import SlaPolicy
from apps.backoffice.tickets import TicketsService
from apps.backoffice.tickets_settings import get_ticket_settings
from apps.contracts.events import EventEnvelope
from apps.contracts.names import ActorType, AppId
from apps.contracts.tickets import (
    TicketPriority,
    TicketReply,
    TicketStatus,
    TicketSummary,
    TicketType,
)
from apps.platform.dapr import Sidecar
from apps.platform.state import JsonStateStore

VIEW_KEY = "ticket-view:{ticket_id}"
VIEW_KIND = "ticket_view"
SEQUENCE_KEY = "ticket-sequence:{name}"


class TicketActorHost:
    """What TicketActor needs from the back office (actors.ticket.actor.TicketActorHost)."""

    def __init__(
        self, sidecar: Sidecar, source_app_id: str, sla: SlaPolicy, staff_email: str | None
    ) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.sla = sla
        self.staff_email = staff_email

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)


class DaprTicketActors:
    """Calls TicketActor through the Dapr actor API (the same JSON any language would send)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def call(self, ticket_id: str, method: str, payload: Any = None) -> TicketReply:
        res = await self.sidecar.invoke_actor(ActorType.TICKET, ticket_id, method, payload)
        return TicketReply.model_validate(res.body_or_raise())


class OwnedOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: str
    order_number: str
    email: str


class DaprOrders:
    """Asks `orders` for the order as the caller (their signed context travels along), so
    orders applies its own owner rule: the caller's user id, or the guest order's email."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def owned(
        self, order_id: str, user_id: str, email: str | None, headers: dict[str, str]
    ) -> OwnedOrder | None:
        res = await self.sidecar.invoke(
            AppId.ORDERS,
            f"orders/{order_id}",
            params={"user_id": user_id, "email": email or ""},
            headers=headers,
        )
        if res.status == 404:
            return None
        return OwnedOrder.model_validate(res.body_or_raise())


class StateSequences:
    """Ticket numbers: one counter per name, advanced with compare-and-set."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def next(self, name: str) -> int:
        taken: list[int] = []

        def bump(current: Any | None) -> int:
            taken[:] = [int(current or 0) + 1]
            return taken[0]

        await self.store.compare_and_set(SEQUENCE_KEY.format(name=name), bump)
        return taken[0]


class StateTicketViews:
    """The ticket list as JSON documents in the state store, filtered by the store's query."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def save_if_newer(
        self, ticket_id: str, build: Callable[[TicketSummary | None], TicketSummary | None]
    ) -> bool:
        def decide(raw: Any | None) -> Any | None:
            view = build(TicketSummary.model_validate(_strip(raw)) if raw is not None else None)
            return {**view.model_dump(mode="json"), "kind": VIEW_KIND} if view else None

        return await self.store.compare_and_set(VIEW_KEY.format(ticket_id=ticket_id), decide)

    async def find(
        self,
        user_id: str | None = None,
        statuses: list[TicketStatus] | None = None,
        priority: TicketPriority | None = None,
        type_: TicketType | None = None,
        assigned_to: str | None = None,
    ) -> list[TicketSummary]:
        """Matching views, newest first."""
        clauses: list[dict[str, Any]] = [{"EQ": {"kind": VIEW_KIND}}]
        if user_id is not None:
            clauses.append({"EQ": {"user_id": user_id}})
        if statuses:
            clauses.append({"IN": {"status": [s.value for s in statuses]}})
        if priority is not None:
            clauses.append({"EQ": {"priority": priority.value}})
        if type_ is not None:
            clauses.append({"EQ": {"type": type_.value}})
        if assigned_to is not None:
            clauses.append({"EQ": {"assigned_to": assigned_to}})
        filter_ = clauses[0] if len(clauses) == 1 else {"AND": clauses}
        found = [
            TicketSummary.model_validate(_strip(doc.value))
            for doc in await self.store.scan(filter_, "ticket_id")
        ]
        found.sort(key=lambda t: t.ticket_id, reverse=True)
        found.sort(key=lambda t: t.created_at, reverse=True)
        return found


def _strip(raw: Any) -> Any:
    return {k: v for k, v in raw.items() if k != "kind"} if isinstance(raw, dict) else raw


async def start_tickets(app: Any, sidecar: Sidecar, store: JsonStateStore, actors: Any) -> None:
    """Wire the tickets area into the back office at start: TicketActor's host and
    registration, and the service its routes use (`app.state.tickets`)."""
    settings = get_ticket_settings()
    sla = SlaPolicy(
        first_response={
            p: timedelta(seconds=s) for p, s in settings.ticket_first_response_seconds.items()
        },
        resolution={p: timedelta(seconds=s) for p, s in settings.ticket_resolution_seconds.items()},
    )
    TicketActor.host = TicketActorHost(
        sidecar, AppId.BACKOFFICE, sla, settings.ticket_staff_email or None
    )
    pool_actor_calls()
    await actors.register_actor(TicketActor, **SERIALIZERS)
    app.state.tickets = TicketsService(
        DaprTicketActors(sidecar),
        StateTicketViews(store),
        DaprOrders(sidecar),
        StateSequences(store),
        settings.ticket_default_priority,
    )
