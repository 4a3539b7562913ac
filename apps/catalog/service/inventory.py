"""Inventory use cases: reserve, release, commit, restock, customer returns, adjust."""

import asyncio
from datetime import timedelta
from typing import Protocol

import structlog

from apps.catalog import inventory
from apps.catalog.inventory import StockRecord
from apps.catalog.service.products import ReadModel, StaleWrite, catalog_event
from apps.catalog.service.stock_writes import backoff, level_events
from apps.contracts.catalog import (
    Product,
)
from apps.contracts.errors import Conflict, NotFound, Unavailable
from apps.contracts.events import EventEnvelope, EventPayload, utcnow
from apps.contracts.inventory import (
    ProductInventory,
    Reservation,
    ReservationStatus,
    ReserveRequest,
    ReturnStock,
    StockAdjustment,
    StockCommitted,
    StockLevel,
    StockLevelPage,
    StockReleased,
    StockReserved,
    StockReturned,
)
from apps.contracts.orders import OrderEventData, OrderStatus


class LapsedHold(RuntimeError):
    """A paid order's hold lapsed and its stock is taken: retried, not dropped (not a
    DomainError, so the subscription answers RETRY)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id}: the hold lapsed and the stock is taken; retrying")


class InventoryRepository(Protocol):
    async def claim_identifiers(self, product: Product) -> None: ...

    async def stock(self, skus: list[str]) -> dict[str, tuple[StockRecord, str]]: ...

    async def reservation(self, order_id: str) -> tuple[Reservation, str] | None: ...

    async def all_stock(self) -> list[StockRecord]: ...

    async def save(
        self,
        stocks: list[tuple[StockRecord, str]],
        reservation: Reservation | None,
        reservation_etag: str | None,
        events: list[EventEnvelope],
    ) -> str: ...


class BatchPublisher(Protocol):
    async def relay(self, batch_key: str) -> None: ...


class OrderFacts(Protocol):
    async def status(self, order_id: str) -> str | None:
        """The order's status as the orders app records it (None: no such order)."""
        ...


#: Compare-and-set retries under contention (jittered backoff between them).
log = structlog.stdlib.get_logger("catalog.inventory")

INVENTORY_ATTEMPTS = 60


