"""Catalog use cases. Dapr stays behind the protocols; rules stay in domain.py."""

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import uuid4

import structlog

from apps.catalog import domain, inventory
from apps.catalog.inventory import StockRecord
from apps.contracts.catalog import (
    Category,
    CategoryChanged,
    CategoryUpdate,
    Product,
    ProductArchived,
    ProductCreate,
    ProductCreated,
    ProductDeleted,
    ProductStatus,
    ProductUpdate,
    ProductUpdated,
    SeedBatch,
)
from apps.contracts.errors import Conflict, InvalidRequest, NotFound, Unavailable
from apps.contracts.events import EventEnvelope, EventPayload
from apps.contracts.inventory import (
    LowStock,
    ProductInventory,
    Reservation,
    ReservationStatus,
    ReserveRequest,
    StockAdjustment,
    StockCommitted,
    StockLevel,
    StockLevelChanged,
    StockReleased,
    StockReserved,
)
from apps.contracts.names import AppId
from apps.contracts.orders import OrderEventData, OrderPaid, OrderStatus

MAX_ATTEMPTS = 20
log = structlog.stdlib.get_logger("catalog.service")


class StaleWrite(Exception):
    """The product changed (or appeared) since it was read."""


class ProductRepository(Protocol):
    async def get(self, product_id: str) -> tuple[Product, str] | None: ...

    async def insert(self, product: Product, event: EventEnvelope) -> None: ...

    async def replace(self, product: Product, etag: str, event: EventEnvelope) -> None: ...

    async def delete(self, product_id: str, etag: str, event: EventEnvelope) -> None: ...

    async def update_many(
        self, changes: Sequence[tuple[Product, str]], processed_event_id: str
    ) -> None: ...

    async def was_processed(self, event_id: str) -> bool: ...


class EventRelay(Protocol):
    """Publishes events the repository committed with the state (the outbox)."""

    async def relay(self, event: EventEnvelope) -> None: ...


class SkuIndex(Protocol):
    async def index_skus(self, product: Product) -> None:
        """Claim the product's SKUs; Conflict if one belongs to another product."""
        ...


class ReadModel(Protocol):
    """Told of every committed change so this instance's reads show it at once."""

    def product_written(self, product: Product) -> None: ...

    def product_removed(self, product_id: str) -> None: ...

    def stock_written(self, records: list[StockRecord]) -> None: ...


