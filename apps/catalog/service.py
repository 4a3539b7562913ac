"""Catalog use cases. Dapr stays behind the protocols; rules stay in domain.py."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from uuid import uuid4

from apps.catalog import domain
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
from apps.contracts.errors import Conflict, InvalidRequest, NotFound
from apps.contracts.events import EventEnvelope, EventPayload
from apps.contracts.names import AppId
from apps.contracts.orders import OrderPaid

MAX_ATTEMPTS = 20


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


class CatalogService:
    def __init__(self, repo: ProductRepository, relay: EventRelay) -> None:
        self.repo = repo
        self.relay = relay

    async def create(self, cmd: ProductCreate, correlation_id: str) -> tuple[Product, str, bool]:
        """Create once. A retry with the same id and content answers the existing product."""
        product_id = cmd.product_id or str(uuid4())
        product = domain.new_product(cmd, product_id, _now())
        event = _event(ProductCreated(product=product), correlation_id)
        try:
            await self.repo.insert(product, event)
        except StaleWrite:
            found = await self.repo.get(product_id)
            if found and domain.same_content(found[0], cmd):
                return found[0], found[1], False
            raise Conflict(
                "A different product with this id exists", product_id=product_id
            ) from None
        await self.relay.relay(event)
        created = await self.repo.get(product_id)
        assert created is not None
        return created[0], created[1], True

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
        try:
            await self.repo.replace(updated, etag, event)
        except StaleWrite:
            raise Conflict("The product changed since you read it") from None
        await self.relay.relay(event)
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
                return
            except StaleWrite:
                continue
        raise RuntimeError(f"could not apply {event.event_id}: too contended")


def _event(payload: EventPayload, correlation_id: str) -> EventEnvelope:
    return EventEnvelope.of(payload, correlation_id=correlation_id, source=AppId.CATALOG)


def _now() -> datetime:
    return datetime.now(UTC)
