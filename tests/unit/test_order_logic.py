"""The order state machine: every legal and illegal transition, idempotency, refunds,
payment timeout and the events each transition emits."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest

from actors.order import logic
from apps.contracts.orders import (
    CreateOrder,
    Order,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderPaid,
    OrderStatus,
    OrderStatusChanged,
    TransitionRequest,
)
from apps.orders.domain import summary_of
from tests import factories

S = OrderStatus
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

LEGAL = {
    (S.PENDING, S.AWAITING_PAYMENT),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.PAYMENT_FAILED),
    (S.AWAITING_PAYMENT, S.PAID),
    (S.AWAITING_PAYMENT, S.PAYMENT_FAILED),
    (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.PAID, S.FULFILLING),
    (S.PAID, S.CANCELLED),
    (S.PAID, S.REFUNDED),
    (S.PAID, S.PARTIALLY_REFUNDED),
    (S.FULFILLING, S.SHIPPED),
    (S.FULFILLING, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.REFUNDED),
    (S.SHIPPED, S.PARTIALLY_REFUNDED),
    (S.DELIVERED, S.COMPLETED),
    (S.DELIVERED, S.REFUNDED),
    (S.DELIVERED, S.PARTIALLY_REFUNDED),
    (S.COMPLETED, S.REFUNDED),
    (S.COMPLETED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.REFUNDED),
}


def new_order() -> Order:
    body = factories.order()
    body["order_number"] = "SC-2026-000001"
    return logic.create(CreateOrder.model_validate(body), NOW).order


def in_status(status: OrderStatus) -> Order:
    return new_order().model_copy(update={"status": status})


def req(to: OrderStatus, **kw: object) -> TransitionRequest:
    if to == S.PARTIALLY_REFUNDED:
        kw.setdefault("refund_amount", Decimal("1.00"))
    return TransitionRequest.model_validate(factories.transition(to.value, **kw))


def test_table_covers_every_status() -> None:
    assert set(logic.TRANSITIONS) == set(OrderStatus)
    assert {(a, b) for a, nxt in logic.TRANSITIONS.items() for b in nxt} == LEGAL


@pytest.mark.parametrize(("current", "to"), sorted(product(S, S)))
def test_every_transition_is_guarded(current: OrderStatus, to: OrderStatus) -> None:
    order = in_status(current)
    decision = logic.transition(order, req(to), NOW + timedelta(minutes=1))
    if (current, to) in LEGAL:
        assert isinstance(decision, logic.Applied)
        assert decision.order.status == to
        assert decision.order.version == order.version + 1
        assert decision.order.history[-1].from_status == current
        assert decision.order.history[-1].at == NOW + timedelta(minutes=1)
        assert decision.event.status == to and decision.event.previous_status == current
    else:
        assert isinstance(decision, logic.Rejected)
        assert decision.error.code == "CONFLICT"
        assert decision.error.current_status == current
        assert order.status == current  # unchanged


def test_create_emits_order_created_with_version_one() -> None:
    applied = logic.create(
        CreateOrder.model_validate({**factories.order(), "order_number": "SC-2026-000007"}), NOW
    )
    assert applied.order.status == S.PENDING and applied.order.version == 1
    assert isinstance(applied.event, OrderCreated)
    assert logic.event_id(applied.order) == f"{applied.order.order_id}:1"


@pytest.mark.parametrize(
    ("to", "event_type"),
    [(S.PAID, OrderPaid), (S.CANCELLED, OrderCancelled), (S.FULFILLING, OrderStatusChanged)],
)
def test_event_type_follows_the_target_status(to: OrderStatus, event_type: type) -> None:
    start = S.AWAITING_PAYMENT if to != S.FULFILLING else S.PAID
    decision = logic.transition(in_status(start), req(to), NOW)
    assert isinstance(decision, logic.Applied)
    assert type(decision.event) is event_type


def test_completed_emits_order_completed() -> None:
    decision = logic.transition(in_status(S.DELIVERED), req(S.COMPLETED), NOW)
    assert isinstance(decision, logic.Applied)
    assert isinstance(decision.event, OrderCompleted)


def test_same_transition_id_is_a_no_op() -> None:
    order = new_order()
    r = req(S.AWAITING_PAYMENT)
    first = logic.transition(order, r, NOW)
    assert isinstance(first, logic.Applied)
    again = logic.transition(first.order, r, NOW)
    assert isinstance(again, logic.Unchanged)
    assert again.order.version == first.order.version


def test_paid_at_and_cancel_reason_are_recorded() -> None:
    paid = logic.transition(in_status(S.AWAITING_PAYMENT), req(S.PAID), NOW)
    assert isinstance(paid, logic.Applied) and paid.order.paid_at == NOW
    cancelled = logic.transition(in_status(S.PENDING), req(S.CANCELLED, reason="changed mind"), NOW)
    assert isinstance(cancelled, logic.Applied)
    assert cancelled.order.cancel_reason == "changed mind"


def test_partial_refunds_accumulate_and_cannot_exceed_total() -> None:
    order = in_status(S.DELIVERED)  # total 21.65
    first = logic.transition(order, req(S.PARTIALLY_REFUNDED, refund_amount=Decimal("10.00")), NOW)
    assert isinstance(first, logic.Applied)
    assert first.order.refunded_amount == Decimal("10.00")
    # The event says how much has come back, so listings (and the dashboard) show it.
    assert first.event.refunded_amount == Decimal("10.00")
    assert summary_of(first.event).refunded_amount == Decimal("10.00")
    too_much = logic.transition(
        first.order, req(S.PARTIALLY_REFUNDED, refund_amount=Decimal("11.65")), NOW
    )
    assert isinstance(too_much, logic.Rejected) and too_much.error.code == "INVALID_REQUEST"
    missing = logic.transition(order, req(S.PARTIALLY_REFUNDED, refund_amount=None), NOW)
    assert isinstance(missing, logic.Rejected)
    full = logic.transition(first.order, req(S.REFUNDED), NOW)
    assert isinstance(full, logic.Applied)
    assert full.order.refunded_amount == order.totals.total


@pytest.mark.parametrize("status", list(S))
def test_payment_timeout_cancels_only_unpaid_orders(status: OrderStatus) -> None:
    decision = logic.payment_timeout(in_status(status))
    if status in (S.PENDING, S.AWAITING_PAYMENT):
        assert decision is not None and decision.to == S.CANCELLED
        assert decision.transition_id == logic.PAYMENT_TIMEOUT_TRANSITION_ID
    else:
        assert decision is None


def test_terminal_states() -> None:
    assert {S.CANCELLED, S.PAYMENT_FAILED, S.REFUNDED} == logic.TERMINAL
