"""Shipments, pure: the ShipmentActor's state machine, the simulated carrier's routes and
what a shipment's progress does to its order."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from actors.order import logic as order_logic
from actors.shipment import logic
from apps.contracts.orders import Address, CreateOrder, Order, OrderStatus
from apps.contracts.shipping import (
    ServiceLevel,
    Shipment,
    ShipmentScheduled,
    ShipmentStatus,
    ShipmentStatusUpdated,
    StatusUpdate,
)
from apps.orders.carrier import PLANS, Scenario, SimulatedCarrier
from apps.orders.domain import tracking_of
from apps.orders.fulfilment_rules import first_shipment, progress, with_shipments
from tests import factories

S = ShipmentStatus
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)
HOME = Address(
    name="Ann Buyer",
    line1="1 Main St",
    city="Austin",
    state="TX",
    postal_code="78701",
    country="US",
)
WAREHOUSE = Address(
    name="Warehouse",
    line1="500 Industrial Blvd",
    city="Memphis",
    state="TN",
    postal_code="38125",
    country="US",
)


def paid_order(quantity: int = 2, status: OrderStatus = OrderStatus.PAID) -> Order:
    body = factories.order()
    body["order_number"] = "SC-2026-000042"
    body["shipping_address"] = HOME.model_dump()
    body["items"][0]["quantity"] = quantity
    order = order_logic.create(CreateOrder.model_validate(body), NOW).order
    return order.model_copy(update={"status": status})


def carrier(scenario: Scenario | None = Scenario.NORMAL, rate: float = 0.0) -> SimulatedCarrier:
    return SimulatedCarrier(step=STEP, origin=WAREHOUSE, exception_rate=rate, scenario=scenario)


def booked(order: Order, sim: SimulatedCarrier | None = None) -> Shipment:
    sim = sim or carrier()
    cmd = first_shipment(order, ServiceLevel.STANDARD)
    assert cmd is not None
    decision = logic.create(cmd, asyncio.run(sim.book(cmd, NOW)), NOW)
    assert isinstance(decision.events[0], ShipmentScheduled)
    return decision.shipment


def at(shipment: Shipment, when: datetime, sim: SimulatedCarrier | None = None) -> logic.Decision:
    tracking = asyncio.run((sim or carrier()).track(shipment, when))
    return logic.apply_scans(shipment, tracking.events, tracking.estimated_delivery, when)


def test_a_paid_order_ships_everything_it_bought_to_its_address() -> None:
    order = paid_order(quantity=3)
    shipment = booked(order)
    assert shipment.shipment_id == f"shp-{order.order_id}-1"
    assert shipment.destination == HOME and shipment.status == S.LABEL_CREATED
    assert [(li.sku, li.quantity) for li in shipment.lines] == [("SKU-X", 3)]
    assert shipment.tracking_number.startswith("SIM") and shipment.version == 1
    assert shipment.estimated_delivery == NOW + 4 * STEP
    # Booking twice gives the same label: the actor's create is idempotent either way.
    assert booked(order).tracking_number == shipment.tracking_number


def test_an_order_without_an_address_is_not_shipped() -> None:
    order = paid_order().model_copy(update={"shipping_address": None})
    assert first_shipment(order, ServiceLevel.STANDARD) is None


def test_the_normal_route_emits_each_status_once_and_delivery_once() -> None:
    shipment = booked(paid_order())
    seen: list[tuple[str, str]] = []
    for minutes in range(0, 7):
        decision = at(shipment, NOW + minutes * STEP + timedelta(seconds=1))
        if isinstance(decision, logic.Changed):
            seen += [(type(e).__name__, e.status.value) for e in decision.events]
            shipment = decision.shipment
    assert seen == [
        ("ShipmentStatusUpdated", "picked_up"),
        ("ShipmentStatusUpdated", "in_transit"),
        ("ShipmentStatusUpdated", "out_for_delivery"),
        ("ShipmentStatusUpdated", "delivered"),
        ("DeliveryCompleted", "delivered"),
    ]
    assert shipment.status == S.DELIVERED and shipment.actual_delivery == NOW + 4 * STEP
    assert [e.status for e in shipment.events] == [
        S.LABEL_CREATED,
        S.PICKED_UP,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert shipment.current_location == "Austin, TX"
    # Polled again after delivery: nothing more.
    assert isinstance(at(shipment, NOW + 10 * STEP), logic.Same)


def test_a_late_poll_applies_every_missed_scan_in_order_with_one_version() -> None:
    shipment = booked(paid_order())
    decision = at(shipment, NOW + 10 * STEP)
    assert isinstance(decision, logic.Changed)
    assert decision.shipment.version == 2
    assert {e.version for e in decision.events} == {2}
    assert [e.status for e in decision.events][-1] == S.DELIVERED


@pytest.mark.parametrize(
    ("scenario", "last"),
    [
        (Scenario.DELAYED, S.DELIVERED),
        (Scenario.FAILED_ATTEMPT, S.DELIVERED),
        (Scenario.RETURNED, S.RETURNED_TO_SENDER),
    ],
)
def test_exceptions_follow_the_state_machine(scenario: Scenario, last: ShipmentStatus) -> None:
    sim = carrier(scenario)
    shipment = booked(paid_order(), sim)
    statuses = []
    for minutes in range(1, 10):
        decision = at(shipment, NOW + minutes * STEP, sim)
        if isinstance(decision, logic.Changed):
            statuses += [e.status for e in decision.events if isinstance(e, ShipmentStatusUpdated)]
            shipment = decision.shipment
    assert statuses == [status for _, status, _ in PLANS[scenario]]
    assert shipment.status == last
    if last == S.RETURNED_TO_SENDER:
        assert sim.eta(shipment.tracking_number, NOW) is None


def test_the_exception_rate_picks_a_stable_share_of_shipments() -> None:
    sim = carrier(scenario=None, rate=0.3)
    picked = [sim.scenario_of(sim.tracking_number(f"shp-o{i}-1")) for i in range(2000)]
    share = sum(p != Scenario.NORMAL for p in picked) / len(picked)
    assert 0.25 < share < 0.35
    assert {p for p in picked} == set(Scenario)
    assert picked == [sim.scenario_of(sim.tracking_number(f"shp-o{i}-1")) for i in range(2000)]
    assert all(carrier(None, 0.0).scenario_of(f"SIM{i}") == Scenario.NORMAL for i in range(50))


def test_staff_updates_follow_the_rules_and_a_retry_changes_nothing() -> None:
    shipment = booked(paid_order())
    refused = logic.staff_update(shipment, StatusUpdate(status=S.DELIVERED), "staff:k1", NOW)
    assert isinstance(refused, logic.Refused)
    assert refused.error.code == "CONFLICT" and refused.error.current_status == S.LABEL_CREATED
    picked = logic.staff_update(
        shipment,
        StatusUpdate(status=S.PICKED_UP, location="Dock 4", notes="Collected"),
        "staff:k2",
        NOW,
    )
    assert isinstance(picked, logic.Changed)
    assert picked.shipment.events[-1].source == "staff"
    assert picked.shipment.events[-1].description == "Collected"
    again = logic.staff_update(picked.shipment, StatusUpdate(status=S.PICKED_UP), "staff:k2", NOW)
    assert isinstance(again, logic.Same)


def test_a_cancelled_shipment_ignores_the_carrier() -> None:
    shipment = booked(paid_order())
    cancelled = logic.staff_update(
        shipment, StatusUpdate(status=S.CANCELLED), "order-cancelled", NOW
    )
    assert isinstance(cancelled, logic.Changed)
    assert isinstance(at(cancelled.shipment, NOW + 10 * STEP), logic.Same)
    picked = logic.staff_update(
        cancelled.shipment, StatusUpdate(status=S.PICKED_UP), "staff:k3", NOW
    )
    assert isinstance(picked, logic.Refused)


def test_the_order_follows_its_shipments_and_partial_shipments_add_up() -> None:
    order = paid_order(quantity=3, status=OrderStatus.FULFILLING)
    whole = booked(order)
    first = whole.model_copy(update={"lines": [whole.lines[0].model_copy(update={"quantity": 1})]})
    second = first.model_copy(
        update={
            "shipment_id": "shp-x-2",
            "lines": [whole.lines[0].model_copy(update={"quantity": 2})],
        }
    )
    on_way = [s.model_copy(update={"status": S.IN_TRANSIT}) for s in (first, second)]
    assert progress(order, on_way[:1]) is None  # one unit of three has left
    step = progress(order, on_way)
    assert step is not None and step.to == OrderStatus.SHIPPED
    shipped = order.model_copy(update={"status": OrderStatus.SHIPPED})
    half = [on_way[0].model_copy(update={"status": S.DELIVERED}), on_way[1]]
    assert progress(shipped, half) is None
    both = [s.model_copy(update={"status": S.DELIVERED}) for s in on_way]
    done = progress(shipped, both)
    assert done is not None and done.to == OrderStatus.DELIVERED
    # A cancelled shipment does not count, and nothing moves a cancelled order.
    assert progress(order, [on_way[0], second.model_copy(update={"status": S.CANCELLED})]) is None
    assert progress(order.model_copy(update={"status": OrderStatus.CANCELLED}), both) is None


def test_tracking_shows_carrier_number_eta_and_scans() -> None:
    order = paid_order(status=OrderStatus.FULFILLING)
    decision = at(booked(order), NOW + 2 * STEP)
    assert isinstance(decision, logic.Changed)
    tracking = with_shipments(tracking_of(order), [decision.shipment])
    assert tracking.estimated_delivery == NOW + 4 * STEP
    (parcel,) = tracking.shipments
    assert parcel.carrier == "SimPost" and parcel.tracking_number.startswith("SIM")
    assert [e.status for e in parcel.events] == ["label_created", "picked_up", "in_transit"]
    assert parcel.tracking_url.endswith(parcel.tracking_number)


def test_a_delivered_order_completes_when_its_return_window_closes() -> None:
    order = paid_order(status=OrderStatus.DELIVERED)
    req = order_logic.auto_complete(order)
    assert req is not None and req.to == OrderStatus.COMPLETED
    assert (
        order_logic.auto_complete(order.model_copy(update={"status": OrderStatus.REFUNDED})) is None
    )


def test_a_paid_order_is_released_to_the_warehouse_once_and_only_while_paid() -> None:
    order = paid_order()
    req = order_logic.release(order, by="staff-1")
    assert req is not None and req.to == OrderStatus.FULFILLING and req.actor == "staff-1"
    released = order_logic.transition(order, req, NOW)
    assert isinstance(released, order_logic.Applied)
    # The hold's reminder and staff share the transition id: the second is a no-op.
    again = order_logic.release(order, by="system")
    assert again is not None and again.transition_id == req.transition_id
    assert isinstance(order_logic.transition(released.order, again, NOW), order_logic.Unchanged)
    for status in (OrderStatus.CANCELLED, OrderStatus.FULFILLING, OrderStatus.AWAITING_PAYMENT):
        assert order_logic.release(order.model_copy(update={"status": status})) is None
