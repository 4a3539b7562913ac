"""Returns inside an order, pure: window, quantities, exact refunds, the return's steps."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from actors.order import logic, returns
from apps.contracts.orders import CreateOrder, Order, OrderStatus, TransitionRequest
from apps.contracts.returns import (
    DecideReturn,
    RequestReturn,
    ReturnLineIn,
    ReturnProgress,
    ReturnStatus,
)
from apps.orders.returns import order_of
from tests import factories

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = returns.Policy(window=timedelta(days=30))
S = OrderStatus


def delivered(quantities: tuple[int, ...] = (3, 1), shipping: str = "5.00") -> Order:
    """Two lines (10.00 and 7.50 a unit), a 2.00 discount, 8.25% tax, shipping, delivered."""
    body = factories.order()
    body["order_number"] = "SC-2026-000007"
    items = [
        {
            "product_id": "p-a",
            "variant_id": "p-a-v1",
            "sku": "SKU-A",
            "name": "Mug",
            "quantity": quantities[0],
            "unit_price": "10.00",
            "line_total": str(Decimal("10.00") * quantities[0]),
        },
        {
            "product_id": "p-b",
            "variant_id": "p-b-v1",
            "sku": "SKU-B",
            "name": "Tea",
            "quantity": quantities[1],
            "unit_price": "7.50",
            "line_total": str(Decimal("7.50") * quantities[1]),
        },
    ]
    subtotal = sum(Decimal(i["line_total"]) for i in items)
    tax = ((subtotal - Decimal("2.00")) * Decimal("0.0825")).quantize(Decimal("0.01"))
    total = subtotal - Decimal("2.00") + tax + Decimal(shipping)
    body["items"] = items
    body["totals"] = {
        "subtotal": str(subtotal),
        "discount": "2.00",
        "tax": str(tax),
        "shipping": shipping,
        "total": str(total),
        "currency": "USD",
    }
    order = logic.create(CreateOrder.model_validate(body), NOW - timedelta(days=5)).order
    for step, to in enumerate((S.AWAITING_PAYMENT, S.PAID, S.FULFILLING, S.SHIPPED, S.DELIVERED)):
        decision = logic.transition(
            order,
            TransitionRequest(to=to, transition_id=f"t{step}"),
            NOW - timedelta(days=4 - step * 0.5),
        )
        assert isinstance(decision, logic.Applied)
        order = decision.order
    return order


def ask(
    order: Order, key: str, *lines: tuple[str, int], when: datetime = NOW
) -> returns.ReturnDecision:
    req = RequestReturn(
        request_key=key,
        lines=[
            ReturnLineIn(product_id=f"p-{p}", variant_id=f"p-{p}-v1", quantity=n, reason="damaged")
            for p, n in lines
        ],
    )
    return returns.request(order, req, POLICY, when)


def test_a_partial_return_refunds_its_share_of_the_goods_with_tax() -> None:
    order = delivered()
    decision = ask(order, "k1", ("a", 1))
    assert isinstance(decision, returns.ReturnChanged)
    record = decision.record
    assert record.return_id == f"ret-{order.order_id}-1"
    assert order_of(record.return_id) == order.order_id
    # goods cost 37.50 - 2.00 + 2.93 tax = 38.43; one mug is 10.00 of 37.50 list value.
    assert order.totals.total - order.totals.shipping == Decimal("38.43")
    assert record.refund_amount == Decimal("10.25") and record.shipping_refund == 0
    assert type(decision.event).__name__ == "ReturnRequested"
    assert decision.order.version == order.version + 1


def test_returns_add_up_to_the_exact_total_and_shipping_comes_back_last() -> None:
    order = delivered()
    first = ask(order, "k1", ("a", 1))
    assert isinstance(first, returns.ReturnChanged)
    second = ask(first.order, "k2", ("a", 2), ("b", 1))
    assert isinstance(second, returns.ReturnChanged)
    refunds = [r.total_refund for r in second.order.returns]
    assert sum(refunds) == order.totals.total  # to the cent, shipping included
    assert second.record.shipping_refund == order.totals.shipping


def test_more_than_was_bought_or_an_unknown_line_is_refused() -> None:
    order = delivered()
    over = ask(order, "k1", ("a", 4))
    assert isinstance(over, returns.ReturnRefused)
    assert over.error.code == "INVALID_REQUEST"
    assert over.error.details["lines"]["p-a/p-a-v1"] == {"asked": 4, "returnable": 3}
    first = ask(order, "k1", ("a", 2))
    assert isinstance(first, returns.ReturnChanged)
    again = ask(first.order, "k2", ("a", 1), ("a", 1))  # split lines add up
    assert isinstance(again, returns.ReturnRefused)
    unknown = ask(order, "k3", ("zz", 1))
    assert isinstance(unknown, returns.ReturnRefused) and unknown.error.details["lines"]


def test_outside_the_window_or_before_delivery_is_refused() -> None:
    order = delivered()
    late = ask(order, "k1", ("a", 1), when=NOW + timedelta(days=40))
    assert isinstance(late, returns.ReturnRefused) and "window" in late.error.message
    shipped = order.model_copy(update={"status": S.SHIPPED, "history": order.history[:-1]})
    early = ask(shipped, "k1", ("a", 1))
    assert isinstance(early, returns.ReturnRefused) and early.error.code == "CONFLICT"


def test_a_retried_request_is_the_same_return() -> None:
    first = ask(delivered(), "k1", ("a", 1))
    assert isinstance(first, returns.ReturnChanged)
    again = ask(first.order, "k1", ("a", 1))
    assert isinstance(again, returns.ReturnSame)
    assert again.record.return_id == first.record.return_id and len(again.order.returns) == 1


def test_a_rejected_return_frees_its_units_and_needs_a_reason() -> None:
    first = ask(delivered(), "k1", ("a", 3))
    assert isinstance(first, returns.ReturnChanged)
    rid = first.record.return_id
    no_reason = returns.decide(first.order, DecideReturn(return_id=rid, approve=False), NOW)
    assert isinstance(no_reason, returns.ReturnRefused)
    rejected = returns.decide(
        first.order, DecideReturn(return_id=rid, approve=False, reason="worn"), NOW
    )
    assert isinstance(rejected, returns.ReturnChanged)
    assert rejected.record.status == ReturnStatus.REJECTED
    assert isinstance(ask(rejected.order, "k2", ("a", 3)), returns.ReturnChanged)
    # A decided return cannot be decided the other way.
    flip = returns.decide(rejected.order, DecideReturn(return_id=rid, approve=True), NOW)
    assert isinstance(flip, returns.ReturnRefused) and flip.error.code == "CONFLICT"


def test_a_return_goes_approved_received_refunded_once_each() -> None:
    first = ask(delivered(), "k1", ("b", 1))
    assert isinstance(first, returns.ReturnChanged)
    rid = first.record.return_id
    approved = returns.decide(
        first.order, DecideReturn(return_id=rid, approve=True, return_shipment_id=f"shp-{rid}"), NOW
    )
    assert isinstance(approved, returns.ReturnChanged)
    assert approved.record.return_shipment_id == f"shp-{rid}"
    early = returns.progress(
        first.order, ReturnProgress(return_id=rid, status=ReturnStatus.RECEIVED), NOW
    )
    assert isinstance(early, returns.ReturnRefused)  # not approved yet
    received = returns.progress(
        approved.order, ReturnProgress(return_id=rid, status=ReturnStatus.RECEIVED), NOW
    )
    assert isinstance(received, returns.ReturnChanged)
    refunded = returns.progress(
        received.order,
        ReturnProgress(
            return_id=rid, status=ReturnStatus.REFUNDED, refunded_amount=Decimal("8.01")
        ),
        NOW,
    )
    assert isinstance(refunded, returns.ReturnChanged)
    assert refunded.record.refunded_amount == Decimal("8.01")
    for status in (ReturnStatus.RECEIVED, ReturnStatus.REFUNDED):
        same = returns.progress(refunded.order, ReturnProgress(return_id=rid, status=status), NOW)
        assert isinstance(same, returns.ReturnSame)


def test_never_more_than_the_order_still_holds() -> None:
    order = delivered()
    # A staff refund of all but 3.00 came first: the return refunds at most 3.00.
    order = order.model_copy(update={"refunded_amount": order.totals.total - Decimal("3.00")})
    decision = ask(order, "k1", ("a", 3), ("b", 1))
    assert isinstance(decision, returns.ReturnChanged)
    assert decision.record.total_refund == Decimal("3.00")
