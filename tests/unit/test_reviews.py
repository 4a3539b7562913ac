"""Review rules: authorship, moderation transitions, and aggregates over published ones."""

from datetime import UTC, datetime

import pytest

from apps.catalog import reviews
from apps.contracts.catalog import Moderation, RatingSummary, ReviewCreate, ReviewEdit
from apps.contracts.errors import Conflict, NotFound, UnprocessableError

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def review(rating: int = 4, user: str = "u1"):  # type: ignore[no-untyped-def]
    cmd = ReviewCreate(user_id=user, rating=rating, title="Good", body="Works well")
    return reviews.new_review("r1", "p1", cmd, False, NOW)


def test_only_published_reviews_count() -> None:
    pending = review(5)
    stats = reviews.restate(RatingSummary(), None, pending)
    assert stats.count == 0
    published = reviews.moderate(pending, Moderation(status="published"), NOW)
    stats = reviews.restate(stats, pending, published)
    assert (stats.count, stats.total, stats.histogram["5"], stats.average) == (1, 5, 1, 5)
    other = reviews.moderate(review(2, "u2"), Moderation(status="published"), NOW)
    stats = reviews.restate(stats, None, other)
    assert str(stats.average) == "3.50"
    edited = reviews.edit(published, ReviewEdit(user_id="u1", rating=1), NOW)
    assert edited.status == "pending"
    stats = reviews.restate(stats, published, edited)  # back in moderation: leaves the figures
    assert (stats.count, stats.total) == (1, 2)
    stats = reviews.restate(stats, other, None)  # deleted
    assert stats.count == 0 and stats.average == 0


def test_moderation_transitions() -> None:
    pending = review()
    rejected = reviews.moderate(pending, Moderation(status="rejected", note="spam"), NOW)
    assert rejected.moderation_note == "spam"
    assert reviews.moderate(rejected, Moderation(status="published"), NOW).status == "published"
    with pytest.raises(Conflict):
        reviews.moderate(pending, Moderation(status="pending"), NOW)


def test_only_the_author_edits_and_an_edit_changes_something() -> None:
    with pytest.raises(NotFound):
        reviews.edit(review(), ReviewEdit(user_id="someone-else", title="Mine now"), NOW)
    with pytest.raises(UnprocessableError):
        reviews.edit(review(), ReviewEdit(user_id="u1"), NOW)


def test_bad_reviews_are_refused() -> None:
    with pytest.raises(ValueError):
        ReviewCreate(user_id="u", rating=6, title="x", body="y")
    with pytest.raises(ValueError):
        ReviewCreate(user_id="u", rating=3, title=" ", body="y")
