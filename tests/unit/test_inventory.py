"""Inventory rules: holds, all-or-nothing reserve, expiry, release, commit, adjustments."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.catalog import inventory
from apps.catalog.inventory import Hold, InsufficientStock, StockRecord
from apps.contracts.errors import Conflict
from apps.contracts.inventory import ReservationStatus, ReserveRequest, StockAdjustment

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TTL = timedelta(minutes=45)


def rec(sku: str = "A", on_hand: int = 10, **holds: tuple[int, int]) -> StockRecord:
    """holds: order_id=(quantity, minutes until expiry; negative = already lapsed)."""
    return StockRecord(
        sku=sku,
        product_id="p",
        variant_id=f"v-{sku}",
        on_hand=on_hand,
        low_stock_threshold=3,
        holds={
            o: Hold(quantity=q, expires_at=NOW + timedelta(minutes=m))
            for o, (q, m) in holds.items()
        },
    )


def req(order: str, **lines: int) -> ReserveRequest:
    return ReserveRequest(
        order_id=order, lines=[{"sku": s, "quantity": q} for s, q in lines.items()]
    )


def test_available_ignores_lapsed_holds() -> None:
    r = rec(on_hand=10, o1=(3, 5), o2=(4, -1))
    assert inventory.reserved(r, NOW) == 3
    assert inventory.available(r, NOW) == 7


def test_reserve_holds_every_line() -> None:
    records = {"A": rec("A", 5), "B": rec("B", 2)}
    changed, reservation = inventory.reserve(records, req("o1", A=5, B=2), NOW, TTL)
    assert inventory.available(changed["A"], NOW) == 0
    assert inventory.available(changed["B"], NOW) == 0
    assert reservation.status == ReservationStatus.RESERVED
    assert reservation.expires_at == NOW + TTL


def test_reserve_is_all_or_nothing() -> None:
    records = {"A": rec("A", 5), "B": rec("B", 1)}
    with pytest.raises(InsufficientStock) as err:
        inventory.reserve(records, req("o1", A=1, B=2), NOW, TTL)
    assert err.value.details["shortages"] == [{"sku": "B", "requested": 2, "available": 1}]
    assert records["A"].holds == {}  # inputs untouched


def test_a_retry_replaces_its_own_hold() -> None:
    records = {"A": rec("A", 5, o1=(5, 10))}
    changed, _ = inventory.reserve(records, req("o1", A=5), NOW, TTL)
    assert inventory.reserved(changed["A"], NOW) == 5


def test_lapsed_holds_free_their_units_and_are_pruned() -> None:
    records = {"A": rec("A", 5, old=(5, -1))}
    changed, _ = inventory.reserve(records, req("o2", A=5), NOW, TTL)
    assert set(changed["A"].holds) == {"o2"}


def test_release_frees_and_commit_decrements() -> None:
    records = {"A": rec("A", 5)}
    held, reservation = inventory.reserve(records, req("o1", A=2), NOW, TTL)
    released, r2 = inventory.release(held, reservation, NOW, "payment failed")
    assert inventory.available(released["A"], NOW) == 5 and r2.status == "released"
    committed, r3 = inventory.commit(held, reservation, NOW)
    assert committed["A"].on_hand == 3 and committed["A"].holds == {}
    assert r3.status == "committed"
    with pytest.raises(Conflict):
        inventory.release(committed, r3, NOW, "too late")
    with pytest.raises(Conflict):
        inventory.commit(released, r2, NOW)


def test_a_cancelled_sale_is_restocked_exactly_once() -> None:
    records = {"A": rec("A", 5, other=(1, 10)), "B": rec("B", 4)}
    held, reservation = inventory.reserve(records, req("o1", A=2, B=3), NOW, TTL)
    committed, sold = inventory.commit(held, reservation, NOW)
    assert (committed["A"].on_hand, committed["B"].on_hand) == (3, 1)
    back, restocked = inventory.restock(committed, sold, NOW, "cancelled by customer")
    assert (back["A"].on_hand, back["B"].on_hand) == (5, 4)  # what the commit took, no more
    assert set(back["A"].holds) == {"other"}  # other orders' holds untouched
    assert restocked.status == "restocked" and restocked.reason == "cancelled by customer"
    with pytest.raises(Conflict):  # twice is refused (the service answers it unchanged)
        inventory.restock(back, restocked, NOW, "again")
    with pytest.raises(Conflict):  # a late 'paid' cannot sell the returned units again
        inventory.commit(back, restocked, NOW)
    with pytest.raises(Conflict):  # nor can a late release relabel it
        inventory.release(back, restocked, NOW, "late")
    with pytest.raises(Conflict):  # only committed units can be put back
        inventory.restock(held, reservation, NOW, "not sold")


def test_commit_after_lapse_takes_what_is_free_or_refuses() -> None:
    records = {"A": rec("A", 5)}
    held, reservation = inventory.reserve(records, req("o1", A=2), NOW, TTL)
    later = NOW + TTL + timedelta(seconds=1)
    ok, _ = inventory.commit(held, reservation, later)
    assert ok["A"].on_hand == 3
    taken = {
        "A": held["A"].model_copy(
            update={"holds": {**held["A"].holds, "o2": Hold(quantity=4, expires_at=later + TTL)}}
        )
    }
    with pytest.raises(InsufficientStock):
        inventory.commit(taken, reservation, later)


def test_adjust_cannot_go_below_holds() -> None:
    r = rec(on_hand=10, o1=(4, 5))
    assert inventory.adjust(r, StockAdjustment(delta=-6, reason="count"), NOW).on_hand == 4
    with pytest.raises(Conflict):
        inventory.adjust(r, StockAdjustment(on_hand=3, reason="count"), NOW)


def test_low_stock_fires_when_crossing_only() -> None:
    before, after = rec(on_hand=5), rec(on_hand=5, o1=(2, 5))  # available 5 -> 3, threshold 3
    assert inventory.crossed_low_stock(before, after, NOW)
    assert not inventory.crossed_low_stock(after, rec(on_hand=5, o1=(3, 5)), NOW)


def test_requests_refuse_duplicate_skus_and_bad_quantities() -> None:
    with pytest.raises(ValueError):
        ReserveRequest(
            order_id="o", lines=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]
        )
    with pytest.raises(ValueError):
        ReserveRequest(order_id="o", lines=[{"sku": "A", "quantity": 0}])
    with pytest.raises(ValueError):
        StockAdjustment(delta=1, on_hand=2, reason="x")


def test_effective_status_shows_expiry() -> None:
    _, reservation = inventory.reserve({"A": rec("A", 5)}, req("o1", A=1), NOW, TTL)
    assert inventory.effective_status(reservation, NOW + TTL).status == "expired"
