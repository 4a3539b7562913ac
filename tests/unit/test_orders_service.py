"""Orders use cases with the real state machine in memory (fake actor port)."""

import asyncio
from datetime import UTC, datetime

import pytest

from apps.contracts.errors import Conflict, NotFound
from apps.contracts.orders import OrderStatus, TransitionRequest
from apps.orders.domain import format_order_number
from apps.orders.service import OrdersService, PlaceOrder
from tests import factories
from tests.fakes.ports import FakeOrderActors, FakeSequences


def test_order_numbers_are_human_friendly() -> None:
    assert format_order_number(2026, 123) == "SC-2026-000123"
    assert format_order_number(2026, 1234567) == "SC-2026-1234567"
    with pytest.raises(ValueError):
        format_order_number(2026, 0)


def test_place_is_idempotent_and_numbers_are_unique() -> None:
    svc = OrdersService(FakeOrderActors(), FakeSequences())
    now = datetime(2026, 1, 2, tzinfo=UTC)
    cmd = PlaceOrder.model_validate(factories.order())
    order, created = asyncio.run(svc.place(cmd, now))
    again, created_again = asyncio.run(svc.place(cmd, now))
    assert created and not created_again
    assert order.order_number == again.order_number == "SC-2026-000001"
    other, _ = asyncio.run(svc.place(PlaceOrder.model_validate(factories.order()), now))
    assert other.order_number == "SC-2026-000002"


def test_guest_lookup_and_refused_transition() -> None:
    svc = OrdersService(FakeOrderActors(), FakeSequences())
    cmd = PlaceOrder.model_validate(factories.order())
    order, _ = asyncio.run(svc.place(cmd))
    assert asyncio.run(svc.get(order.order_id, str(cmd.email).upper())).order_id == order.order_id
    with pytest.raises(NotFound):
        asyncio.run(svc.get(order.order_id, "someone@else.com"))
    with pytest.raises(Conflict) as err:
        asyncio.run(
            svc.transition(
                order.order_id, TransitionRequest.model_validate(factories.transition("shipped"))
            )
        )
    assert err.value.details["current_status"] == OrderStatus.PENDING
