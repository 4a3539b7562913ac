"""Pure inventory rules: holds per order on a SKU's stock, reserve all-or-nothing, release,
commit, customer returns, staff adjustments, low-stock detection.

A SKU's stock record keeps `on_hand` and the active holds (order id -> quantity, expiry).
`available = on_hand - sum(active holds)`; a hold past its expiry no longer counts and is
dropped at the next write, so an abandoned reservation frees its units without a sweeper.
Committing turns the hold into a decrement of `on_hand`. No rule here ever lets the sum of
committed and held units exceed the stock, nor puts back more units than an order took: the
reservation records every return by id, and a restock puts back only what no return did.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from apps.contracts.catalog import Product
from apps.contracts.errors import Conflict
from apps.contracts.inventory import Reservation as ReservationView
from apps.contracts.inventory import (
    ReservationLine,
    ReservationStatus,
    ReserveRequest,
    ReturnStock,
    StockAdjustment,
    StockLevel,
    StockLevelRow,
)


class Hold(BaseModel):
    quantity: int = Field(ge=1)
    expires_at: datetime


#: A SKU's low-stock threshold until staff set another.
DEFAULT_LOW_STOCK_THRESHOLD = 5


class StockRecord(BaseModel):
    sku: str
    product_id: str
    variant_id: str
    on_hand: int = Field(ge=0)
    holds: dict[str, Hold] = Field(default_factory=dict)
    low_stock_threshold: int = Field(default=DEFAULT_LOW_STOCK_THRESHOLD, ge=0)


class InsufficientStock(Conflict):
    """Not every line can be held: nothing was reserved."""


Records = Mapping[str, StockRecord]


def active_holds(rec: StockRecord, now: datetime) -> dict[str, Hold]:
    return {oid: h for oid, h in rec.holds.items() if h.expires_at > now}


def reserved(rec: StockRecord, now: datetime) -> int:
    return sum(h.quantity for h in active_holds(rec, now).values())


def available(rec: StockRecord, now: datetime) -> int:
    return rec.on_hand - reserved(rec, now)


def level(rec: StockRecord, now: datetime) -> StockLevel:
    held = reserved(rec, now)
    return StockLevel(
        sku=rec.sku,
        product_id=rec.product_id,
        variant_id=rec.variant_id,
        on_hand=rec.on_hand,
        reserved=held,
        available=rec.on_hand - held,
        low_stock_threshold=rec.low_stock_threshold,
    )


def catalog_levels(
    records: Iterable[StockRecord], products: Iterable[Product], now: datetime
) -> list[StockLevelRow]:
    """Every SKU's level, by SKU: its stock record's, or, for a SKU no write has touched
    yet (a seeded or new product has no record until then), the level its record will start
    with: the variant's stock, no holds, the default threshold (as `_initialise` creates it)."""
    levels = {rec.sku: level(rec, now) for rec in records}
    rows = {
        sku: StockLevelRow(**dict(lv), low=lv.available <= lv.low_stock_threshold)
        for sku, lv in levels.items()
    }
    for product in products:
        for v in product.variants:
            if v.sku not in rows:
                rows[v.sku] = StockLevelRow(
                    sku=v.sku,
                    product_id=product.product_id,
                    variant_id=v.variant_id,
                    on_hand=v.stock,
                    reserved=0,
                    available=v.stock,
                    low_stock_threshold=DEFAULT_LOW_STOCK_THRESHOLD,
                    low=v.stock <= DEFAULT_LOW_STOCK_THRESHOLD,
                )
    return [rows[sku] for sku in sorted(rows)]


def _pruned(rec: StockRecord, now: datetime) -> StockRecord:
    return rec.model_copy(update={"holds": active_holds(rec, now)})


