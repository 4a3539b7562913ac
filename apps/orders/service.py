"""Use cases of the orders app; Dapr stays behind the protocols below."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from apps.contracts.errors import Conflict, DomainError, ErrorCode, InvalidRequest, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    ActorReply,
    CreateOrder,
    CustomerHistory,
    Order,
    OrderEventData,
    OrderPage,
    OrderStatus,
    OrderSummary,
    PlaceOrder,
    Tracking,
    TransitionRequest,
)
from apps.contracts.payments import PaymentEventData
from apps.orders.domain import (
    can_see,
    customer_cancel,
    customer_history,
    is_newer,
    order_number_for,
    refund_transition,
    summary_from_event,
    summary_of,
    tracking_of,
)


class Access(BaseModel):
    """Who asks for an order: its owner (user id from the gateway) or a guest with its email."""

    user_id: str | None = None
    email: str | None = None


class RebuildReport(BaseModel):
    checked: int
    updated: int
    missing: int


class OrderActors(Protocol):
    async def create(self, order_id: str, payload: dict[str, Any]) -> ActorReply: ...
    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply: ...
    async def get(self, order_id: str) -> ActorReply: ...


class Sequences(Protocol):
    async def next(self, name: str) -> int: ...


class OrderViews(Protocol):
    async def save_if_newer(
        self, order_id: str, build: Callable[[OrderSummary | None], OrderSummary | None]
    ) -> bool: ...

    async def find(
        self, user_id: str | None, statuses: list[OrderStatus] | None
    ) -> list[OrderSummary]: ...

    async def by_number(self, order_number: str) -> OrderSummary | None: ...

    async def ids(self) -> list[str]: ...


class OrdersService:
    def __init__(self, actors: OrderActors, sequences: Sequences, views: OrderViews) -> None:
        self.actors = actors
        self.sequences = sequences
        self.views = views

    async def place(self, cmd: PlaceOrder, now: datetime | None = None) -> tuple[Order, bool]:
        """Create the order once; a retry returns the existing order and `created=False`."""
        existing = await self.actors.get(cmd.order_id)
        if existing.ok and existing.order is not None:
            return existing.order, False
        number = order_number_for(now or datetime.now(UTC), await self.sequences.next("order"))
        create = CreateOrder(order_number=number, **cmd.model_dump())
        reply = await self.actors.create(cmd.order_id, create.model_dump(mode="json"))
        order = order_or_raise(reply)
        # Listed at once, whatever happens to the OrderCreated event.
        await self.project(order)
        return order, order.order_number == number

    async def get(self, order_id: str, access: Access | None = None) -> Order:
        """The order; with `access` only if the caller may see it (else the same 404 as a
        missing order: no hint that the id exists)."""
        order = order_or_raise(await self.actors.get(order_id))
        if access is not None and not can_see(order, access.user_id, access.email):
            raise NotFound("Order not found", order_id=order_id)
        return order

    async def transition(self, order_id: str, req: TransitionRequest) -> Order:
        return order_or_raise(await self.actors.transition(order_id, req.model_dump(mode="json")))

    async def tracking(self, order_id: str, access: Access | None = None) -> Tracking:
        return tracking_of(await self.get(order_id, access))

    async def cancel(
        self, order_id: str, reason: str, access: Access | None = None, by: str = "customer"
    ) -> Order:
        """Cancel before shipping (409 with the current status after). Catalog releases the
        stock when it sees OrderCancelled."""
        order = await self.get(order_id, access)
        return await self.transition(order_id, customer_cancel(order, reason, by))

    # -- the projection ----------------------------------------------------------------
    async def project(self, order: Order) -> bool:
        view = summary_of(order)
        return await self.views.save_if_newer(
            order.order_id, lambda stored: view if is_newer(view, stored) else None
        )

    async def on_order_event(self, event: EventEnvelope) -> None:
        data = OrderEventData.model_validate(event.data)

        def build(stored: OrderSummary | None) -> OrderSummary | None:
            view = summary_from_event(data, stored)
            return view if is_newer(view, stored) else None

        await self.views.save_if_newer(data.order_id, build)

    async def on_payment_event(self, event: EventEnvelope) -> None:
        """RefundProcessed: the order is refunded (or partially) by what payments refunded."""
        data = PaymentEventData.model_validate(event.data)
        order = order_or_raise(await self.actors.get(data.order_id))
        req = refund_transition(order, data.refunded_amount, event.event_id)
        if req is not None:
            await self.transition(data.order_id, req)

    async def list_orders(
        self,
        user_id: str | None,
        statuses: list[OrderStatus] | None,
        page: int,
        limit: int,
    ) -> OrderPage:
        found = await self.views.find(user_id, statuses)
        start = (page - 1) * limit
        return OrderPage(
            items=found[start : start + limit], total=len(found), page=page, limit=limit
        )

    async def customer_history(
        self, user_id: str, exclude: str | None, now: datetime | None = None
    ) -> CustomerHistory:
        """A signed-in customer's earlier orders for fraud scoring (from the projection)."""
        orders = await self.views.find(user_id, None)
        return customer_history(user_id, orders, exclude, now or datetime.now(UTC))

    async def by_number(self, order_number: str) -> OrderSummary:
        view = await self.views.by_number(order_number)
        if view is None:
            raise NotFound("Order not found", order_number=order_number)
        return view

    async def rebuild(self, order_ids: list[str] | None = None) -> RebuildReport:
        """Refresh views from actor state (the source of truth), e.g. after a lost event."""
        ids = order_ids if order_ids is not None else await self.views.ids()
        updated = missing = 0
        for order_id in ids:
            reply = await self.actors.get(order_id)
            if not reply.ok or reply.order is None:
                missing += 1
                continue
            updated += int(await self.project(reply.order))
        return RebuildReport(checked=len(ids), updated=updated, missing=missing)


def order_or_raise(reply: ActorReply) -> Order:
    if reply.ok and reply.order is not None:
        return reply.order
    err = reply.error
    if err is None:
        raise DomainError("Order actor gave no answer", code=ErrorCode.INTERNAL_SERVER_ERROR)
    if err.code == "CONFLICT":
        raise Conflict(err.message, current_status=err.current_status, **err.details)
    if err.code == "RESOURCE_NOT_FOUND":
        raise NotFound(err.message, **err.details)
    raise InvalidRequest(err.message, **err.details)
