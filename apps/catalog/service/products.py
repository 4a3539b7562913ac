"""Product use cases (create, update, delete, purchases)."""

from collections.abc import Sequence
from typing import Protocol
from uuid import uuid4

import structlog

from apps.catalog import domain
from apps.catalog.inventory import StockRecord
from apps.contracts.catalog import (
    Product,
    ProductArchived,
    ProductCreate,
    ProductCreated,
    ProductDeleted,
    ProductStatus,
    ProductUpdate,
    ProductUpdated,
)
from apps.contracts.errors import Conflict, NotFound, UnprocessableError
from apps.contracts.events import EventEnvelope, EventPayload, utcnow
from apps.contracts.names import AppId
from apps.contracts.orders import OrderPaid

MAX_ATTEMPTS = 20
log = structlog.stdlib.get_logger("catalog.service")


class StaleWrite(Exception):
    """The product changed (or appeared) since it was read."""


class ProductRepository(Protocol):
    async def get(self, product_id: str) -> tuple[Product, str] | None: ...

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        """The live products among `product_ids` (one read for them all)."""
        ...

    async def insert(self, product: Product, event: EventEnvelope) -> None: ...

    async def replace(self, product: Product, etag: str, event: EventEnvelope) -> None: ...

    async def delete(self, product_id: str, etag: str, event: EventEnvelope) -> None: ...

    async def update_many(
        self,
        changes: Sequence[tuple[Product, str]],
        processed_event_id: str,
        buyer: str | None = None,
    ) -> None:
        """Write the products, mark the event processed and (for a signed-in buyer) record
        who bought what, all in one transaction."""
        ...

    async def was_processed(self, event_id: str) -> bool: ...


class EventRelay(Protocol):
    """Publishes events the repository committed with the state (the outbox)."""

    async def relay(self, event: EventEnvelope) -> None: ...


class SkuIndex(Protocol):
    async def claim_identifiers(self, product: Product) -> None:
        """Claim the product's slug and SKUs; Conflict if one belongs to another product."""
        ...


class ReadModel(Protocol):
    """Told of every committed change so this instance's reads show it at once."""

    def product_written(self, product: Product, etag: str | None = None) -> None:
        """`etag`: the store's tag of exactly this version, when it was read back with it."""
        ...

    def product_removed(self, product_id: str) -> None: ...

    def stock_written(self, records: list[StockRecord]) -> None: ...


class CategoryLookup(Protocol):
    async def category_exists(self, slug: str) -> bool: ...


class CatalogService:
    def __init__(
        self,
        repo: ProductRepository,
        relay: EventRelay,
        skus: SkuIndex,
        categories: CategoryLookup,
        read_model: ReadModel | None = None,
    ) -> None:
        self.repo = repo
        self.relay = relay
        self.skus = skus
        self.categories = categories
        self.read_model = read_model

    async def _known_category(self, slug: str) -> None:
        if not await self.categories.category_exists(slug):
            raise UnprocessableError("Unknown category", category_slug=slug)

    async def create(self, cmd: ProductCreate, correlation_id: str) -> tuple[Product, str, bool]:
        """Create once. A retry with the same id and content answers the existing product."""
        product_id = cmd.product_id or str(uuid4())
        existing = await self._existing(product_id, cmd)
        if existing is not None:
            return existing[0], existing[1], False
        await self._known_category(cmd.category_slug)
        product = domain.new_product(cmd, product_id, utcnow())
        event = catalog_event(ProductCreated(product=product), correlation_id)
        await self.skus.claim_identifiers(product)
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
        if self.read_model:  # the product with its tag, as the store holds them now
            self.read_model.product_written(*created)
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

    async def find_many(self, product_ids: list[str]) -> dict[str, Product]:
        """The products that exist among `product_ids` (one bulk read, each id once)."""
        return await self.repo.get_many(list(dict.fromkeys(product_ids)))

    async def update(
        self, product_id: str, update: ProductUpdate, if_match: str | None, correlation_id: str
    ) -> tuple[Product, str]:
        """Compare-and-set: the caller must send the ETag it read; a stale one is a 409."""
        expected = domain.require_if_match("product", if_match)
        current, etag = await self.get(product_id)
        domain.ensure_current("product", etag, expected)
        if update.category_slug is not None and update.category_slug != current.category_slug:
            await self._known_category(update.category_slug)
        updated, changed = domain.apply_update(current, update, utcnow())
        payload: EventPayload
        if update.status == ProductStatus.ARCHIVED and current.status != ProductStatus.ARCHIVED:
            payload = ProductArchived(product_id=product_id)
        else:
            payload = ProductUpdated(product=updated, changed_fields=changed)
        event = catalog_event(payload, correlation_id)
        if update.variants is not None or updated.slug != current.slug:
            await self.skus.claim_identifiers(updated)
        try:
            await self.repo.replace(updated, etag, event)
        except StaleWrite:
            raise Conflict("The product changed since you read it") from None
        await self.relay.relay(event)
        if self.read_model:
            self.read_model.product_written(updated)
        latest = await self.get(product_id)
        if self.read_model:  # the product with its tag, as the store holds them now
            self.read_model.product_written(*latest)
        return latest

    async def delete(self, product_id: str, if_match: str | None, correlation_id: str) -> None:
        expected = domain.require_if_match("product", if_match)
        current, etag = await self.get(product_id)
        domain.ensure_current("product", etag, expected)
        domain.ensure_deletable(current)
        event = catalog_event(ProductDeleted(product_id=product_id), correlation_id)
        try:
            await self.repo.delete(product_id, etag, event)
        except StaleWrite:
            raise Conflict("The product changed since you read it") from None
        await self.relay.relay(event)
        if self.read_model:
            self.read_model.product_removed(product_id)

    async def on_order_paid(self, event: EventEnvelope) -> None:
        """Count purchases for popularity and remember who bought what (verified-purchase
        reviews). Idempotent: each event id counts once.

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
                await self.repo.update_many(changes, event.event_id, paid.user_id)
            except StaleWrite:
                continue
            if self.read_model:
                for product, _ in changes:
                    self.read_model.product_written(product)
            return
        raise RuntimeError(f"could not apply {event.event_id}: too contended")


def catalog_event(payload: EventPayload, correlation_id: str) -> EventEnvelope:
    return EventEnvelope.of(payload, correlation_id=correlation_id, source=AppId.CATALOG)
