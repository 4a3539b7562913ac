"""In-memory doubles of the analytics ports (`SalesRecords`, `Catalog`)."""

import copy
from collections.abc import Callable
from typing import Any

from apps.backoffice.analytics.domain import Record


class MemorySalesRecords:
    def __init__(self) -> None:
        self.orders: dict[str, Record] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.writes = 0

    async def update(self, order_id: str, decide: Callable[[Record | None], Record | None]) -> bool:
        current = self.orders.get(order_id)
        new = decide(copy.deepcopy(current) if current is not None else None)
        if new is None:
            return False
        self.orders[order_id] = copy.deepcopy(new)
        self.writes += 1
        return True

    async def all_orders(self) -> list[Record]:
        return [copy.deepcopy(r) for r in self.orders.values()]

    async def add_batch(self, batch_id: str, document: dict[str, Any]) -> bool:
        if batch_id in self.batches:
            return False
        self.batches[batch_id] = copy.deepcopy(document)
        return True

    async def all_batches(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.batches.values()]


class FixedCatalog:
    def __init__(self, categories: dict[str, str]) -> None:
        self.known = categories
        self.asked: list[list[str]] = []

    async def categories(self, product_ids: list[str]) -> dict[str, str]:
        self.asked.append(list(product_ids))
        return {p: self.known[p] for p in product_ids if p in self.known}
