"""Fakes of the apps' ports: same protocols, in memory, with ETags like the real store."""

import copy
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from actors.order import logic
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import Product
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.orders import (
    ActorError,
    ActorReply,
    CreateOrder,
    Order,
    OrderStatus,
    OrderSummary,
    TransitionRequest,
)

_etags = itertools.count(1)


class FakeProductRepository:
    def __init__(self) -> None:
        self.docs: dict[str, tuple[Product, str]] = {}
        self.processed: set[str] = set()
        self.purchases: set[tuple[str, str]] = set()
        self.outbox: list[EventEnvelope] = []
        self.fail_next_update_many = 0

    async def get(self, product_id: str) -> tuple[Product, str] | None:
        found = self.docs.get(product_id)
        return copy.deepcopy(found) if found else None

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        return {p: copy.deepcopy(self.docs[p][0]) for p in product_ids if p in self.docs}

    async def insert(self, product: Product, event: EventEnvelope) -> None:
        if product.product_id in self.docs:
            raise StaleWrite(product.product_id)
        self.docs[product.product_id] = (product, str(next(_etags)))
        self.outbox.append(event)

    async def replace(self, product: Product, etag: str, event: EventEnvelope) -> None:
        current = self.docs.get(product.product_id)
        if current is None or current[1] != etag:
            raise StaleWrite(product.product_id)
        self.docs[product.product_id] = (product, str(next(_etags)))
        self.outbox.append(event)

    async def delete(self, product_id: str, etag: str, event: EventEnvelope) -> None:
        current = self.docs.get(product_id)
        if current is None or current[1] != etag:
            raise StaleWrite(product_id)
        del self.docs[product_id]
        self.outbox.append(event)

    async def update_many(
        self,
        changes: Sequence[tuple[Product, str]],
        processed_event_id: str,
        buyer: str | None = None,
    ) -> None:
        if self.fail_next_update_many:
            self.fail_next_update_many -= 1
            # Someone else wrote one of the products in between.
            for pid in list(self.docs):
                product, _ = self.docs[pid]
                self.docs[pid] = (product, str(next(_etags)))
            raise StaleWrite(processed_event_id)
        for product, etag in changes:
            if self.docs[product.product_id][1] != etag:
                raise StaleWrite(product.product_id)
        for product, _ in changes:
            self.docs[product.product_id] = (product, str(next(_etags)))
            if buyer is not None:
                self.purchases.add((buyer, product.product_id))
        self.processed.add(processed_event_id)

    async def was_processed(self, event_id: str) -> bool:
        return event_id in self.processed


class FakeRelay:
    def __init__(self) -> None:
        self.relayed: list[EventEnvelope] = []

    async def relay(self, event: EventEnvelope) -> None:
        self.relayed.append(event)


class FakeOrderActors:
    """Runs the real state machine (actors.order.logic) in memory, like one actor per id."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    async def create(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        if order_id in self.orders:
            return ActorReply(ok=True, order=self.orders[order_id])
        applied = logic.create(CreateOrder.model_validate(payload), utcnow())
        self.orders[order_id] = applied.order
        return ActorReply(ok=True, order=applied.order)

    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        if order_id not in self.orders:
            return ActorReply(ok=False, error=ActorError(code="RESOURCE_NOT_FOUND", message="no"))
        decision = logic.transition(
            self.orders[order_id], TransitionRequest.model_validate(payload), utcnow()
        )
        if isinstance(decision, logic.Rejected):
            return ActorReply(ok=False, order=self.orders[order_id], error=decision.error)
        self.orders[order_id] = decision.order
        return ActorReply(ok=True, order=decision.order)

    async def get(self, order_id: str) -> ActorReply:
        if order_id not in self.orders:
            return ActorReply(
                ok=False, error=ActorError(code="RESOURCE_NOT_FOUND", message="Order not found")
            )
        return ActorReply(ok=True, order=self.orders[order_id])


class FakeSequences:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def next(self, name: str) -> int:
        self.values[name] = self.values.get(name, 0) + 1
        return self.values[name]


class FakeSkuIndex:
    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    async def claim_identifiers(self, product: Product) -> None:
        from apps.contracts.errors import Conflict

        if self.owner.setdefault(f"slug:{product.slug}", product.product_id) != product.product_id:
            raise Conflict("slug already used by another product", slug=product.slug)
        for v in product.variants:
            if self.owner.setdefault(v.sku, product.product_id) != product.product_id:
                raise Conflict("SKU already used by another product", sku=v.sku)


class FakeCategories:
    """Every category exists but the ones named `missing`."""

    def __init__(self, missing: set[str] | None = None) -> None:
        self.missing = missing or set()

    async def category_exists(self, slug: str) -> bool:
        return slug not in self.missing


class FakeOrderViews:
    """The order projection in memory, with the adapter's compare-and-set contract."""

    def __init__(self) -> None:
        self.views: dict[str, OrderSummary] = {}

    async def save_if_newer(
        self, order_id: str, build: Callable[[OrderSummary | None], OrderSummary | None]
    ) -> bool:
        view = build(self.views.get(order_id))
        if view is None:
            return False
        self.views[order_id] = view
        return True

    async def find(
        self, user_id: str | None, statuses: list[OrderStatus] | None
    ) -> list[OrderSummary]:
        found = [
            v
            for v in self.views.values()
            if (user_id is None or v.user_id == user_id) and (not statuses or v.status in statuses)
        ]
        return sorted(found, key=lambda v: v.created_at, reverse=True)

    async def by_number(self, order_number: str) -> OrderSummary | None:
        return next((v for v in self.views.values() if v.order_number == order_number), None)

    async def ids(self) -> list[str]:
        return list(self.views)