def reserve(
    records: Records, req: ReserveRequest, now: datetime, ttl: timedelta
) -> tuple[dict[str, StockRecord], ReservationView]:
    if shortages := _shortages(records, req.order_id, req.lines, now):
        raise InsufficientStock(
            "Not enough stock for every line; nothing was reserved", shortages=shortages
        )
    expires = now + ttl
    changed = {}
    for line in req.lines:
        rec = _pruned(records[line.sku], now)
        holds = {**rec.holds, req.order_id: Hold(quantity=line.quantity, expires_at=expires)}
        changed[line.sku] = rec.model_copy(update={"holds": holds})
    reservation = ReservationView(
        order_id=req.order_id,
        lines=req.lines,
        status=ReservationStatus.RESERVED,
        created_at=now,
        updated_at=now,
        expires_at=expires,
    )
    return changed, reservation


def release(
    records: Records, reservation: ReservationView, now: datetime, reason: str
) -> tuple[dict[str, StockRecord], ReservationView]:
    if reservation.status in (ReservationStatus.COMMITTED, ReservationStatus.RESTOCKED):
        raise Conflict(
            f"A {reservation.status.value} reservation cannot be released",
            order_id=reservation.order_id,
        )
    changed = {}
    for line in reservation.lines:
        rec = _pruned(records[line.sku], now)
        holds = {k: v for k, v in rec.holds.items() if k != reservation.order_id}
        changed[line.sku] = rec.model_copy(update={"holds": holds})
    return changed, reservation.model_copy(
        update={"status": ReservationStatus.RELEASED, "updated_at": now, "reason": reason}
    )


def commit(
    records: Records, reservation: ReservationView, now: datetime
) -> tuple[dict[str, StockRecord], ReservationView]:
    """Turn the holds into sales. A lapsed hold is re-taken from what is free, if enough is."""
    if reservation.status in (ReservationStatus.RELEASED, ReservationStatus.RESTOCKED):
        raise Conflict(
            f"A {reservation.status.value} reservation cannot be committed",
            order_id=reservation.order_id,
        )
    if shortages := _shortages(records, reservation.order_id, reservation.lines, now):
        raise InsufficientStock("The reservation lapsed and the stock is gone", shortages=shortages)
    changed = {}
    for line in reservation.lines:
        rec = _pruned(records[line.sku], now)
        holds = {k: v for k, v in rec.holds.items() if k != reservation.order_id}
        changed[line.sku] = rec.model_copy(
            update={"on_hand": rec.on_hand - line.quantity, "holds": holds}
        )
    return changed, reservation.model_copy(
        update={"status": ReservationStatus.COMMITTED, "updated_at": now}
    )


def restock(
    records: Records, reservation: ReservationView, now: datetime, reason: str
) -> tuple[dict[str, StockRecord], ReservationView]:
    """Return a committed reservation's units to stock (an order cancelled before it
    shipped): `on_hand` grows by what the commit took less what customer returns already
    put back, once (the reservation's status says it happened)."""
    if reservation.status != ReservationStatus.COMMITTED:
        raise Conflict(
            "Only committed stock can be returned",
            order_id=reservation.order_id,
            status=reservation.status.value,
        )
    changed = {}
    for line in not_returned(reservation):
        rec = _pruned(records[line.sku], now)
        changed[line.sku] = rec.model_copy(update={"on_hand": rec.on_hand + line.quantity})
    return changed, reservation.model_copy(
        update={"status": ReservationStatus.RESTOCKED, "updated_at": now, "reason": reason}
    )


def not_returned(reservation: ReservationView) -> list[ReservationLine]:
    """The committed units no customer return has put back yet (what a restock may add)."""
    back = _totals(line for lines in reservation.returned.values() for line in lines)
    left = {sku: qty - back.get(sku, 0) for sku, qty in _totals(reservation.lines).items()}
    return [ReservationLine(sku=sku, quantity=qty) for sku, qty in left.items() if qty > 0]


def already_returned(reservation: ReservationView, req: ReturnStock) -> bool:
    """True when this return id was put back already with the same units (a retry, to
    answer unchanged); the same id with other units is a 409, never silently accepted."""
    done = reservation.returned.get(req.return_id)
    if done is None:
        return False
    if _totals(done) != _totals(req.lines):
        raise Conflict(
            "This return id was already used with other lines",
            order_id=reservation.order_id,
            return_id=req.return_id,
        )
    return True


