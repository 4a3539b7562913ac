"""Return use cases of the orders app: request, approve or reject, the parcel back through
the carrier port, then stock and money back, once each.

Why not a Dapr Workflow (README "Returns"): a return waits days for a parcel and moves only
when something happens (a decision, a carrier scan), and its two irreversible steps come
last and are idempotent by the return id (catalog restocks a return id once, payments
refunds the key `return:{id}` once). The return's state lives in its order's actor, so the
quantities and the window are checked in one turn; every step is driven by an event that is
redelivered until it is handled, so a crash anywhere resumes where it stopped, with nothing
to compensate.
"""

from typing import Any, Protocol

import structlog

from apps.contracts.errors import DomainError, ErrorCode, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import ReservationLine, ReturnStock
from apps.contracts.orders import ActorReply, Address, Order
from apps.contracts.payments import RefundRequest
from apps.contracts.returns import (
    DecideReturn,
    RequestReturn,
    ReturnEventData,
    ReturnPage,
    ReturnProgress,
    ReturnRecord,
    ReturnRequestIn,
    ReturnStatus,
    ReturnView,
)
from apps.contracts.shipping import CreateShipment, ShipmentReply
from apps.orders.fulfilment_rules import shipment_lines
from apps.orders.service import order_or_raise

log = structlog.stdlib.get_logger("returns")

#: Failures worth another delivery of the event (the callee was down or overloaded).
TRANSIENT = frozenset(
    {
        ErrorCode.SERVICE_UNAVAILABLE,
        ErrorCode.INTERNAL_SERVER_ERROR,
        ErrorCode.RATE_LIMIT_EXCEEDED,
        ErrorCode.REQUEST_TIMEOUT,
    }
)


class OrderActors(Protocol):
    async def get(self, order_id: str) -> ActorReply: ...
    async def returns(self, order_id: str, method: str, payload: dict[str, Any]) -> ActorReply: ...


class ShipmentActors(Protocol):
    async def call(self, shipment_id: str, method: str, payload: Any = None) -> ShipmentReply: ...


class ReturnViews(Protocol):
    async def save(self, view: ReturnView) -> bool: ...
    async def find(self, **equal: str) -> list[ReturnView]: ...


class Stock(Protocol):
    async def return_units(self, order_id: str, req: ReturnStock) -> None: ...


class Refunds(Protocol):
    async def refund(self, order_id: str, req: RefundRequest) -> None: ...


def order_of(return_id: str) -> str:
    """Return ids are `ret-{order_id}-{n}`: the order is found without a look-up."""
    body = return_id.removeprefix("ret-")
    order_id, _, n = body.rpartition("-")
    if not order_id or not n.isdigit():
        raise NotFound("Return not found", return_id=return_id)
    return order_id


def view_of(order: Order, record: ReturnRecord) -> ReturnView:
    return ReturnView(
        **record.model_dump(),
        order_number=order.order_number,
        email=order.email,
        user_id=order.user_id,
    )