class CatalogService:
    def __init__(
        self,
        repo: ProductRepository,
        relay: EventRelay,
        skus: SkuIndex,
        read_model: ReadModel | None = None,
    ) -> None:
        self.repo = repo
        self.relay = relay
        self.skus = skus
        self.read_model = read_model

    async def create(self, cmd: ProductCreate, correlation_id: str) -> tuple[Product, str, bool]:
        """Create once. A retry with the same id and content answers the existing product."""
        product_id = cmd.product_id or str(uuid4())
        existing = await self._existing(product_id, cmd)
        if existing is not None:
            return existing[0], existing[1], False
        product = domain.new_product(cmd, product_id, _now())
        event = _event(ProductCreated(product=product), correlation_id)
        await self.skus.index_skus(product)
        try:
            await self.repo.insert(product, event)
        except StaleWrite:  # created concurrently
            existing = await self._existing(product_id, cmd)
            if existing is None:
                raise
            return existing[0], existing[1], False
        await self.relay.relay(event)
        if self.read_model:
            self.read_model.product_written(product)
        created = await self.repo.get(product_id)
        assert created is not None
        return created[0], created[1], True

    async def _existing(self, product_id: str, cmd: ProductCreate) -> tuple[Product, str] | None:
        """The product if `cmd` retries its creation; Conflict if the id holds another one."""
        found = await self.repo.get(product_id)
        if found is None:
            return None
        if not domain.same_content(found[0], cmd):
            raise Conflict("A different product with this id exists", product_id=product_id)
        return found

    async def get(self, product_id: str) -> tuple[Product, str]:
        found = await self.repo.get(product_id)
        if found is None:
            raise NotFound("Product not found", product_id=product_id)
        return found

    async def update(
        self, product_id: str, update: ProductUpdate, if_match: str | None, correlation_id: str
    ) -> tuple[Product, str]:
        """Compare-and-set: the caller must send the ETag it read; a stale one is a 409."""
        if not if_match:
            raise InvalidRequest("If-Match header with the product's ETag is required")
        current, etag = await self.get(product_id)
        if etag != if_match:
            raise Conflict("The product changed since you read it", etag=etag)
        updated, changed = domain.apply_update(current, update, _now())
        payload: EventPayload
        if update.status == ProductStatus.ARCHIVED and current.status != ProductStatus.ARCHIVED:
            payload = ProductArchived(product_id=product_id)
        else:
            payload = ProductUpdated(product=updated, changed_fields=changed)
        event = _event(payload, correlation_id)
        if update.variants is not None:
            await self.skus.index_skus(updated)
        try:
            await self.repo.replace(updated, etag, event)
        except StaleWrite:
            raise Conflict("The product changed since you read it") from None
        await self.relay.relay(event)
        if self.read_model:
            self.read_model.product_written(updated)
        return await self.get(product_id)

    async def delete(self, product_id: str, if_match: str | None, correlation_id: str) -> None:
        if not if_match:
            raise InvalidRequest("If-Match header with the product's ETag is required")
        current, etag = await self.get(product_id)
        if etag != if_match:
            raise Conflict("The product changed since you read it", etag=etag)
        domain.ensure_deletable(current)
        event = _event(ProductDeleted(product_id=product_id), correlation_id)
        try:
            await self.repo.delete(product_id, etag, event)
        except StaleWrite:
            raise Conflict("The product changed since you read it") from None
        await self.relay.relay(event)
        if self.read_model:
            self.read_model.product_removed(product_id)

    async def on_order_paid(self, event: EventEnvelope) -> None:
        """Count purchases for popularity. Idempotent: each event id counts once.

        All products of the order change in one ETag-guarded transaction with the
        processed-event marker, so a concurrent duplicate delivery loses the race,
        re-reads, and finds the marker.
        """
        paid = OrderPaid.model_validate(event.data)
        product_ids = sorted({line.product_id for line in paid.items})
        for _ in range(MAX_ATTEMPTS):
            if await self.repo.was_processed(event.event_id):
                return
            changes = []
            for pid in product_ids:
                found = await self.repo.get(pid)
                if found is not None:  # a deleted product has nothing to count
                    changes.append((domain.count_purchases(found[0], paid.items), found[1]))
            try:
                await self.repo.update_many(changes, event.event_id)
            except StaleWrite:
                continue
            if self.read_model:
                for product, _ in changes:
                    self.read_model.product_written(product)
            return
        raise RuntimeError(f"could not apply {event.event_id}: too contended")


def _event(payload: EventPayload, correlation_id: str) -> EventEnvelope:
    return EventEnvelope.of(payload, correlation_id=correlation_id, source=AppId.CATALOG)


def _now() -> datetime:
    return datetime.now(UTC)


# -- inventory -------------------------------------------------------------------------------
class InventoryRepository(Protocol):
    async def index_skus(self, product: Product) -> None: ...

    async def stock(self, skus: list[str]) -> dict[str, tuple[StockRecord, str]]: ...

    async def reservation(self, order_id: str) -> tuple[Reservation, str] | None: ...

    async def save(
        self,
        stocks: list[tuple[StockRecord, str]],
        reservation: Reservation | None,
        reservation_etag: str | None,
        events: list[EventEnvelope],
    ) -> str: ...


class BatchPublisher(Protocol):
    async def relay(self, batch_key: str) -> None: ...


#: Compare-and-set retries under contention (jittered backoff between them).
INVENTORY_ATTEMPTS = 60


