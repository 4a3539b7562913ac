"""Merchandising rules: low-stock alerts from inventory events (in any delivery order), the
reorder quantity, decisions on a price suggestion, the catalog update that applies a price,
and the fraud review queue's states and order."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.backoffice import merchandising as rules
from apps.backoffice.merchandising import Decision, StockDoc, Verdict
from apps.backoffice.merchandising_api import router
from apps.contracts.fraud import Contribution
from apps.contracts.identity import Principal, Role
from apps.contracts.merchandising import (
    FraudReviewRequested,
    RestockAlert,
    ReviewState,
    SuggestionStatus,
)
from apps.platform.context import CONTEXT_HEADER, sign_context
from apps.platform.http import install_common

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _level(doc: StockDoc | None, available: int, at: datetime) -> StockDoc | None:
    return rules.on_level(doc, "SKU-1", "p-1", available + 2, 2, available, at)


def _low(doc: StockDoc | None, available: int, at: datetime) -> StockDoc | None:
    return rules.on_low_stock(doc, "SKU-1", "p-1", available, 5, at)


# -- alerts -------------------------------------------------------------------------------
def test_an_alert_is_raised_by_low_stock_and_cleared_by_a_recovered_level() -> None:
    doc = _level(None, 20, T0)
    assert doc is not None and doc.alert is None
    doc = _level(doc, 4, T0 + timedelta(seconds=1))
    assert doc is not None
    doc = _low(doc, 4, T0 + timedelta(seconds=1))
    assert doc is not None and doc.alert is not None
    assert (doc.alert.available, doc.alert.low_stock_threshold) == (4, 5)
    # still low: the alert stays
    still = _level(doc, 3, T0 + timedelta(seconds=2))
    assert still is not None and still.alert is not None and still.available == 3
    # at the threshold is still low; above it clears
    at_threshold = _level(still, 5, T0 + timedelta(seconds=3))
    assert at_threshold is not None and at_threshold.alert is not None
    cleared = _level(at_threshold, 30, T0 + timedelta(seconds=4))
    assert cleared is not None and cleared.alert is None and cleared.on_hand == 32


def test_events_out_of_order_give_the_same_answer() -> None:
    # the recovery arrives before the low-stock event it followed: no alert is raised
    recovered = _level(None, 30, T0 + timedelta(seconds=5))
    assert _low(recovered, 4, T0) is None
    # an older level delivered late changes nothing
    assert _level(recovered, 2, T0) is None
    # a repeat of the same LowStock is a no-op
    raised = _low(_level(None, 4, T0), 4, T0)
    assert raised is not None and _low(raised, 4, T0) is None
    # a late LowStock from before a clearing is not raised again
    cleared = _level(raised, 30, T0 + timedelta(seconds=2))
    assert cleared is not None and _low(cleared, 3, T0 + timedelta(seconds=1)) is None
    # a low-stock event alone (no level yet) raises the alert
    alone = _low(None, 1, T0)
    assert alone is not None and alone.alert is not None and alone.available == 1


def test_alerts_come_first_in_the_restock_list_the_lowest_available_first() -> None:
    def row(sku: str, available: int, alert: bool) -> rules.RestockRow:
        raised = RestockAlert(available=available, low_stock_threshold=5, raised_at=T0)
        return rules.RestockRow(
            sku=sku,
            product_id="p",
            on_hand=available,
            reserved=0,
            available=available,
            alert=raised if alert else None,
            stock_at=T0,
        )

    rows = [row("B", 50, False), row("A", 1, False), row("Z", 3, True), row("Y", 0, True)]
    rows.append(row("X", 3, True))
    ordered = rules.restock_order(rows)
    assert [r.sku for r in ordered] == ["Y", "X", "Z", "A", "B"]
    assert rules.page_of(ordered, 2, 3) == ordered[3:]


# -- reorder quantity -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("available", "reorder_point", "horizon", "expected"),
    [
        (50, 20.0, 30.0, 0),  # above the reorder point: nothing yet
        (20, 20.0, 30.0, 30),  # at it: up to reorder point + horizon demand
        (5, 20.4, 30.2, 46),  # rounded up to whole units
        (0, 0.0, 0.0, 0),  # no demand, no order
        (-3, 10.0, 5.0, 18),  # oversold stock is made good too
    ],
)
def test_reorder_quantity(
    available: int, reorder_point: float, horizon: float, expected: int
) -> None:
    assert rules.reorder_quantity(available, reorder_point, horizon) == expected


# -- price suggestions ----------------------------------------------------------------------
def test_a_suggestion_is_decided_once() -> None:
    pending = SuggestionStatus.PENDING
    assert rules.judge(pending, None, None, Decision.APPLY, None).verdict == Verdict.PROCEED
    assert rules.judge(pending, None, None, Decision.DISMISS, "k1").verdict == Verdict.PROCEED
    applied = SuggestionStatus.APPLIED
    # a second apply is a conflict, unless it is the same request again (same key)
    assert rules.judge(applied, None, "k1", Decision.APPLY, None).verdict == Verdict.CONFLICT
    assert rules.judge(applied, None, "k1", Decision.APPLY, "k2").verdict == Verdict.CONFLICT
    assert rules.judge(applied, None, "k1", Decision.APPLY, "k1").verdict == Verdict.REPLAY
    assert rules.judge(applied, None, None, Decision.APPLY, None).verdict == Verdict.CONFLICT
    # the other decision is always a conflict, key or not
    assert rules.judge(applied, None, "k1", Decision.DISMISS, "k1").verdict == Verdict.CONFLICT
    dismissed = SuggestionStatus.DISMISSED
    assert rules.judge(dismissed, None, "k1", Decision.APPLY, "k1").verdict == Verdict.CONFLICT
    assert rules.judge(dismissed, None, "k1", Decision.DISMISS, "k1").verdict == Verdict.REPLAY
    # an apply under way is finished by the next apply; a dismiss must wait
    flight = {"key": "k1", "by": "s-1"}
    assert rules.judge(pending, flight, None, Decision.APPLY, None).verdict == Verdict.RESUME
    assert rules.judge(pending, flight, None, Decision.DISMISS, None).verdict == Verdict.CONFLICT


def _product(*variants: tuple[str, str]) -> dict[str, object]:
    return {
        "product_id": "p-1",
        "price": {"amount": "100.00", "currency": "USD", "tax_rate": "0.0825"},
        "variants": [
            {"variant_id": f"v{i}", "sku": sku, "price_adjustment": adj}
            for i, (sku, adj) in enumerate(variants)
        ],
    }


def test_a_skus_selling_price_and_the_update_that_changes_it() -> None:
    single = _product(("S-1", "5.00"))
    assert rules.selling_price(single, "S-1") == (Decimal("105.00"), "v0")
    assert rules.selling_price(single, "nope") is None
    # one variant: the product's price moves, the adjustment stays
    update = rules.price_update(single, "S-1", Decimal("110.00"))
    assert update == {"price": {"amount": "105.00", "currency": "USD", "tax_rate": "0.0825"}}
    # several: only that variant's adjustment moves
    several = _product(("S-1", "0.00"), ("S-2", "10.00"))
    update = rules.price_update(several, "S-2", Decimal("95.50"))
    assert [v["price_adjustment"] for v in update["variants"]] == ["0.00", "-4.50"]
    assert [v["sku"] for v in update["variants"]] == ["S-1", "S-2"]
    with pytest.raises(ValueError):
        rules.price_update(several, "S-9", Decimal("1.00"))


def test_pending_suggestions_come_first_then_the_newest() -> None:
    items = [
        ("a", SuggestionStatus.APPLIED, 3),
        ("b", SuggestionStatus.PENDING, 1),
        ("c", SuggestionStatus.PENDING, 2),
        ("d", SuggestionStatus.DISMISSED, 4),
    ]
    ordered = rules.suggestion_order(items, lambda i: i[1], lambda i: i[2])
    assert [i[0] for i in ordered] == ["c", "b", "a", "d"]


# -- fraud review queue ---------------------------------------------------------------------
def _held(order_id: str, at: datetime) -> FraudReviewRequested:
    return FraudReviewRequested(
        order_id=order_id,
        email="x@example.com",
        amount=Decimal("48.10"),
        currency="USD",
        probability=0.42,
        model_version="fraud-1",
        top_features=[Contribution(feature="amount", value=48.1, contribution=0.1)],
        at=at,
    )


def test_a_held_order_leaves_the_queue_with_its_next_status() -> None:
    item = rules.review_from(_held("o-1", T0))
    assert item.state == ReviewState.PENDING and item.drivers[0].feature == "amount"
    assert rules.review_after(item, "pending", T0) is None
    approved = rules.review_after(item, "awaiting_payment", T0 + timedelta(minutes=1))
    assert approved is not None and approved.state == ReviewState.APPROVED
    assert approved.order_status == "awaiting_payment"
    rejected = rules.review_after(item, "cancelled", T0 + timedelta(minutes=1))
    assert rejected is not None and rejected.state == ReviewState.REJECTED
    # decided once: later statuses change nothing
    assert rules.review_after(approved, "paid", T0 + timedelta(minutes=2)) is None


def test_pending_reviews_first_the_longest_held_first() -> None:
    a = rules.review_from(_held("o-a", T0 + timedelta(minutes=5)))
    b = rules.review_from(_held("o-b", T0))
    c = rules.review_after(rules.review_from(_held("o-c", T0)), "cancelled", T0)
    d = rules.review_after(rules.review_from(_held("o-d", T0)), "paid", T0 + timedelta(hours=1))
    assert c is not None and d is not None
    assert [i.order_id for i in rules.review_order([a, c, d, b])] == ["o-b", "o-a", "o-d", "o-c"]


# -- the app checks the role again ----------------------------------------------------------
def test_backoffice_refuses_merchandising_without_staffs_signed_context() -> None:
    app = FastAPI()
    install_common(app)
    app.include_router(router)

    class Key:
        async def get(self) -> str:
            return "k" * 32

    app.state.context_key = Key()
    app.state.merchandising = object()  # never reached
    customer = sign_context(Principal(user_id="u-1", role=Role.CUSTOMER), "k" * 32)
    with TestClient(app) as client:
        for method, path in (
            ("GET", "/staff/merchandising/restock"),
            ("GET", "/staff/merchandising/prices"),
            ("POST", "/staff/merchandising/prices/psg-1/apply"),
            ("POST", "/staff/merchandising/prices/psg-1/dismiss"),
            ("GET", "/staff/fraud/reviews"),
        ):
            assert client.request(method, path).status_code == 403, path
            r = client.request(method, path, headers={CONTEXT_HEADER: customer})
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "FORBIDDEN"
