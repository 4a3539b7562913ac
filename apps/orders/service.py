"""Use cases of the orders app; Dapr stays behind the protocols below."""

from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from apps.contracts.catalog import Id
from apps.contracts.errors import Conflict, DomainError, ErrorCode, InvalidRequest, NotFound
from apps.contracts.orders import (
    ActorReply,
    Address,
    CreateOrder,
    Order,
    OrderLine,
    Totals,
    TransitionRequest,
)
from apps.orders.domain import email_matches, order_number_for


class PlaceOrder(BaseModel):
    """`POST /orders` body: an order without its number (the orders app allocates it)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    email: EmailStr
    user_id: Id | None = None
    items: list[OrderLine] = Field(min_length=1, max_length=200)
    totals: Totals
    shipping_address: Address | None = None
    billing_address: Address | None = None
    correlation_id: str = Field(min_length=1, max_length=200)
    payment_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)


class OrderActors(Protocol):
    async def create(self, order_id: str, payload: dict[str, Any]) -> ActorReply: ...
    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply: ...
    async def get(self, order_id: str) -> ActorReply: ...


class Sequences(Protocol):
    async def next(self, name: str) -> int: ...


class OrdersService:
    def __init__(self, actors: OrderActors, sequences: Sequences) -> None:
        self.actors = actors
        self.sequences = sequences

    async def place(self, cmd: PlaceOrder, now: datetime | None = None) -> tuple[Order, bool]:
        """Create the order once; a retry returns the existing order and `created=False`."""
        existing = await self.actors.get(cmd.order_id)
        if existing.ok and existing.order is not None:
            return existing.order, False
        number = order_number_for(now or datetime.now(UTC), await self.sequences.next("order"))
        create = CreateOrder(order_number=number, **cmd.model_dump())
        reply = await self.actors.create(cmd.order_id, create.model_dump(mode="json"))
        order = _order_or_raise(reply)
        return order, order.order_number == number

    async def get(self, order_id: str, email: str | None = None) -> Order:
        order = _order_or_raise(await self.actors.get(order_id))
        if email is not None and not email_matches(order.email, email):
            # Same answer as a missing order: no hint that the id exists.
            raise NotFound("Order not found", order_id=order_id)
        return order

    async def transition(self, order_id: str, req: TransitionRequest) -> Order:
        return _order_or_raise(await self.actors.transition(order_id, req.model_dump(mode="json")))


def _order_or_raise(reply: ActorReply) -> Order:
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
