"""OrderActor: keeps the order's state, its outbox and its reminders; rules live in logic.py.

Events describe committed state only (actors/outbox.py): a transition saves the order and
its event in one actor-state transaction, then publishes. Consumers deduplicate on the
deterministic event id (`{order_id}:{version}`).
"""

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import structlog
from dapr.actor import Remindable
from pydantic import BaseModel, ValidationError

from actors.order import logic, returns
from actors.order.interface import OrderActorInterface
from actors.outbox import OUTBOX_REMINDER, OutboxActor
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    ActorError,
    ActorReply,
    CreateOrder,
    Order,
    OrderStatus,
    TransitionRequest,
)
from apps.contracts.returns import DecideReturn, RequestReturn, ReturnProgress

log = structlog.stdlib.get_logger("OrderActor")

ORDER_KEY = "order"
PAYMENT_TIMEOUT_REMINDER = "payment-timeout"
COMPLETE_REMINDER = "complete"
RELEASE_REMINDER = "release"


class OrderActorHost(Protocol):
    """What the hosting app provides: configuration and a publisher."""

    source_app_id: str
    default_payment_timeout: timedelta
    #: A paid order is held this long before it goes to the warehouse (free cancellation).
    fulfilment_hold: timedelta
    #: A delivered order is completed this long after delivery (its return window).
    complete_after: timedelta
    #: A return of every unit refunds the shipping too.
    refund_shipping_on_full_return: bool

    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


def _invalid(message: str, **details: Any) -> dict[str, Any]:
    reply = ActorReply(
        ok=False, error=ActorError(code="INVALID_REQUEST", message=message, details=details)
    )
    return reply.model_dump(mode="json")


