"""Review use cases: one review per user per product, moderation, rating aggregates.

Each change commits the review, the author claim (`review-by:{product}:{user}`, insert-only:
the one-per-user rule holds under races) and the product's aggregates in one ETag-guarded
transaction; contention re-reads and decides again.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from apps.catalog import reviews
from apps.catalog.service.products import StaleWrite
from apps.contracts.catalog import (
    Moderation,
    ProductStatus,
    RatingSummary,
    Review,
    ReviewCreate,
    ReviewEdit,
    ReviewPage,
    ReviewStatus,
)
from apps.contracts.errors import Conflict, NotFound, Unavailable

ATTEMPTS = 30


class ReviewRepository(Protocol):
    async def product_status(self, product_id: str) -> ProductStatus | None: ...

    async def get(self, review_id: str) -> tuple[Review, str] | None: ...

    async def author_claimed(self, product_id: str, user_id: str) -> bool: ...

    async def has_purchased(self, user_id: str, product_id: str) -> bool: ...

    async def stats(self, product_id: str) -> tuple[RatingSummary, str | None]: ...

    async def save(
        self,
        before: tuple[Review, str] | None,
        after: Review | None,
        stats: RatingSummary,
        stats_etag: str | None,
    ) -> None: ...

    async def published(self, product_id: str) -> list[Review]: ...

    async def with_status(self, status: ReviewStatus) -> list[Review]: ...


class RatingSink(Protocol):
    def rating_changed(self, product_id: str, summary: RatingSummary) -> None: ...


class ReviewService:
    def __init__(self, repo: ReviewRepository, read_model: RatingSink | None = None) -> None:
        self.repo = repo
        self.read_model = read_model

    async def create(self, product_id: str, cmd: ReviewCreate) -> Review:
        """Pending until moderated. One per user and product (a second is a 409)."""
        if await self.repo.product_status(product_id) != ProductStatus.ACTIVE:
            raise NotFound("Product not found", product_id=product_id)
        verified = await self.repo.has_purchased(cmd.user_id, product_id)
        review = reviews.new_review(str(uuid.uuid4()), product_id, cmd, verified, _now())
        for _ in range(ATTEMPTS):
            if await self.repo.author_claimed(product_id, cmd.user_id):
                raise Conflict("You have already reviewed this product", product_id=product_id)
            stats, etag = await self.repo.stats(product_id)
            try:
                await self.repo.save(None, review, reviews.restate(stats, None, review), etag)
            except StaleWrite:
                continue
            return review
        raise Unavailable("Reviews are busy; retry", product_id=product_id)

    async def edit(self, review_id: str, cmd: ReviewEdit) -> Review:
        return await self._change(review_id, lambda r: reviews.edit(r, cmd, _now()))

    async def moderate(self, review_id: str, decision: Moderation) -> Review:
        return await self._change(review_id, lambda r: reviews.moderate(r, decision, _now()))

    async def delete(self, review_id: str, user_id: str | None) -> None:
        """By its author (`user_id`) or by staff (`user_id` None)."""

        def remove(r: Review) -> None:
            if user_id is not None and r.user_id != user_id:
                raise NotFound("Review not found", review_id=review_id)
            return None  # delete

        await self._change(review_id, remove)

    async def _change(self, review_id: str, change: Callable[[Review], Review | None]) -> Review:
        for _ in range(ATTEMPTS):
            found = await self.repo.get(review_id)
            if found is None:
                raise NotFound("Review not found", review_id=review_id)
            before = found[0]
            after = change(before)  # a Review, or None to delete
            stats, etag = await self.repo.stats(before.product_id)
            summary = reviews.restate(stats, before, after)
            try:
                await self.repo.save(found, after, summary, etag)
            except StaleWrite:
                continue
            if self.read_model is not None:
                self.read_model.rating_changed(before.product_id, summary)
            return after or before
        raise Unavailable("Reviews are busy; retry", review_id=review_id)

    async def page(self, product_id: str, sort: str, page: int, limit: int) -> ReviewPage:
        if await self.repo.product_status(product_id) is None:
            raise NotFound("Product not found", product_id=product_id)
        stats, _ = await self.repo.stats(product_id)
        # The aggregates count the published reviews (written in the same transaction as
        # every review): none, or a page past the last, needs no query of the store.
        start = (page - 1) * limit
        items = await self.repo.published(product_id) if stats.count > start else []
        key = {
            "newest": lambda r: r.created_at.timestamp(),
            "oldest": lambda r: -r.created_at.timestamp(),
            "rating_desc": lambda r: (r.rating, r.created_at.timestamp()),
            "rating_asc": lambda r: (-r.rating, r.created_at.timestamp()),
        }[sort]
        items.sort(key=key, reverse=True)
        return ReviewPage(
            items=items[start : start + limit],
            total=len(items) if items else stats.count,
            page=page,
            limit=limit,
            average=stats.average,
            count=stats.count,
            histogram=stats.histogram,
        )

    async def queue(self, status: ReviewStatus, page: int, limit: int) -> list[Review]:
        items = sorted(await self.repo.with_status(status), key=lambda r: r.created_at)
        start = (page - 1) * limit
        return items[start : start + limit]


def _now() -> datetime:
    return datetime.now(UTC)