class ReturnsService:
    def __init__(
        self,
        orders: OrderActors,
        shipments: ShipmentActors,
        views: ReturnViews,
        stock: Stock,
        refunds: Refunds,
        warehouse: Address,
    ) -> None:
        self.orders = orders
        self.shipments = shipments
        self.views = views
        self.stock = stock
        self.refunds = refunds
        self.warehouse = warehouse

    # -- requests and decisions ------------------------------------------------------------
    async def request(self, order: Order, body: ReturnRequestIn, key: str, by: str) -> ReturnView:
        """A return of some units of a delivered order, within its window (`key` makes a
        retried request the same return). The caller checked who may see `order`."""
        cmd = RequestReturn(
            request_key=key, lines=body.lines, comment=body.comment, requested_by=by
        )
        return await self._step(order.order_id, "request_return", cmd.model_dump(mode="json"))

    async def approve(self, return_id: str, by: str, note: str = "") -> ReturnView:
        """Approved: a return label from the customer's address to the warehouse is booked."""
        cmd = DecideReturn(
            return_id=return_id,
            approve=True,
            reason=note,
            by=by,
            return_shipment_id=f"shp-{return_id}",
        )
        view = await self._step(order_of(return_id), "decide_return", cmd.model_dump(mode="json"))
        await self.book_return_shipment(view)
        return view

    async def reject(self, return_id: str, reason: str, by: str) -> ReturnView:
        cmd = DecideReturn(return_id=return_id, approve=False, reason=reason, by=by)
        return await self._step(order_of(return_id), "decide_return", cmd.model_dump(mode="json"))

    # -- reads -------------------------------------------------------------------------
    async def get(self, return_id: str) -> ReturnView:
        order = order_or_raise(await self.orders.get(order_of(return_id)))
        record = next((r for r in order.returns if r.return_id == return_id), None)
        if record is None:
            raise NotFound("Return not found", return_id=return_id)
        return view_of(order, record)

    async def of_order(self, order: Order) -> list[ReturnView]:
        return [view_of(order, r) for r in order.returns]

    async def list_returns(
        self, status: ReturnStatus | None, order_id: str | None, page: int, limit: int
    ) -> ReturnPage:
        equal = {k: v for k, v in (("status", status), ("order_id", order_id)) if v}
        found = await self.views.find(**equal)
        start = (page - 1) * limit
        return ReturnPage(
            items=found[start : start + limit], total=len(found), page=page, limit=limit
        )

    # -- what events drive -------------------------------------------------------------
    async def on_support_event(self, event: EventEnvelope) -> None:
        """Each return event refreshes the staff list; an approved return gets its label
        (again: booking is idempotent, so a crash after the approval is made good here)."""
        data = ReturnEventData.model_validate(event.data)
        view = await self.get(data.return_id)
        await self.views.save(view)
        if view.status == ReturnStatus.APPROVED:
            await self.book_return_shipment(view)

    async def book_return_shipment(self, view: ReturnView) -> None:
        order = order_or_raise(await self.orders.get(view.order_id))
        if view.return_shipment_id is None or order.shipping_address is None:
            return
        cmd = CreateShipment(
            shipment_id=view.return_shipment_id,
            order_id=view.order_id,
            order_number=view.order_number,
            user_id=view.user_id,
            email=view.email,
            origin=order.shipping_address,
            destination=self.warehouse,
            lines=shipment_lines(view.lines),
            kind="return",
            correlation_id=order.correlation_id,
        )
        reply = await self.shipments.call(cmd.shipment_id, "create", cmd.model_dump(mode="json"))
        if not reply.ok:
            raise RuntimeError(f"return label not booked: {reply.error}")

    async def received(self, return_id: str) -> ReturnView:
        """The return parcel reached the warehouse: units back in stock, then the refund,
        then the return is closed. Every step is idempotent by the return id; a failure
        raises so the shipping event is delivered again and the rest is done then."""
        order_id = order_of(return_id)
        view = await self._step(
            order_id,
            "return_progress",
            ReturnProgress(return_id=return_id, status=ReturnStatus.RECEIVED).model_dump(
                mode="json"
            ),
        )
        if view.status == ReturnStatus.REFUNDED:
            return view
        await _transient_as_retry(
            self.stock.return_units(
                order_id,
                ReturnStock(
                    return_id=return_id,
                    lines=_by_sku(view),
                    reason=f"return {return_id} received",
                ),
            )
        )
        amount = view.total_refund
        if amount > 0:
            await _transient_as_retry(
                self.refunds.refund(
                    order_id,
                    RefundRequest(
                        key=f"return:{return_id}", amount=amount, reason="requested_by_customer"
                    ),
                )
            )
        done = ReturnProgress(
            return_id=return_id, status=ReturnStatus.REFUNDED, refunded_amount=amount
        )
        return await self._step(order_id, "return_progress", done.model_dump(mode="json"))

    # -- internals ---------------------------------------------------------------------
    async def _step(self, order_id: str, method: str, payload: dict[str, Any]) -> ReturnView:
        reply = await self.orders.returns(order_id, method, payload)
        order = order_or_raise(reply)
        record = next(r for r in order.returns if r.return_id == reply.return_id)
        view = view_of(order, record)
        await self.views.save(view)
        return view


def _by_sku(view: ReturnView) -> list[ReservationLine]:
    units: dict[str, int] = {}
    for line in view.lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return [ReservationLine(sku=sku, quantity=n) for sku, n in sorted(units.items())]


async def _transient_as_retry(call: Any) -> None:
    """A callee that was down is worth another delivery; a refusal is not (it stays so)."""
    try:
        await call
    except DomainError as exc:
        if exc.code in TRANSIENT:
            raise RuntimeError(f"transient: {exc}") from exc
        raise
