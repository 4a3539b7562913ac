"""Returns inside an order, pure: who may return what and when, what it refunds, and the
return's own small state machine. No Dapr, no clock (the caller passes `now`).

Money: a return refunds its units' share of what the goods cost after discounts, with their
tax (`total - shipping`, split by the units' list value), rounded to cents; the return that
brings the last unit back refunds exactly what is left of the goods, so all returns of an
order add up to the goods' cost to the cent. Shipping comes back only when every unit is
returned and the policy says so. Nothing is refunded beyond what the order still holds
(`total - refunded_amount`).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from apps.contracts.money import quantize
from apps.contracts.orders import ActorError, Order, OrderStatus
from apps.contracts.returns import (
    DecideReturn,
    RequestReturn,
    ReturnApproved,
    ReturnEntry,
    ReturnEventData,
    ReturnLine,
    ReturnProgress,
    ReturnReceived,
    ReturnRecord,
    ReturnRefunded,
    ReturnRejected,
    ReturnRequested,
    ReturnStatus,
)

R = ReturnStatus
#: Orders whose goods arrived and may still be returned (within the window).
RETURNABLE = frozenset({OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED})
#: Returns still holding their units (a rejected one gives them back to the returnable pool).
ACTIVE = frozenset({R.REQUESTED, R.APPROVED, R.RECEIVED, R.REFUNDED})
NEXT: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset({R.RECEIVED}),
    R.RECEIVED: frozenset({R.REFUNDED}),
    R.REJECTED: frozenset(),
    R.REFUNDED: frozenset(),
}
_EVENTS: dict[ReturnStatus, type[ReturnEventData]] = {
    R.REQUESTED: ReturnRequested,
    R.APPROVED: ReturnApproved,
    R.REJECTED: ReturnRejected,
    R.RECEIVED: ReturnReceived,
    R.REFUNDED: ReturnRefunded,
}


@dataclass(frozen=True)
class Policy:
    window: timedelta
    refund_shipping_on_full_return: bool = True


@dataclass(frozen=True)
class ReturnChanged:
    order: Order
    record: ReturnRecord
    event: ReturnEventData


@dataclass(frozen=True)
class ReturnSame:
    order: Order
    record: ReturnRecord


@dataclass(frozen=True)
class ReturnRefused:
    error: ActorError


ReturnDecision = ReturnChanged | ReturnSame | ReturnRefused


def delivered_at(order: Order) -> datetime | None:
    return next(
        (h.at for h in reversed(order.history) if h.to_status == OrderStatus.DELIVERED), None
    )


def request(order: Order, req: RequestReturn, policy: Policy, now: datetime) -> ReturnDecision:
    existing = next((r for r in order.returns if r.request_key == req.request_key), None)
    if existing is not None:
        return ReturnSame(order, existing)
    delivered = delivered_at(order)
    if order.status not in RETURNABLE or delivered is None:
        return _refused(
            order, "CONFLICT", f"An order in status '{order.status}' cannot be returned"
        )
    if now - delivered > policy.window:
        return _refused(
            order,
            "CONFLICT",
            "The return window for this order has closed",
            delivered_at=delivered.isoformat(),
            window_days=policy.window / timedelta(days=1),
        )
    bought = {(i.product_id, i.variant_id): i for i in order.items}
    wanted: Counter[tuple[str, str]] = Counter()
    for line in req.lines:
        wanted[(line.product_id, line.variant_id)] += line.quantity
    unknown = [f"{p}/{v}" for p, v in wanted if (p, v) not in bought]
    if unknown:
        return _refused(order, "INVALID_REQUEST", "Not in this order", lines=unknown)
    taken = _returned_units(order)
    over = {
        f"{p}/{v}": {"asked": n, "returnable": bought[(p, v)].quantity - taken[(p, v)]}
        for (p, v), n in wanted.items()
        if taken[(p, v)] + n > bought[(p, v)].quantity
    }
    if over:
        return _refused(order, "INVALID_REQUEST", "More units than can be returned", lines=over)
    lines = [
        ReturnLine(
            product_id=line.product_id,
            variant_id=line.variant_id,
            sku=bought[(line.product_id, line.variant_id)].sku,
            name=bought[(line.product_id, line.variant_id)].name,
            quantity=line.quantity,
            unit_price=bought[(line.product_id, line.variant_id)].unit_price,
            reason=line.reason,
        )
        for line in req.lines
    ]
    goods, shipping = refund_for(order, wanted, policy)
    record = ReturnRecord(
        return_id=f"ret-{order.order_id}-{len(order.returns) + 1}",
        order_id=order.order_id,
        lines=lines,
        comment=req.comment,
        status=R.REQUESTED,
        refund_amount=goods,
        shipping_refund=shipping,
        requested_by=req.requested_by,
        request_key=req.request_key,
        history=[ReturnEntry(status=R.REQUESTED, at=now, by=req.requested_by)],
        created_at=now,
        updated_at=now,
    )
    return _changed(order, record, now, req.comment)


def refund_for(
    order: Order, wanted: Counter[tuple[str, str]], policy: Policy
) -> tuple[Decimal, Decimal]:
    """(goods, shipping) this return refunds, given the returns already active."""
    totals = order.totals
    goods_total = totals.total - totals.shipping
    taken = _returned_units(order)
    after = taken + wanted
    everything = all(after[(i.product_id, i.variant_id)] >= i.quantity for i in order.items)
    earlier_goods = sum(
        (r.refund_amount for r in order.returns if r.status in ACTIVE), Decimal("0.00")
    )
    if everything:
        goods = goods_total - earlier_goods
    else:
        prices = {(i.product_id, i.variant_id): i.unit_price for i in order.items}
        value = sum((prices[k] * n for k, n in wanted.items()), Decimal("0"))
        goods = quantize(goods_total * value / totals.subtotal) if totals.subtotal else Decimal(0)
    shipping = (
        totals.shipping if everything and policy.refund_shipping_on_full_return else Decimal(0)
    )
    # Never beyond what the order still holds (a staff refund may have come first);
    # payments refuses more than it captured in any case.
    pending = sum(
        (r.total_refund for r in order.returns if r.status in ACTIVE - {R.REFUNDED}),
        Decimal("0.00"),
    )
    left = totals.total - order.refunded_amount - pending
    goods = max(min(goods, left), Decimal("0.00"))
    shipping = max(min(shipping, left - goods), Decimal("0.00"))
    return quantize(goods), quantize(shipping)


def decide(order: Order, cmd: DecideReturn, now: datetime) -> ReturnDecision:
    record = _find(order, cmd.return_id)
    if record is None:
        return _refused(order, "RESOURCE_NOT_FOUND", "Return not found", return_id=cmd.return_id)
    to = R.APPROVED if cmd.approve else R.REJECTED
    if record.status == to:
        return ReturnSame(order, record)
    if to not in NEXT[record.status]:
        return _refused(
            order,
            "CONFLICT",
            f"A return in status '{record.status}' cannot become '{to}'",
            return_status=record.status.value,
        )
    if to == R.REJECTED and not cmd.reason:
        return _refused(order, "INVALID_REQUEST", "A rejection needs a reason")
    updated = record.model_copy(
        update={
            "status": to,
            "rejection_reason": cmd.reason if to == R.REJECTED else "",
            "return_shipment_id": cmd.return_shipment_id if to == R.APPROVED else None,
            "updated_at": now,
            "history": [
                *record.history,
                ReturnEntry(status=to, at=now, by=cmd.by, note=cmd.reason),
            ],
        }
    )
    return _changed(order, updated, now, cmd.reason)


def progress(order: Order, cmd: ReturnProgress, now: datetime) -> ReturnDecision:
    """The parcel arrived (`received`) or the money went back (`refunded`)."""
    record = _find(order, cmd.return_id)
    if record is None:
        return _refused(order, "RESOURCE_NOT_FOUND", "Return not found", return_id=cmd.return_id)
    if record.status == cmd.status or (cmd.status == R.RECEIVED and record.status == R.REFUNDED):
        return ReturnSame(order, record)
    if cmd.status not in NEXT[record.status]:
        return _refused(
            order,
            "CONFLICT",
            f"A return in status '{record.status}' cannot become '{cmd.status}'",
            return_status=record.status.value,
        )
    update: dict[str, object] = {
        "status": cmd.status,
        "updated_at": now,
        "history": [*record.history, ReturnEntry(status=cmd.status, at=now)],
    }
    if cmd.status == R.REFUNDED:
        update["refunded_amount"] = (
            cmd.refunded_amount if cmd.refunded_amount is not None else record.total_refund
        )
    return _changed(order, record.model_copy(update=update), now, "")


def _changed(order: Order, record: ReturnRecord, now: datetime, reason: str) -> ReturnChanged:
    others = [r for r in order.returns if r.return_id != record.return_id]
    ordered = sorted([*others, record], key=lambda r: r.created_at)
    updated = order.model_copy(
        update={"returns": ordered, "updated_at": now, "version": order.version + 1}
    )
    event = _EVENTS[record.status](
        return_id=record.return_id,
        order_id=order.order_id,
        order_number=order.order_number,
        email=order.email,
        user_id=order.user_id,
        status=record.status,
        lines=record.lines,
        refund_amount=record.refund_amount,
        shipping_refund=record.shipping_refund,
        reason=reason,
        return_shipment_id=record.return_shipment_id,
        at=now,
    )
    return ReturnChanged(updated, record, event)


def _returned_units(order: Order) -> Counter[tuple[str, str]]:
    taken: Counter[tuple[str, str]] = Counter()
    for r in order.returns:
        if r.status in ACTIVE:
            for line in r.lines:
                taken[(line.product_id, line.variant_id)] += line.quantity
    return taken


def _find(order: Order, return_id: str) -> ReturnRecord | None:
    return next((r for r in order.returns if r.return_id == return_id), None)


ErrorCode = Literal["CONFLICT", "RESOURCE_NOT_FOUND", "INVALID_REQUEST"]


def _refused(order: Order, code: ErrorCode, message: str, **details: object) -> ReturnRefused:
    return ReturnRefused(
        ActorError(code=code, message=message, current_status=order.status, details=details)
    )
