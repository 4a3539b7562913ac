"""Customer returns put a committed order's units back on hand exactly once per return id,
never more of a SKU than the order committed (the pure rule, then the use case over fakes)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from apps.catalog import inventory
from apps.catalog.inventory import StockRecord
from apps.catalog.service import InventoryService
from apps.catalog.service import inventory as service_module
from apps.contracts.errors import Conflict, NotFound, Unavailable
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import Reservation, ReservationStatus, ReturnStock
from apps.contracts.orders import OrderPaid, OrderStatus
from tests.fakes.inventory import FakeBatchPublisher, FakeInventoryRepository

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def rec(sku: str, on_hand: int, threshold: int = 2) -> StockRecord:
    return StockRecord(
        sku=sku,
        product_id="p",
        variant_id=f"v-{sku}",
        on_hand=on_hand,
        low_stock_threshold=threshold,
    )


def committed(
    order: str = "o1", status: ReservationStatus = ReservationStatus.COMMITTED, **lines: int
) -> Reservation:
    return Reservation(
        order_id=order,
        lines=[{"sku": s, "quantity": q} for s, q in lines.items()],
        status=status,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        expires_at=NOW - timedelta(days=3) + timedelta(minutes=45),
    )


def ret(return_id: str, *lines: tuple[str, int]) -> ReturnStock:
    return ReturnStock(return_id=return_id, lines=[{"sku": s, "quantity": q} for s, q in lines])


def test_a_return_puts_its_units_back_and_is_recorded_by_id() -> None:
    records = {"A": rec("A", 7), "B": rec("B", 1)}
    reservation = committed(A=3, B=2)
    changed, updated = inventory.return_units(
        records, reservation, ret("ret-1", ("A", 2), ("B", 1)), NOW
    )
    assert {sku: r.on_hand for sku, r in changed.items()} == {"A": 9, "B": 2}
    assert updated.status == ReservationStatus.COMMITTED
    assert [(ln.sku, ln.quantity) for ln in updated.returned["ret-1"]] == [("A", 2), ("B", 1)]
    assert updated.updated_at == NOW
    assert records["A"].on_hand == 7 and reservation.returned == {}  # inputs untouched


def test_a_sku_named_twice_in_one_return_adds_up() -> None:
    changed, updated = inventory.return_units(
        {"A": rec("A", 0)}, committed(A=3), ret("ret-1", ("A", 1), ("A", 2)), NOW
    )
    assert changed["A"].on_hand == 3
    assert [(ln.sku, ln.quantity) for ln in updated.returned["ret-1"]] == [("A", 3)]
    with pytest.raises(Conflict) as err:
        inventory.return_units(
            {"A": rec("A", 0)}, committed(A=3), ret("ret-2", ("A", 2), ("A", 2)), NOW
        )
    assert err.value.details["over"] == [
        {"sku": "A", "committed": 3, "returned": 0, "requested": 4}
    ]


def test_more_than_committed_is_refused_and_changes_nothing() -> None:
    records = {"A": rec("A", 5), "B": rec("B", 5)}
    reservation = committed(A=3, B=1)
    with pytest.raises(Conflict) as err:
        inventory.return_units(records, reservation, ret("ret-1", ("A", 1), ("B", 2)), NOW)
    assert err.value.status == 409
    assert err.value.details["over"] == [
        {"sku": "B", "committed": 1, "returned": 0, "requested": 2}
    ]
    assert records["A"].on_hand == 5 and records["B"].on_hand == 5
    assert reservation.returned == {}


def test_part_now_and_the_rest_later_but_never_beyond() -> None:
    records = {"A": rec("A", 0)}
    reservation = committed(A=3)
    after_first, reservation = inventory.return_units(
        records, reservation, ret("ret-1", ("A", 2)), NOW
    )
    assert after_first["A"].on_hand == 2
    with pytest.raises(Conflict) as err:
        inventory.return_units(after_first, reservation, ret("ret-2", ("A", 2)), NOW)
    assert err.value.details["over"] == [
        {"sku": "A", "committed": 3, "returned": 2, "requested": 2}
    ]
    after_rest, reservation = inventory.return_units(
        after_first, reservation, ret("ret-3", ("A", 1)), NOW
    )
    assert after_rest["A"].on_hand == 3
    assert set(reservation.returned) == {"ret-1", "ret-3"}
    with pytest.raises(Conflict):
        inventory.return_units(after_rest, reservation, ret("ret-4", ("A", 1)), NOW)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (ReservationStatus.RESERVED, "never sold"),
        (ReservationStatus.RELEASED, "never sold"),
        (ReservationStatus.RESTOCKED, "already put back"),
    ],
)
def test_only_a_committed_order_takes_returns(status: ReservationStatus, says: str) -> None:
    records = {"A": rec("A", 4)}
    with pytest.raises(Conflict) as err:
        inventory.return_units(records, committed(status=status, A=3), ret("ret-1", ("A", 1)), NOW)
    assert err.value.details["status"] == status.value
    assert says in err.value.message
    assert records["A"].on_hand == 4


def test_a_sku_the_order_did_not_commit_is_refused() -> None:
    with pytest.raises(Conflict) as err:
        inventory.return_units(
            {"A": rec("A", 4)}, committed(A=3), ret("ret-1", ("A", 1), ("Z", 1)), NOW
        )
    assert err.value.details["skus"] == ["Z"]


def test_the_same_return_id_again_changes_nothing() -> None:
    records = {"A": rec("A", 0)}
    changed, reservation = inventory.return_units(
        records, committed(A=3), ret("ret-1", ("A", 2)), NOW
    )
    again, unchanged = inventory.return_units(
        changed, reservation, ret("ret-1", ("A", 2)), NOW + timedelta(minutes=1)
    )
    assert again == {} and unchanged == reservation
    # the same units in another shape are the same return
    assert inventory.already_returned(reservation, ret("ret-1", ("A", 1), ("A", 1)))


def test_the_same_return_id_with_other_lines_is_refused() -> None:
    records = {"A": rec("A", 0), "B": rec("B", 0)}
    changed, reservation = inventory.return_units(
        records, committed(A=3, B=1), ret("ret-1", ("A", 2)), NOW
    )
    for other in (ret("ret-1", ("A", 1)), ret("ret-1", ("A", 2), ("B", 1))):
        with pytest.raises(Conflict) as err:
            inventory.return_units(changed, reservation, other, NOW)
        assert err.value.details["return_id"] == "ret-1"


def test_a_restock_after_returns_puts_back_only_what_is_still_out() -> None:
    records = {"A": rec("A", 0), "B": rec("B", 0)}
    after_return, reservation = inventory.return_units(
        records, committed(A=3, B=1), ret("ret-1", ("A", 2), ("B", 1)), NOW
    )
    assert [(ln.sku, ln.quantity) for ln in inventory.not_returned(reservation)] == [("A", 1)]
    restocked, done = inventory.restock(after_return, reservation, NOW, "cancelled")
    assert {sku: r.on_hand for sku, r in restocked.items()} == {"A": 3}
    assert done.status == ReservationStatus.RESTOCKED


# -- the use case over fakes of its ports ------------------------------------------------------
def service(
    *records: StockRecord, reservation: Reservation
) -> tuple[InventoryService, FakeInventoryRepository, FakeBatchPublisher]:
    repo = FakeInventoryRepository()
    for r in records:
        repo.put_stock(r)
    repo.put_reservation(reservation)
    outbox = FakeBatchPublisher(repo)
    return InventoryService(repo, outbox, timedelta(minutes=45)), repo, outbox


def test_restock_return_saves_once_and_publishes_returned_then_levels() -> None:
    svc, repo, outbox = service(rec("A", 0), rec("B", 5), reservation=committed(A=3, B=1))
    req = ret("ret-1", ("A", 2))
    first = asyncio.run(svc.restock_return("o1", req, "corr-1"))
    assert [ln.quantity for ln in first.returned["ret-1"]] == [2]
    assert repo.stocks["A"][0].on_hand == 2 and repo.stocks["B"][0].on_hand == 5
    assert [e.event_type for e in outbox.published] == ["StockReturned", "StockLevelChanged"]
    returned, level = outbox.published
    assert returned.data["return_id"] == "ret-1" and returned.data["order_id"] == "o1"
    assert returned.correlation_id == "corr-1"
    assert (level.data["sku"], level.data["on_hand"], level.data["reason"]) == ("A", 2, "returned")

    again = asyncio.run(svc.restock_return("o1", req, "corr-2"))
    assert again == first and repo.saves == 1 and len(outbox.published) == 2
    with pytest.raises(Conflict):
        asyncio.run(svc.restock_return("o1", ret("ret-1", ("A", 1)), "corr-3"))
    with pytest.raises(Conflict):
        asyncio.run(svc.restock_return("o1", ret("ret-2", ("A", 2)), "corr-4"))
    assert repo.stocks["A"][0].on_hand == 2 and repo.saves == 1


def test_restock_return_retries_a_stale_write_and_gives_up_when_too_contended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_pause(attempt: int) -> None:
        return None

    monkeypatch.setattr(service_module, "backoff", no_pause)
    svc, repo, outbox = service(rec("A", 0), reservation=committed(A=3))
    repo.race_next_saves = 2
    asyncio.run(svc.restock_return("o1", ret("ret-1", ("A", 1)), "corr-1"))
    assert repo.saves == 3 and repo.stocks["A"][0].on_hand == 1
    assert [e.event_type for e in outbox.published] == ["StockReturned", "StockLevelChanged"]

    repo.race_next_saves = 10_000
    with pytest.raises(Unavailable):
        asyncio.run(svc.restock_return("o1", ret("ret-2", ("A", 1)), "corr-2"))
    assert repo.saves == 3 + service_module.INVENTORY_ATTEMPTS
    assert repo.stocks["A"][0].on_hand == 1 and "ret-2" not in repo.reservations["o1"][0].returned


def test_an_order_without_a_reservation_is_a_404() -> None:
    svc, repo, _ = service(rec("A", 0), reservation=committed(A=3))
    with pytest.raises(NotFound):
        asyncio.run(svc.restock_return("o-none", ret("ret-1", ("A", 1)), "corr-1"))
    assert repo.saves == 0


def test_a_paid_event_finding_a_lapsed_hold_asks_again_instead_of_dropping() -> None:
    """The saga commits a paid order's stock itself; the OrderPaid event is the backstop. A
    hold that lapsed (its stock taken meanwhile) is retried — a redelivery finds the saga's
    commit — not dropped to the dead letters on first sight. The service reads the wall
    clock for expiry, so the holds are set relative to it, not to the fixed NOW."""
    now = datetime.now(UTC)
    held = committed("o9", ReservationStatus.RESERVED, A=2).model_copy(
        update={"expires_at": now - timedelta(minutes=1)}
    )
    other = rec("A", 3).model_copy(
        update={"holds": {"o8": inventory.Hold(quantity=3, expires_at=now + timedelta(hours=1))}}
    )
    svc, repo, _ = service(other, reservation=held)
    paid = EventEnvelope.of(
        OrderPaid(
            order_id="o9",
            order_number="SC-9",
            email="a@example.com",
            user_id=None,
            previous_status=OrderStatus.AWAITING_PAYMENT,
            at=NOW,
            status=OrderStatus.PAID,
            version=2,
            totals={"subtotal": "2.00", "tax": "0", "shipping": "0", "total": "2.00"},
            items=[],
        ),
        correlation_id="c",
        source="orders",
    )
    with pytest.raises(service_module.LapsedHold):
        asyncio.run(svc.on_order_event(paid))
    assert repo.saves == 0  # nothing changed
    # once the saga's commit has landed, the redelivery is a no-op
    repo.put_reservation(held.model_copy(update={"status": ReservationStatus.COMMITTED}))
    asyncio.run(svc.on_order_event(paid))
    assert repo.saves == 0
