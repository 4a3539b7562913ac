"""Bulk load of generated data (`task seed`)."""

from typing import Any, Protocol

from apps.contracts.catalog import (
    Category,
    Product,
    SeedBatch,
)
from apps.contracts.events import utcnow


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
        marker = {"products": products, "seed": seed, "at": utcnow().isoformat()}
        await self.repo.mark(marker)
        return marker
