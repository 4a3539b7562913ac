"""Pure review rules: who may change what, moderation, and the rating aggregates.

Only published reviews count toward a product's rating. An author's edit sends the review
back to moderation (its old rating leaves the aggregates until it is published again).
"""

from datetime import datetime

from apps.contracts.catalog import (
    Moderation,
    RatingSummary,
    Review,
    ReviewCreate,
    ReviewEdit,
    ReviewStatus,
)
from apps.contracts.errors import Conflict, NotFound, UnprocessableError

RS = ReviewStatus
MODERATION: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    RS.PENDING: frozenset({RS.PUBLISHED, RS.REJECTED}),
    RS.PUBLISHED: frozenset({RS.REJECTED}),  # a take-down
    RS.REJECTED: frozenset({RS.PUBLISHED}),  # an appeal upheld
}


def new_review(
    review_id: str, product_id: str, cmd: ReviewCreate, verified: bool, now: datetime
) -> Review:
    return Review(
        review_id=review_id,
        product_id=product_id,
        user_id=cmd.user_id,
        rating=cmd.rating,
        title=cmd.title,
        body=cmd.body,
        status=RS.PENDING,
        verified_purchase=verified,
        created_at=now,
        updated_at=now,
    )


def edit(review: Review, cmd: ReviewEdit, now: datetime) -> Review:
    if review.user_id != cmd.user_id:
        # Someone else's review: the same answer as a missing one (no disclosure).
        raise NotFound("Review not found", review_id=review.review_id)
    changes = cmd.model_dump(exclude_unset=True, exclude={"user_id"})
    if not changes:
        raise UnprocessableError("Nothing to change: send a rating, title or body")
    return review.model_copy(
        update={**changes, "status": RS.PENDING, "updated_at": now, "moderation_note": ""}
    )


def moderate(review: Review, decision: Moderation, now: datetime) -> Review:
    if decision.status not in MODERATION[review.status]:
        raise Conflict(
            f"A {review.status} review cannot become {decision.status}",
            current_status=review.status,
        )
    return review.model_copy(
        update={"status": decision.status, "moderation_note": decision.note, "updated_at": now}
    )


def restate(summary: RatingSummary, before: Review | None, after: Review | None) -> RatingSummary:
    """The aggregates after a review changed from `before` to `after` (None: absent)."""
    histogram = dict(summary.histogram)
    count, total = summary.count, summary.total
    for review, sign in ((before, -1), (after, 1)):
        if review is not None and review.status == RS.PUBLISHED:
            histogram[str(review.rating)] += sign
            count += sign
            total += sign * review.rating
    return RatingSummary(count=count, total=total, histogram=histogram)