class InventoryService:
    def __init__(
        self,
        repo: InventoryRepository,
        outbox: BatchPublisher,
        default_ttl: timedelta,
        read_model: ReadModel | None = None,
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self.default_ttl = default_ttl
        self.read_model = read_model

    def _stock_written(self, records: list[StockRecord]) -> None:
        if self.read_model:
            self.read_model.stock_written(records)

    async def reserve(self, req: ReserveRequest, correlation_id: str) -> tuple[Reservation, bool]:
        """All lines or none; idempotent by order id (a retry answers the same reservation)."""
        for attempt in range(INVENTORY_ATTEMPTS):
            now = _now()
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
                _event(
                    StockReserved(
                        order_id=req.order_id, lines=req.lines, expires_at=reservation.expires_at
                    ),
                    correlation_id,
                ),
                *_level_events(stocks, changed, now, "reserved", correlation_id),
            ]
            try:
                batch = await self.repo.save(
                    [(rec, stocks[sku][1]) for sku, rec in changed.items()],
                    reservation,
                    existing[1] if existing else None,
                    events,
                )
            except StaleWrite:
                await _backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written(list(changed.values()))
            return reservation, True
        raise Unavailable("Stock is too contended right now; retry", order_id=req.order_id)

    async def release(self, order_id: str, reason: str, correlation_id: str) -> Reservation:
        """Idempotent: releasing a released reservation answers it unchanged."""
        return await self._settle(order_id, correlation_id, release_reason=reason)

    async def commit(self, order_id: str, correlation_id: str) -> Reservation:
        """Idempotent: committing a committed reservation answers it unchanged."""
        return await self._settle(order_id, correlation_id, release_reason=None)

    async def _settle(
        self, order_id: str, correlation_id: str, release_reason: str | None
    ) -> Reservation:
        target = (
            ReservationStatus.RELEASED
            if release_reason is not None
            else ReservationStatus.COMMITTED
        )
        for attempt in range(INVENTORY_ATTEMPTS):
            now = _now()
            existing = await self.repo.reservation(order_id)
            if existing is None:
                raise NotFound("No reservation for this order", order_id=order_id)
            current, etag = existing
            if current.status == target:
                return current
            stocks = await self.repo.stock([line.sku for line in current.lines])
            records = {sku: rec for sku, (rec, _) in stocks.items()}
            payload: EventPayload
            if release_reason is not None:
                changed, updated = inventory.release(records, current, now, release_reason)
                payload = StockReleased(
                    order_id=order_id, lines=current.lines, reason=release_reason
                )
            else:
                changed, updated = inventory.commit(records, current, now)
                payload = StockCommitted(order_id=order_id, lines=current.lines)
            events = [
                _event(payload, correlation_id),
                *_level_events(stocks, changed, now, target.value, correlation_id),
            ]
            try:
                batch = await self.repo.save(
                    [(rec, stocks[sku][1]) for sku, rec in changed.items()], updated, etag, events
                )
            except StaleWrite:
                await _backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written(list(changed.values()))
            return updated
        raise Unavailable("Stock is too contended right now; retry", order_id=order_id)

    async def on_order_event(self, event: EventEnvelope) -> None:
        """Settle an order's hold from its events: commit when paid, release when cancelled
        or its payment failed. Orders without a reservation are none of ours; redelivery is
        harmless (settling twice answers the settled reservation)."""
        data = OrderEventData.model_validate(event.data)
        if await self.repo.reservation(data.order_id) is None:
            return
        if data.status == OrderStatus.PAID:
            await self.commit(data.order_id, event.correlation_id)
        elif data.status in (OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED):
            try:
                await self.release(
                    data.order_id, data.reason or data.status.value, event.correlation_id
                )
            except Conflict:  # already committed: returning stock is the returns flow
                log.info("cancelled order's stock was already committed", order_id=data.order_id)

    async def get(self, order_id: str) -> Reservation:
        existing = await self.repo.reservation(order_id)
        if existing is None:
            raise NotFound("No reservation for this order", order_id=order_id)
        return inventory.effective_status(existing[0], _now())

    async def product_inventory(self, product: Product) -> ProductInventory:
        stocks = await self.repo.stock([v.sku for v in product.variants])
        now = _now()
        levels = [inventory.level(stocks[v.sku][0], now) for v in product.variants]
        return ProductInventory(
            product_id=product.product_id,
            variants=levels,
            available=sum(max(lv.available, 0) for lv in levels),
        )

    async def adjust(self, sku: str, adj: StockAdjustment, correlation_id: str) -> StockLevel:
        for attempt in range(INVENTORY_ATTEMPTS):
            now = _now()
            stocks = await self.repo.stock([sku])
            before, etag = stocks[sku]
            after = inventory.adjust(before, adj, now)
            events = _level_events(stocks, {sku: after}, now, adj.reason, correlation_id)
            try:
                batch = await self.repo.save([(after, etag)], None, None, events)
            except StaleWrite:
                await _backoff(attempt)
                continue
            await self.outbox.relay(batch)
            self._stock_written([after])
            return inventory.level(after, now)
        raise Unavailable("Stock is too contended right now; retry", sku=sku)


