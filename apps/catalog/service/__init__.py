"""Catalog use cases, one module per area; Dapr stays behind the protocols they name."""

from apps.catalog.service.categories import CategoryRepository, CategoryService, CategorySink
from apps.catalog.service.inventory import (
    BatchPublisher,
    InventoryRepository,
    InventoryService,
)
from apps.catalog.service.products import (
    CatalogService,
    EventRelay,
    ProductRepository,
    ReadModel,
    SkuIndex,
    StaleWrite,
    catalog_event,
)
from apps.catalog.service.reviews import RatingSink, ReviewRepository, ReviewService
from apps.catalog.service.seeding import SeedRepository, SeedService

__all__ = [
    "BatchPublisher",
    "CatalogService",
    "CategoryRepository",
    "CategoryService",
    "CategorySink",
    "EventRelay",
    "InventoryRepository",
    "InventoryService",
    "ProductRepository",
    "RatingSink",
    "ReadModel",
    "ReviewRepository",
    "ReviewService",
    "SeedRepository",
    "SeedService",
    "SkuIndex",
    "StaleWrite",
    "catalog_event",
]
