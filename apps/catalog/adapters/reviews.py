"""Reviews, the one-review-per-user claims and the rating aggregates."""

from typing import Any

from apps.catalog.adapters.products import product_key, purchase_key
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import (
    ProductStatus,
    RatingSummary,
    Review,
    ReviewStatus,
)
from apps.platform.state import Delete, EtagMismatch, JsonStateStore, Upsert


def review_key(review_id: str) -> str:
    return f"review:{review_id}"


def review_author_key(product_id: str, user_id: str) -> str:
    return f"review-by:{product_id}:{user_id}"


def review_stats_key(product_id: str) -> str:
    return f"review-stats:{product_id}"


class DaprReviewRepository:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def product_status(self, product_id: str) -> ProductStatus | None:
        found = await self.store.get(product_key(product_id))
        if found is None or found.value.get("deleted"):
            return None
        return ProductStatus(found.value["product"]["status"])

    async def get(self, review_id: str) -> tuple[Review, str] | None:
        found = await self.store.get(review_key(review_id))
        return (Review.model_validate(found.value["review"]), found.etag) if found else None

    async def has_purchased(self, user_id: str, product_id: str) -> bool:
        return await self.store.get(purchase_key(user_id, product_id)) is not None

    async def author_claimed(self, product_id: str, user_id: str) -> bool:
        return await self.store.get(review_author_key(product_id, user_id)) is not None

    async def stats(self, product_id: str) -> tuple[RatingSummary, str | None]:
        found = await self.store.get(review_stats_key(product_id))
        if found is None:
            return RatingSummary(), None
        return RatingSummary.model_validate(found.value["summary"]), found.etag

    async def save(
        self,
        before: tuple[Review, str] | None,
        after: Review | None,
        stats: RatingSummary,
        stats_etag: str | None,
    ) -> None:
        review = after or (before[0] if before else None)
        assert review is not None
        ops: list[Upsert | Delete] = []
        if after is None and before is not None:  # delete: free the author's slot too
            ops += [
                Delete(review_key(review.review_id), before[1]),
                Delete(review_author_key(review.product_id, review.user_id)),
            ]
        elif before is None:  # create: claim the author's slot, insert-only
            ops += [
                Upsert(review_key(review.review_id), _review_doc(review), insert_only=True),
                Upsert(
                    review_author_key(review.product_id, review.user_id),
                    {"review_id": review.review_id},
                    insert_only=True,
                ),
            ]
        else:
            ops.append(Upsert(review_key(review.review_id), _review_doc(review), before[1]))
        ops.append(
            Upsert(
                review_stats_key(review.product_id),
                {
                    "kind": "review-stats",
                    "product_id": review.product_id,
                    "summary": stats.model_dump(mode="json"),
                },
                stats_etag,
                insert_only=stats_etag is None,
            )
        )
        try:
            await self.store.transact(ops)
        except EtagMismatch as exc:
            raise StaleWrite(review.review_id) from exc

    async def published(self, product_id: str) -> list[Review]:
        return await self._find(
            {
                "AND": [
                    {"EQ": {"kind": "review"}},
                    {"EQ": {"review.product_id": product_id}},
                    {"EQ": {"review.status": ReviewStatus.PUBLISHED.value}},
                ]
            }
        )

    async def with_status(self, status: ReviewStatus) -> list[Review]:
        return await self._find(
            {"AND": [{"EQ": {"kind": "review"}}, {"EQ": {"review.status": status.value}}]}
        )

    async def _find(self, filter_: dict[str, Any]) -> list[Review]:
        return [
            Review.model_validate(doc.value["review"])
            for doc in await self.store.scan(filter_, "review.review_id")
        ]

    async def all_stats(self) -> dict[str, RatingSummary]:
        return {
            doc.value["product_id"]: RatingSummary.model_validate(doc.value["summary"])
            for doc in await self.store.scan({"EQ": {"kind": "review-stats"}}, "product_id")
        }


def _review_doc(review: Review) -> dict[str, Any]:
    return {"kind": "review", "review": review.model_dump(mode="json")}