class OrderActor(OutboxActor, OrderActorInterface, Remindable):
    """Registered under its class name, which is `ActorType.ORDER` (checked by a unit test)."""

    host: ClassVar[OrderActorHost | None] = None

    # -- methods -----------------------------------------------------------------------
    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            cmd = CreateOrder.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid create payload", errors=exc.errors(include_url=False))
        if cmd.order_id != self.id.id:
            return _invalid("order_id must equal the actor id", actor_id=self.id.id)
        existing = await self._load()
        if existing is not None:
            return ActorReply(ok=True, order=existing).model_dump(mode="json")
        host = self._host()
        timeout = (
            timedelta(seconds=cmd.payment_timeout_seconds)
            if cmd.payment_timeout_seconds
            else host.default_payment_timeout
        )
        # Reminder first: if we crash before saving, it fires on no order and does nothing;
        # the other order would leave a saved order without its timeout.
        await self.register_reminder(PAYMENT_TIMEOUT_REMINDER, b"payment-timeout", timeout)
        decision = logic.create(cmd, _now())
        await self._commit(decision)
        return ActorReply(ok=True, order=decision.order).model_dump(mode="json")

    async def transition(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            req = TransitionRequest.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid transition payload", errors=exc.errors(include_url=False))
        order = await self._load()
        if order is None:
            return _not_found(self.id.id)
        reply = await self._decide(order, req)
        return reply.model_dump(mode="json")

    async def get(self) -> dict[str, Any]:
        order = await self._load()
        if order is None:
            return _not_found(self.id.id)
        return ActorReply(ok=True, order=order).model_dump(mode="json")

    # -- returns (rules in returns.py) -------------------------------------------------
    async def request_return(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._return_step(data, RequestReturn, returns.request, policy=True)

    async def decide_return(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._return_step(data, DecideReturn, returns.decide)

    async def return_progress(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._return_step(data, ReturnProgress, returns.progress)

    # -- reminders ---------------------------------------------------------------------
    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        if name == PAYMENT_TIMEOUT_REMINDER:
            order = await self._load()
            req = logic.payment_timeout(order) if order else None
            if order is not None and req is not None:
                await self._decide(order, req)
                log.info("unpaid order cancelled", order_id=order.order_id)
        elif name == RELEASE_REMINDER:
            order = await self._load()
            req = logic.release(order) if order else None
            if order is not None and req is not None:
                await self._decide(order, req)
            await self._try_unregister(RELEASE_REMINDER)
        elif name == COMPLETE_REMINDER:
            order = await self._load()
            req = logic.auto_complete(order) if order else None
            if order is not None and req is not None:
                await self._decide(order, req)
            await self._try_unregister(COMPLETE_REMINDER)
        elif name == OUTBOX_REMINDER:
            await self._retry_outbox(self._host())

    # -- internals ---------------------------------------------------------------------
    async def _return_step(
        self, data: dict[str, Any], model: type[BaseModel], rule: Any, policy: bool = False
    ) -> dict[str, Any]:
        try:
            cmd = model.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid return payload", errors=exc.errors(include_url=False))
        order = await self._load()
        if order is None:
            return _not_found(self.id.id)
        host = self._host()
        args = (returns.Policy(host.complete_after, host.refund_shipping_on_full_return),)
        decision = rule(order, cmd, *(args if policy else ()), _now())
        if isinstance(decision, returns.ReturnRefused):
            return ActorReply(ok=False, order=order, error=decision.error).model_dump(mode="json")
        if isinstance(decision, returns.ReturnChanged):
            envelope = EventEnvelope.of(
                decision.event,
                correlation_id=order.correlation_id,
                source=host.source_app_id,
                event_id=f"{decision.record.return_id}:{decision.record.status}",
                occurred_at=decision.event.at,
            )
            await self._save({ORDER_KEY: decision.order.model_dump(mode="json")}, [envelope])
            await self._flush_outbox(host)
        reply = ActorReply(ok=True, order=decision.order, return_id=decision.record.return_id)
        return reply.model_dump(mode="json")

    async def _decide(self, order: Order, req: TransitionRequest) -> ActorReply:
        decision = logic.transition(order, req, _now())
        if isinstance(decision, logic.Rejected):
            return ActorReply(ok=False, order=order, error=decision.error)
        if isinstance(decision, logic.Applied):
            if decision.order.status == OrderStatus.PAID:
                # Before the commit, like the completion reminder below.
                hold = max(self._host().fulfilment_hold, timedelta(milliseconds=1))
                await self.register_reminder(RELEASE_REMINDER, b"release", hold)
            if decision.order.status == OrderStatus.DELIVERED:
                # Before the commit: a crash in between leaves a reminder that finds the
                # order not delivered and does nothing, never a delivered order that stays so.
                await self.register_reminder(
                    COMPLETE_REMINDER, b"complete", self._host().complete_after
                )
            await self._commit(decision)
            if order.status in logic.UNPAID and decision.order.status not in logic.UNPAID:
                await self._try_unregister(PAYMENT_TIMEOUT_REMINDER)  # once, on leaving
        return ActorReply(ok=True, order=decision.order)

    async def _commit(self, decision: logic.Applied) -> None:
        host = self._host()
        envelope = EventEnvelope.of(
            decision.event,
            correlation_id=decision.order.correlation_id,
            source=host.source_app_id,
            event_id=logic.event_id(decision.order),
            occurred_at=decision.order.updated_at,
        )
        await self._save({ORDER_KEY: decision.order.model_dump(mode="json")}, [envelope])
        await self._flush_outbox(host)

    async def _load(self) -> Order | None:
        found, raw = await self._state_manager.try_get_state(ORDER_KEY)
        return Order.model_validate(raw) if found else None

    def _host(self) -> OrderActorHost:
        if OrderActor.host is None:
            raise RuntimeError("OrderActor.host is not set: the hosting app wires it at start")
        return OrderActor.host


def _not_found(order_id: str) -> dict[str, Any]:
    reply = ActorReply(
        ok=False,
        error=ActorError(
            code="RESOURCE_NOT_FOUND", message="Order not found", details={"order_id": order_id}
        ),
    )
    return reply.model_dump(mode="json")


def _now() -> datetime:
    return datetime.now(UTC)