def _level_events(
    before: dict[str, tuple[StockRecord, str]],
    after: dict[str, StockRecord],
    now: datetime,
    reason: str,
    correlation_id: str,
) -> list[EventEnvelope]:
    events = []
    for sku, rec in after.items():
        lv = inventory.level(rec, now)
        events.append(
            _event(
                StockLevelChanged(
                    sku=sku,
                    product_id=rec.product_id,
                    on_hand=lv.on_hand,
                    reserved=lv.reserved,
                    available=lv.available,
                    reason=reason,
                ),
                correlation_id,
            )
        )
        if inventory.crossed_low_stock(before[sku][0], rec, now):
            events.append(
                _event(
                    LowStock(
                        sku=sku,
                        product_id=rec.product_id,
                        available=lv.available,
                        low_stock_threshold=rec.low_stock_threshold,
                    ),
                    correlation_id,
                )
            )
    return events


async def _backoff(attempt: int) -> None:
    """Jittered, growing pause so racing writers spread out instead of colliding again."""
    await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * (attempt + 1))))


# -- seeding ---------------------------------------------------------------------------------
class SeedRepository(Protocol):
    async def marker(self) -> dict[str, Any] | None: ...

    async def load(self, categories: list[Category], products: list[Product]) -> None: ...

    async def mark(self, marker: dict[str, Any]) -> None: ...


class SeedService:
    """Bulk load for `task seed`: batches, then a marker that says the catalog is seeded."""

    def __init__(self, repo: SeedRepository) -> None:
        self.repo = repo

    async def status(self) -> dict[str, Any] | None:
        return await self.repo.marker()

    async def load(self, batch: SeedBatch) -> int:
        await self.repo.load(batch.categories, batch.products)
        return len(batch.products)

    async def finish(self, products: int, seed: int) -> dict[str, Any]:
        marker = {"products": products, "seed": seed, "at": _now().isoformat()}
        await self.repo.mark(marker)
        return marker


# -- categories ------------------------------------------------------------------------------
class CategoryRepository(Protocol):
    async def all(self) -> dict[str, tuple[Category, str]]: ...

    async def insert(self, category: Category, event: EventEnvelope) -> None: ...

    async def replace(self, category: Category, etag: str, event: EventEnvelope) -> None: ...


class CategoryService:
    """Staff management of the category tree; the read model follows each change."""

    def __init__(self, repo: CategoryRepository, on_change: "CategorySink") -> None:
        self.repo = repo
        self.on_change = on_change

    async def create(self, category: Category, correlation_id: str) -> tuple[Category, str]:
        existing = await self.repo.all()
        if category.slug in existing:
            if existing[category.slug][0] == category:
                return existing[category.slug]  # a retried create
            raise Conflict("A category with this slug exists", slug=category.slug)
        parents = {slug: c.parent_slug for slug, (c, _) in existing.items()}
        domain.check_parent(category.slug, category.parent_slug, parents)
        try:
            await self.repo.insert(
                category, _event(CategoryChanged(category=category), correlation_id)
            )
        except StaleWrite:
            raise Conflict("A category with this slug exists", slug=category.slug) from None
        return await self._after_write(category.slug)

    async def update(
        self, slug: str, update: CategoryUpdate, if_match: str | None, correlation_id: str
    ) -> tuple[Category, str]:
        if not if_match:
            raise InvalidRequest("If-Match header with the category's ETag is required")
        existing = await self.repo.all()
        if slug not in existing:
            raise NotFound("Category not found", slug=slug)
        current, etag = existing[slug]
        if etag != if_match:
            raise Conflict("The category changed since you read it", etag=etag)
        changes = update.model_dump(exclude_unset=True)
        updated = current.model_copy(update=changes)
        if "parent_slug" in changes:
            parents = {s: c.parent_slug for s, (c, _) in existing.items()}
            domain.check_parent(slug, updated.parent_slug, parents)
        try:
            await self.repo.replace(
                updated, etag, _event(CategoryChanged(category=updated), correlation_id)
            )
        except StaleWrite:
            raise Conflict("The category changed since you read it") from None
        return await self._after_write(slug)

    async def _after_write(self, slug: str) -> tuple[Category, str]:
        current = await self.repo.all()
        category, etag = current[slug]
        self.on_change.categories_changed([c for c, _ in current.values()])
        return category, etag


class CategorySink(Protocol):
    def categories_changed(self, categories: list[Category]) -> None: ...
