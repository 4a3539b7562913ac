"""Orders use cases with the real state machine in memory (fake actor port)."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.contracts.errors import Conflict, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    Order,
    OrderEventData,
    OrderStatus,
    OrderSummary,
    PlaceOrder,
    TransitionRequest,
)
from apps.contracts.payments import PaymentStatus, RefundProcessed
from apps.orders.domain import (
    customer_history,
    format_order_number,
    refund_transition,
    summary_of,
)
from apps.orders.service import Access, OrdersService
from tests import factories
from tests.fakes.ports import FakeOrderActors, FakeOrderViews, FakeSequences


def test_order_numbers_are_human_friendly() -> None:
    assert format_order_number(2026, 123) == "SC-2026-000123"
    assert format_order_number(2026, 1234567) == "SC-2026-1234567"
    with pytest.raises(ValueError):
        format_order_number(2026, 0)


def test_place_is_idempotent_and_numbers_are_unique() -> None:
    svc = OrdersService(FakeOrderActors(), FakeSequences(), FakeOrderViews())
    now = datetime(2026, 1, 2, tzinfo=UTC)
    cmd = PlaceOrder.model_validate(factories.order())
    order, created = asyncio.run(svc.place(cmd, now))
    again, created_again = asyncio.run(svc.place(cmd, now))
    assert created and not created_again
    assert order.order_number == again.order_number == "SC-2026-000001"
    other, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order()), now))
    assert other.order_number == "SC-2026-000002"


def test_guest_lookup_and_refused_transition() -> None:
    svc = OrdersService(FakeOrderActors(), FakeSequences(), FakeOrderViews())
    cmd = PlaceOrder.model_validate(factories.order())
    order, _ = asyncio.run(svc.place(cmd))
    guest = Access(email=str(cmd.email).upper())
    assert asyncio.run(svc.get(order.order_id, guest)).order_id == order.order_id
    with pytest.raises(NotFound):
        asyncio.run(svc.get(order.order_id, Access(email="someone@else.com")))
    with pytest.raises(NotFound):  # an empty check matches nobody
        asyncio.run(svc.get(order.order_id, Access()))
    with pytest.raises(Conflict) as err:
        asyncio.run(
            svc.transition(
                order.order_id, TransitionRequest.model_validate(factories.transition("shipped"))
            )
        )
    assert err.value.details["current_status"] == OrderStatus.PENDING


def _service() -> tuple[OrdersService, FakeOrderViews]:
    views = FakeOrderViews()
    return OrdersService(FakeOrderActors(), FakeSequences(), views), views


def _transition(svc: OrdersService, order_id: str, to: str) -> Order:
    req = TransitionRequest.model_validate(factories.transition(to))
    return asyncio.run(svc.transition(order_id, req))


def _event(order: Order, event_type: str = "OrderStatusChanged") -> EventEnvelope:
    data = OrderEventData(
        order_id=order.order_id,
        order_number=order.order_number,
        email=order.email,
        user_id=order.user_id,
        status=order.status,
        previous_status=None,
        totals=order.totals,
        items=order.items,
        version=order.version,
        at=order.updated_at,
        created_at=order.created_at,
    )
    return EventEnvelope(
        event_type=event_type,
        correlation_id="c",
        source="orders",
        data=data.model_dump(mode="json"),
    )


def test_placed_orders_are_listed_at_once_and_events_apply_in_version_order() -> None:
    svc, views = _service()
    order, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order(user_id="u1"))))
    assert views.views[order.order_id].status == OrderStatus.PENDING
    waiting = _transition(svc, order.order_id, "awaiting_payment")
    paid = _transition(svc, order.order_id, "paid")
    asyncio.run(svc.on_order_event(_event(paid)))
    asyncio.run(svc.on_order_event(_event(waiting)))  # late and older: ignored
    asyncio.run(svc.on_order_event(_event(paid)))  # duplicate: no change
    view = views.views[order.order_id]
    assert (view.status, view.version) == (OrderStatus.PAID, 3)
    assert view.created_at == order.created_at


def test_listing_filters_pages_and_counts() -> None:
    svc, _ = _service()
    placed = []
    for n in range(5):
        now = datetime(2026, 1, 1 + n, tzinfo=UTC)
        cmd = PlaceOrder.model_validate(factories.order(user_id="u1"))
        placed.append(asyncio.run(svc.place(cmd, now))[0])
    asyncio.run(svc.place(PlaceOrder.model_validate(factories.order(user_id="u2"))))
    first = asyncio.run(svc.list_orders("u1", None, page=1, limit=2))
    assert first.total == 5
    assert [o.order_id for o in first.items] == [p.order_id for p in placed[::-1][:2]]
    last = asyncio.run(svc.list_orders("u1", None, page=3, limit=2))
    assert [o.order_id for o in last.items] == [placed[0].order_id]
    assert asyncio.run(svc.list_orders("u1", [OrderStatus.PAID], 1, 10)).total == 0
    everyone = asyncio.run(svc.list_orders(None, None, 1, 10))
    assert everyone.total == 6


def test_tracking_cancel_and_rebuild() -> None:
    svc, views = _service()
    order, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order(user_id="u1"))))
    owner = Access(user_id="u1")
    track = asyncio.run(svc.tracking(order.order_id, owner))
    assert track.cancellable and [t.status for t in track.timeline] == [OrderStatus.PENDING]
    with pytest.raises(NotFound):
        asyncio.run(svc.cancel(order.order_id, "", Access(user_id="u2")))
    cancelled = asyncio.run(svc.cancel(order.order_id, "", owner))
    again = asyncio.run(svc.cancel(order.order_id, "", owner))
    assert cancelled.status == again.status == OrderStatus.CANCELLED
    assert again.version == cancelled.version
    assert not asyncio.run(svc.tracking(order.order_id, owner)).cancellable
    # The CANCELLED event was lost: the view still says pending until a rebuild.
    assert views.views[order.order_id].status == OrderStatus.PENDING
    report = asyncio.run(svc.rebuild())
    assert (report.checked, report.updated, report.missing) == (1, 1, 0)
    assert views.views[order.order_id].status == OrderStatus.CANCELLED
    assert asyncio.run(svc.rebuild(["o-missing"])).missing == 1


def test_shipped_orders_cannot_be_cancelled_by_the_shopper() -> None:
    svc, _ = _service()
    order, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order(user_id="u1"))))
    for to in ("awaiting_payment", "paid", "fulfilling", "shipped"):
        _transition(svc, order.order_id, to)
    with pytest.raises(Conflict) as err:
        asyncio.run(svc.cancel(order.order_id, "", Access(user_id="u1")))
    assert err.value.details["current_status"] == OrderStatus.SHIPPED
    assert asyncio.run(svc.by_number(order.order_number)).order_id == order.order_id
    with pytest.raises(NotFound):
        asyncio.run(svc.by_number("SC-1999-000001"))


def _refund_event(order: Order, refunded: str, event_id: str) -> EventEnvelope:
    data = RefundProcessed(
        order_id=order.order_id,
        payment_intent_id="pi_1",
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount=order.totals.total,
        currency="USD",
        refunded_amount=Decimal(refunded),
    )
    return EventEnvelope.of(data, correlation_id="c", source="payments", event_id=event_id)


def test_refunds_reported_by_payments_move_the_order_once() -> None:
    svc, _ = _service()
    order, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order())))
    _transition(svc, order.order_id, "awaiting_payment")
    paid = _transition(svc, order.order_id, "paid")  # total 21.65
    partial = _refund_event(paid, "5.00", "pi_1:3")
    for _ in range(2):  # a redelivery is the same transition
        asyncio.run(svc.on_payment_event(partial))
    order = asyncio.run(svc.get(paid.order_id))
    assert (order.status, order.refunded_amount) == (
        OrderStatus.PARTIALLY_REFUNDED,
        Decimal("5.00"),
    )
    asyncio.run(svc.on_payment_event(_refund_event(paid, "21.65", "pi_1:4")))
    order = asyncio.run(svc.get(paid.order_id))
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, Decimal("21.65"))
    assert len(order.history) == 5


def test_a_refund_of_a_cancelled_order_stays_on_the_payment() -> None:
    svc, _ = _service()
    order, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order())))
    _transition(svc, order.order_id, "awaiting_payment")
    _transition(svc, order.order_id, "paid")
    cancelled = _transition(svc, order.order_id, "cancelled")
    assert refund_transition(cancelled, Decimal("21.65"), "e1") is None
    asyncio.run(svc.on_payment_event(_refund_event(cancelled, "21.65", "e1")))
    assert asyncio.run(svc.get(order.order_id)).status == OrderStatus.CANCELLED


def test_customer_history_counts_windows_and_averages_paid_orders() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    placed, _ = asyncio.run(
        OrdersService(FakeOrderActors(), FakeSequences(), FakeOrderViews()).place(
            PlaceOrder.model_validate(factories.order(user_id="u1"))
        )
    )
    base = summary_of(placed)

    def view(order_id: str, hours_ago: float, status: OrderStatus, total: str) -> OrderSummary:
        at = now - timedelta(hours=hours_ago)
        totals = base.totals.model_copy(update={"total": Decimal(total)})
        return base.model_copy(
            update={"order_id": order_id, "created_at": at, "status": status, "totals": totals}
        )

    orders = [
        view("scored", 0, OrderStatus.PENDING, "500.00"),  # the order being scored
        view("a", 2, OrderStatus.PAYMENT_FAILED, "900.00"),  # counts, but was never paid
        view("b", 30, OrderStatus.DELIVERED, "100.00"),
        view("c", 24 * 10, OrderStatus.REFUNDED, "50.01"),
    ]
    seen = customer_history("u1", orders, "scored", now)
    assert (seen.order_count, seen.orders_last_24h, seen.orders_last_7d) == (3, 1, 2)
    assert seen.avg_order_amount == Decimal("75.00")  # (100.00 + 50.01) / 2, half-even
    assert seen.first_order_at == now - timedelta(days=10)
    nobody = customer_history("u2", [], None, now)
    assert nobody.order_count == 0 and nobody.avg_order_amount == 0
    assert nobody.first_order_at is None