class InventoryService:
    def __init__(
        self,
        repo: InventoryRepository,
        outbox: BatchPublisher,
        default_ttl: timedelta,
        read_model: ReadModel | None = None,
        order_facts: OrderFacts | None = None,
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self.default_ttl = default_ttl
        self.read_model = read_model
        self.order_facts = order_facts

    def _stock_written(self, records: list[StockRecord]) -> None:
        if self.read_model:
            self.read_model.stock_written(records)

    async def reserve(self, req: ReserveRequest, correlation_id: str) -> tuple[Reservation, bool]:
        """All lines or none; idempotent by order id (a retry answers the same reservation)."""
        for attempt in range(INVENTORY_ATTEMPTS):
            now = utcnow()
            existing = await self.repo.reservation(req.order_id)
            if existing is not None:
                current = existing[0]
                if not inventory.same_lines(current.lines, req.lines):
                    raise Conflict(
                        "This order already holds a different reservation", order_id=req.order_id
                    )
                if current.status == ReservationStatus.RESERVED and current.expires_at > now:
                    return current, False
                if current.status != ReservationStatus.RESERVED:
                    return inventory.effective_status(current, now), False
            stocks = await self.repo.stock([line.sku for line in req.lines])
            ttl = timedelta(seconds=req.ttl_seconds) if req.ttl_seconds else self.default_ttl
            changed, reservation = inventory.reserve(
                {sku: rec for sku, (rec, _) in stocks.items()}, req, now, ttl
            )
            events = [
                catalog_event(
                    StockReserved(
                        order_id=req.order_id, lines=req.lines, expires_at=reservation.expires_at
                    ),
                    correlation_id,
                ),
                *level_events(stocks, changed, now, "reserved", correlation_id),
            ]
            try:
                batch = await self.repo.save(
                    [(rec, stocks[sku][1]) for sku, rec in changed.items()],
                    reservation,
                    existing[1] if existing else None,
                    events,
                )
            except StaleWrite:
                await backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written(list(changed.values()))
            return reservation, True
        raise Unavailable("Stock is too contended right now; retry", order_id=req.order_id)

    async def release(self, order_id: str, reason: str, correlation_id: str) -> Reservation:
        """Idempotent: releasing a released reservation answers it unchanged."""
        return await self._settle(order_id, correlation_id, ReservationStatus.RELEASED, reason)

    async def commit(self, order_id: str, correlation_id: str) -> Reservation:
        """Idempotent: committing a committed reservation answers it unchanged."""
        return await self._settle(order_id, correlation_id, ReservationStatus.COMMITTED, "")

    async def restock(self, order_id: str, reason: str, correlation_id: str) -> Reservation:
        """Return a cancelled order's committed units to stock, once (idempotent: a
        restocked reservation answers unchanged; one never committed is a 409)."""
        return await self._settle(order_id, correlation_id, ReservationStatus.RESTOCKED, reason)

    async def _settle(
        self, order_id: str, correlation_id: str, target: ReservationStatus, reason: str
    ) -> Reservation:
        for attempt in range(INVENTORY_ATTEMPTS):
            now = utcnow()
            existing = await self.repo.reservation(order_id)
            if existing is None:
                raise NotFound("No reservation for this order", order_id=order_id)
            current, etag = existing
            if current.status == target:
                return current
            stocks = await self.repo.stock([line.sku for line in current.lines])
            records = {sku: rec for sku, (rec, _) in stocks.items()}
            payload: EventPayload
            if target == ReservationStatus.RELEASED:
                changed, updated = inventory.release(records, current, now, reason)
                payload = StockReleased(order_id=order_id, lines=current.lines, reason=reason)
            elif target == ReservationStatus.RESTOCKED:
                changed, updated = inventory.restock(records, current, now, reason)
                payload = StockReleased(
                    order_id=order_id,
                    lines=inventory.not_returned(current),
                    reason=f"restocked: {reason}"[:300],
                )
            else:
                changed, updated = inventory.commit(records, current, now)
                payload = StockCommitted(order_id=order_id, lines=current.lines)
            events = [
                catalog_event(payload, correlation_id),
                *level_events(stocks, changed, now, target.value, correlation_id),
            ]
            try:
                batch = await self.repo.save(
                    [(rec, stocks[sku][1]) for sku, rec in changed.items()], updated, etag, events
                )
            except StaleWrite:
                await backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written(list(changed.values()))
            return updated
        raise Unavailable("Stock is too contended right now; retry", order_id=order_id)

    async def restock_return(
        self, order_id: str, req: ReturnStock, correlation_id: str
    ) -> Reservation:
        """Put a customer return's units back on hand, once per return id: a retry answers
        the reservation unchanged; the same id with other lines, more units than the order
        committed less earlier returns, or an order not committed (or wholly restocked) is
        a 409 and changes nothing."""
        for attempt in range(INVENTORY_ATTEMPTS):
            now = utcnow()
            existing = await self.repo.reservation(order_id)
            if existing is None:
                raise NotFound("No reservation for this order", order_id=order_id)
            current, etag = existing
            if inventory.already_returned(current, req):
                return current
            ordered = {line.sku for line in current.lines}
            stocks = await self.repo.stock(sorted({ln.sku for ln in req.lines} & ordered))
            changed, updated = inventory.return_units(
                {sku: rec for sku, (rec, _) in stocks.items()}, current, req, now
            )
            returned = StockReturned(
                order_id=order_id,
                return_id=req.return_id,
                lines=updated.returned[req.return_id],
                reason=req.reason,
            )
            events = [
                catalog_event(returned, correlation_id),
                *level_events(stocks, changed, now, "returned", correlation_id),
            ]
            try:
                batch = await self.repo.save(
                    [(rec, stocks[sku][1]) for sku, rec in changed.items()], updated, etag, events
                )
            except StaleWrite:
                await backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written(list(changed.values()))
            return updated
        raise Unavailable("Stock is too contended right now; retry", order_id=order_id)

    async def on_order_event(self, event: EventEnvelope) -> None:
        """Settle an order's stock from its events: commit when paid, release the hold when
        its payment failed, and when it is cancelled release the hold or, if the units were
        committed (a paid order cancelled before shipping), put them back in stock once.
        Stock is only put back for an order the orders app says is cancelled (an event's word
        is not enough). Orders without a reservation are none of ours; redelivery is harmless
        (settling twice answers the settled reservation)."""
        data = OrderEventData.model_validate(event.data)
        existing = await self.repo.reservation(data.order_id)
        if existing is None:
            return
        reason = data.reason or data.status.value
        if data.status == OrderStatus.PAID:
            if existing[0].status in (ReservationStatus.COMMITTED, ReservationStatus.RESTOCKED):
                return  # the saga committed it already, or a late redelivery after a restock
            try:
                await self.commit(data.order_id, event.correlation_id)
            except inventory.InsufficientStock as exc:
                # The saga commits a paid order's stock itself; this event is the backstop.
                # A hold that lapsed while the saga's own commit is in flight reads as gone
                # here for a moment (chaos found one): ask again later — a redelivery finds
                # the reservation committed — rather than dead-letter it at once. If it is
                # really gone, the retries end in the dead-letter list for staff.
                raise LapsedHold(data.order_id) from exc
        elif data.status == OrderStatus.PAYMENT_FAILED:
            await self.release(data.order_id, reason, event.correlation_id)
        elif data.status == OrderStatus.CANCELLED:
            if existing[0].status in (ReservationStatus.RELEASED, ReservationStatus.RESTOCKED):
                return  # given back already: a redelivered cancellation changes nothing
            if existing[0].status != ReservationStatus.COMMITTED:
                await self.release(data.order_id, reason, event.correlation_id)
            elif self.order_facts is None or await self.order_facts.status(data.order_id) == (
                OrderStatus.CANCELLED
            ):
                await self.restock(data.order_id, reason, event.correlation_id)
            else:
                log.warning(
                    "cancel event not confirmed by orders; stock kept", order_id=data.order_id
                )

    async def get(self, order_id: str) -> Reservation:
        existing = await self.repo.reservation(order_id)
        if existing is None:
            raise NotFound("No reservation for this order", order_id=order_id)
        return inventory.effective_status(existing[0], utcnow())

    async def available(self, skus: list[str]) -> dict[str, int]:
        """Units free to sell per SKU now (on hand minus active holds, never below 0)."""
        stocks = await self.repo.stock(sorted(set(skus)))
        now = utcnow()
        return {
            sku: max(inventory.level(rec, now).available, 0) for sku, (rec, _) in stocks.items()
        }

    async def levels(
        self, products: list[Product], low_only: bool, after: str | None, limit: int
    ) -> bytes:
        """A page of every SKU's level (`inventory.catalog_levels`), by SKU after `after`,
        as `StockLevelPage` JSON. The pass over every SKU runs in a worker thread, so the
        app keeps answering (its health probe included) while it is built."""
        records = await self.repo.all_stock()
        return await asyncio.to_thread(_levels_page, records, products, low_only, after, limit)

    async def product_inventory(self, product: Product) -> ProductInventory:
        stocks = await self.repo.stock([v.sku for v in product.variants])
        now = utcnow()
        levels = [inventory.level(stocks[v.sku][0], now) for v in product.variants]
        return ProductInventory(
            product_id=product.product_id,
            variants=levels,
            available=sum(max(lv.available, 0) for lv in levels),
        )

    async def adjust(self, sku: str, adj: StockAdjustment, correlation_id: str) -> StockLevel:
        for attempt in range(INVENTORY_ATTEMPTS):
            now = utcnow()
            stocks = await self.repo.stock([sku])
            before, etag = stocks[sku]
            after = inventory.adjust(before, adj, now)
            events = level_events(stocks, {sku: after}, now, adj.reason, correlation_id)
            try:
                batch = await self.repo.save([(after, etag)], None, None, events)
            except StaleWrite:
                await backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written([after])
            return inventory.level(after, now)
        raise Unavailable("Stock is too contended right now; retry", sku=sku)


def _levels_page(
    records: list[StockRecord],
    products: list[Product],
    low_only: bool,
    after: str | None,
    limit: int,
) -> bytes:
    rows = inventory.catalog_levels(records, products, utcnow())
    if low_only:
        rows = [r for r in rows if r.low]
    rest = [r for r in rows if after is None or r.sku > after]
    page = rest[:limit]
    more = len(rest) > limit
    return (
        StockLevelPage(
            items=page, total=len(rows), next_after=page[-1].sku if more and page else None
        )
        .model_dump_json()
        .encode()
    )
