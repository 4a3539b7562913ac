"""Staff management of the category tree."""

from typing import Protocol

from apps.catalog import domain
from apps.catalog.service.products import StaleWrite, catalog_event
from apps.contracts.catalog import (
    Category,
    CategoryChanged,
    CategoryUpdate,
)
from apps.contracts.errors import Conflict, NotFound
from apps.contracts.events import EventEnvelope


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
                category, catalog_event(CategoryChanged(category=category), correlation_id)
            )
        except StaleWrite:
            raise Conflict("A category with this slug exists", slug=category.slug) from None
        return await self._after_write(category.slug)

    async def update(
        self, slug: str, update: CategoryUpdate, if_match: str | None, correlation_id: str
    ) -> tuple[Category, str]:
        expected = domain.require_if_match("category", if_match)
        existing = await self.repo.all()
        if slug not in existing:
            raise NotFound("Category not found", slug=slug)
        current, etag = existing[slug]
        domain.ensure_current("category", etag, expected)
        changes = update.model_dump(exclude_unset=True)
        updated = current.model_copy(update=changes)
        if "parent_slug" in changes:
            parents = {s: c.parent_slug for s, (c, _) in existing.items()}
            domain.check_parent(slug, updated.parent_slug, parents)
        try:
            await self.repo.replace(
                updated, etag, catalog_event(CategoryChanged(category=updated), correlation_id)
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
