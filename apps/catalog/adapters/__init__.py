"""Dapr I/O of the catalog, one module per area (all state goes through JsonStateStore)."""

from apps.catalog.adapters.categories import DaprCategoryRepository
from apps.catalog.adapters.inventory import BatchRelay, DaprInventoryRepository
from apps.catalog.adapters.products import DaprProductRepository, OutboxRelay, OutboxSweeper
from apps.catalog.adapters.read_model import DaprIndexSource
from apps.catalog.adapters.reviews import DaprReviewRepository
from apps.catalog.adapters.seeding import DaprSeedRepository

__all__ = [
    "BatchRelay",
    "DaprCategoryRepository",
    "DaprIndexSource",
    "DaprInventoryRepository",
    "DaprProductRepository",
    "DaprReviewRepository",
    "DaprSeedRepository",
    "OutboxRelay",
    "OutboxSweeper",
]