def return_units(
    records: Records, reservation: ReservationView, req: ReturnStock, now: datetime
) -> tuple[dict[str, StockRecord], ReservationView]:
    """Put a customer return's units back on hand, once per return id, and never more of a
    SKU than the order committed less what earlier returns put back (all or nothing). A
    retry of a recorded return changes nothing."""
    if already_returned(reservation, req):
        return {}, reservation
    if reservation.status != ReservationStatus.COMMITTED:
        why = (
            "the whole order was already put back in stock"
            if reservation.status == ReservationStatus.RESTOCKED
            else "its units were never sold"
        )
        raise Conflict(
            f"A {reservation.status.value} reservation cannot take returns: {why}",
            order_id=reservation.order_id,
            status=reservation.status.value,
        )
    committed = _totals(reservation.lines)
    if unknown := sorted({line.sku for line in req.lines} - committed.keys()):
        raise Conflict(
            "The order did not commit these SKUs", order_id=reservation.order_id, skus=unknown
        )
    earlier = _totals(line for lines in reservation.returned.values() for line in lines)
    requested = _totals(req.lines)
    over = [
        {
            "sku": sku,
            "committed": committed[sku],
            "returned": earlier.get(sku, 0),
            "requested": qty,
        }
        for sku, qty in requested.items()
        if earlier.get(sku, 0) + qty > committed[sku]
    ]
    if over:
        raise Conflict(
            "More units than the order committed, less earlier returns; nothing was returned",
            order_id=reservation.order_id,
            over=over,
        )
    changed = {}
    for sku, qty in requested.items():
        rec = _pruned(records[sku], now)
        changed[sku] = rec.model_copy(update={"on_hand": rec.on_hand + qty})
    lines = [ReservationLine(sku=sku, quantity=qty) for sku, qty in requested.items()]
    return changed, reservation.model_copy(
        update={"returned": {**reservation.returned, req.return_id: lines}, "updated_at": now}
    )


def adjust(rec: StockRecord, adj: StockAdjustment, now: datetime) -> StockRecord:
    on_hand = rec.on_hand
    if adj.on_hand is not None:
        on_hand = adj.on_hand
    elif adj.delta is not None:
        on_hand = rec.on_hand + adj.delta
    held = reserved(rec, now)
    if on_hand < held:
        raise Conflict(
            "Stock cannot go below the units held for orders",
            sku=rec.sku,
            reserved=held,
            requested_on_hand=on_hand,
        )
    threshold = (
        rec.low_stock_threshold if adj.low_stock_threshold is None else adj.low_stock_threshold
    )
    return _pruned(rec, now).model_copy(
        update={"on_hand": on_hand, "low_stock_threshold": threshold}
    )


def crossed_low_stock(before: StockRecord, after: StockRecord, now: datetime) -> bool:
    """True when this change takes the SKU to or below its threshold (once, not on every write)."""
    return available(after, now) <= after.low_stock_threshold < available(before, now)


def effective_status(reservation: ReservationView, now: datetime) -> ReservationView:
    if reservation.status == ReservationStatus.RESERVED and reservation.expires_at <= now:
        return reservation.model_copy(update={"status": ReservationStatus.EXPIRED})
    return reservation


def same_lines(a: list[ReservationLine], b: list[ReservationLine]) -> bool:
    return sorted((x.sku, x.quantity) for x in a) == sorted((x.sku, x.quantity) for x in b)


def _totals(lines: Iterable[ReservationLine]) -> dict[str, int]:
    """Units per SKU (a SKU named twice adds up), in first-seen order."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return totals


def _shortages(
    records: Records, order_id: str, lines: list[ReservationLine], now: datetime
) -> list[dict[str, object]]:
    """Lines the free stock (plus the order's own hold) cannot cover."""
    short = []
    for line in lines:
        rec = records[line.sku]
        free = available(rec, now) + _own_hold(rec, order_id, now)
        if line.quantity > free:
            short.append({"sku": line.sku, "requested": line.quantity, "available": free})
    return short


def _own_hold(rec: StockRecord, order_id: str, now: datetime) -> int:
    """A retried reserve replaces the order's own hold instead of adding to it."""
    hold = active_holds(rec, now).get(order_id)
    return hold.quantity if hold else 0
