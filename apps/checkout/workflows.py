"""The checkout saga (SPEC "Checkout saga"): orchestrator and activities.

Only the durabletask programming model is used (call_activity with retry policies,
wait_for_external_event, create_timer, when_any), so the same code can run on Dapr
Workflow or Azure's Durable Task Scheduler. The orchestrator is deterministic: no I/O, no
clock, no randomness, and no try/except around activity calls (the SDK ignores a retry
policy then): a business refusal is an activity *result* (`ok: false`), only transient
failures raise and are retried.

Activities are thin, idempotent wrappers around the ports. The order id is the workflow
instance id; every side effect is keyed by it: order transitions carry
`{instance}:{step}` transition ids, the PaymentIntent's Stripe idempotency key is
`{order}:intent`, the reservation and the promo redemption are idempotent by order id,
`OrderPlaced` has the event id `{order}:placed`. A replayed or retried step changes nothing.

Steps: price (cart or items, promo, tax, shipping) -> redeem promo -> create order ->
reserve stock (all or none) -> fraud score (reject / hold for staff review / approve) ->
awaiting_payment -> create and confirm the PaymentIntent -> wait for the payment result
(external event `payment_result`, raised from payment-events) or the timeout -> paid,
commit stock, clear the cart, publish `OrderPlaced`. Every failure compensates what was
done: the stock released, the payment cancelled or refunded, the promo use given back, the
order `cancelled` or `payment_failed` with a reason the shopper can read.
"""

from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from dapr.ext.workflow import (
    DaprWorkflowContext,
    RetryPolicy,
    WorkflowActivityContext,
    when_any,
)

from apps.checkout import domain
from apps.checkout.promotions import PromotionBook
from apps.checkout.rates import Rates
from apps.contracts.catalog import Product
from apps.contracts.checkout import CheckoutInput, PaymentResult, PricedOrder
from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.events import EventEnvelope
from apps.contracts.fraud import Decision
from apps.contracts.names import AppId, Topic
from apps.contracts.orders import Order, OrderPlaced, OrderStatus, TransitionRequest
from apps.contracts.payments import PaymentStatus

#: Transient failures (an app restarting, a sidecar hiccup) are retried for about two
#: minutes; a step that still fails fails the saga, and the order's own payment-timeout
#: reminder cancels it (stock released by order-events).
RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=1),
    max_number_of_attempts=12,
    backoff_coefficient=2,
    max_retry_interval=timedelta(seconds=15),
)

PAYMENT_RESULT_EVENT = "payment_result"
FRAUD_REVIEW_EVENT = "fraud_review"
HOLD_MARGIN_SECONDS = 15 * 60
MAX_HOLD_SECONDS = 7 * 24 * 3600


class CheckoutPorts(Protocol):
    """What the activities need from other apps (blocking: activities run in threads)."""

    def get_products(self, product_ids: list[str]) -> dict[str, Product]: ...

    def get_cart(self, cart_id: str) -> dict[str, Any] | None: ...

    def redeem_promo(self, order_id: str, code: str, email: str) -> str | None: ...

    def release_promo(self, order_id: str, code: str) -> None: ...

    def place_order(self, payload: dict[str, Any]) -> Order: ...

    def transition_order(self, order_id: str, payload: dict[str, Any]) -> Order: ...

    def get_order(self, order_id: str) -> Order: ...

    def reserve_stock(self, payload: dict[str, Any]) -> None: ...

    def release_stock(self, order_id: str, reason: str) -> None: ...

    def commit_stock(self, order_id: str) -> None: ...

    def score_fraud(self, context: dict[str, Any]) -> dict[str, Any]: ...

    def create_payment(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    def cancel_payment(self, order_id: str, reason: str) -> dict[str, Any] | None: ...

    def refund_payment(self, order_id: str, reason: str) -> dict[str, Any] | None: ...

    def clear_cart(self, cart_id: str, op_id: str) -> None: ...

    def publish(self, topic: str, envelope: EventEnvelope) -> None: ...


@dataclass(frozen=True)
class SagaDeps:
    ports: CheckoutPorts
    promotions: PromotionBook
    rates: Rates


_deps: SagaDeps | None = None


def bind(deps: SagaDeps | None) -> None:
    """Activities are registered as plain functions; the app binds their I/O at start-up."""
    global _deps
    _deps = deps


def deps() -> SagaDeps:
    if _deps is None:
        raise RuntimeError("checkout saga dependencies are not bound (app not started)")
    return _deps


# -- orchestrator ----------------------------------------------------------------------
def checkout_saga(
    ctx: DaprWorkflowContext, payload: dict[str, Any]
) -> Generator[Any, Any, dict[str, Any]]:
    request = CheckoutInput.model_validate(payload)
    iid = ctx.instance_id
    order_id = request.order_id

    def call(activity: Any, data: dict[str, Any]) -> Any:
        return ctx.call_activity(activity, input=data, retry_policy=RETRY)

    priced = yield call(price_order, payload)
    if not priced["ok"]:
        return _refused(order_id, priced["error"])
    promo = priced["priced"].get("promo_code")
    if promo:
        redeemed = yield call(
            redeem_promo, {"order_id": order_id, "code": promo, "email": str(request.email)}
        )
        if not redeemed["ok"]:
            return _refused(order_id, redeemed["error"])
    order = yield call(
        create_order, {"request": payload, "priced": priced["priced"], "instance_id": iid}
    )
    undo = {"order_id": order_id, "instance_id": iid, "promo_code": promo}

    held = yield call(
        reserve_stock,
        {
            "order_id": order_id,
            "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in order["items"]],
            "ttl_seconds": min(
                request.payment_timeout_seconds
                + request.review_timeout_seconds
                + HOLD_MARGIN_SECONDS,
                MAX_HOLD_SECONDS,
            ),
        },
    )
    if not held["ok"]:
        # All or nothing: nothing is held, so only the order and the promo use are undone.
        yield call(compensate, {**undo, "release_stock": False, "reason": held["error"]["message"]})
        return _refused(order_id, held["error"], order)

    fraud = yield call(score_fraud, {"request": payload, "priced": priced})
    decision = fraud["decision"]
    if decision == Decision.REVIEW:
        verdict = ctx.wait_for_external_event(FRAUD_REVIEW_EVENT)
        expiry = ctx.create_timer(timedelta(seconds=request.review_timeout_seconds))
        winner = yield when_any([verdict, expiry])
        decision = (
            Decision.APPROVE
            if winner == verdict and (verdict.get_result() or {}).get("decision") == "approve"
            else Decision.REJECT
        )
    if decision == Decision.REJECT:
        reason = "We could not accept this order. Please contact support."
        yield call(compensate, {**undo, "release_stock": True, "reason": reason})
        return _refused(
            order_id,
            {"code": "FRAUD_REJECTED", "message": reason, "details": {"score": fraud}},
            order,
        )

    awaiting = yield call(
        transition, {**undo, "to": OrderStatus.AWAITING_PAYMENT, "reason": "payment requested"}
    )
    if not awaiting["ok"]:  # cancelled by the shopper meanwhile
        reason = awaiting["error"]["message"]
        yield call(compensate, {**undo, "release_stock": True, "reason": reason})
        return _refused(order_id, awaiting["error"], order)
    payment = yield call(
        create_payment,
        {
            "order_id": order_id,
            "amount": order["totals"]["total"],
            "currency": order["totals"]["currency"],
            "payment_method": request.payment_method,
            "email": str(request.email),
        },
    )
    status, why, timed_out = payment["status"], payment.get("failure_reason") or "", False
    if status == PaymentStatus.PROCESSING:
        result = ctx.wait_for_external_event(PAYMENT_RESULT_EVENT)
        expiry = ctx.create_timer(timedelta(seconds=request.payment_timeout_seconds))
        winner = yield when_any([result, expiry])
        if winner == result:
            outcome = PaymentResult.model_validate(result.get_result())
            status, why = outcome.status, outcome.reason
        else:
            # No result in time: cancel the PaymentIntent, unless it succeeded after all.
            settled = yield call(
                cancel_payment, {"order_id": order_id, "reason": "payment timed out"}
            )
            status, timed_out = settled["status"], True
            why = "Payment was not completed in time"

    if status != PaymentStatus.SUCCEEDED:
        reason = why or "The payment was declined"
        yield call(
            compensate,
            {
                **undo,
                "release_stock": True,
                "reason": reason,
                "to": OrderStatus.CANCELLED if timed_out else OrderStatus.PAYMENT_FAILED,
            },
        )
        return {
            "outcome": "cancelled" if timed_out else "payment_failed",
            "order_id": order_id,
            "order_number": order["order_number"],
            "reason": {"code": "PAYMENT_FAILED", "message": reason},
        }

    paid = yield call(transition, {**undo, "to": OrderStatus.PAID, "reason": "payment received"})
    if not paid["ok"]:
        # The order was cancelled while the payment went through: give the money back.
        reason = paid["error"]["message"]
        yield call(compensate, {**undo, "release_stock": True, "refund": True, "reason": reason})
        return _refused(order_id, paid["error"], order)

    committed = yield call(commit_stock, {"order_id": order_id})
    if request.cart_id:
        yield call(clear_cart, {"cart_id": request.cart_id, "op_id": f"{iid}:clear"})
    yield call(publish_order_placed, {"order": paid["order"], "request": payload})
    return {
        "outcome": "paid",
        "order_id": order_id,
        "order_number": order["order_number"],
        "totals": order["totals"],
        "payment_intent_id": payment["payment_intent_id"],
        "stock_committed": committed["ok"],
    }


def _refused(
    order_id: str, error: dict[str, Any], order: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"outcome": "rejected", "order_id": order_id, "reason": error}
    if order is not None:
        out["order_number"] = order["order_number"]
    return out


def _error(exc: DomainError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}


# -- activities --------------------------------------------------------------------------
def price_order(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Snapshot the cart (or the items sent) and the products; price them with the promo,
    the destination's tax and the shipping method. A business refusal is a result."""
    request = CheckoutInput.model_validate(payload)
    d = deps()
    items, promo_code = request.items, request.promo_code
    if items is None:
        cart = d.ports.get_cart(request.cart_id) if request.cart_id else None
        items, cart_promo = domain.cart_items(cart)
        if not items:
            return {"ok": False, "error": {"code": "EMPTY_CART", "message": "Your cart is empty"}}
        promo_code = promo_code or cart_promo
    products = d.ports.get_products([item.product_id for item in items])
    address = d.rates.validate_address(request.shipping_address)
    if not address.valid or address.address is None:
        return {
            "ok": False,
            "error": {
                "code": ErrorCode.UNPROCESSABLE_ENTITY,
                "message": "The shipping address is not valid",
                "details": {"errors": [e.model_dump() for e in address.errors]},
            },
        }
    promo = (
        domain.PromoCheck(code=promo_code, terms=d.promotions.terms(promo_code))
        if promo_code
        else None
    )
    quoted = domain.quote(
        items, products, address.address, request.shipping_method, promo, _now(), d.rates
    )
    if not quoted.valid or quoted.priced is None:
        first = quoted.problems[0] if quoted.problems else None
        return {
            "ok": False,
            "error": {
                "code": ErrorCode.UNPROCESSABLE_ENTITY,
                "message": first.message if first else "Nothing to order",
                "details": {"problems": [p.model_dump(mode="json") for p in quoted.problems]},
            },
        }
    return {
        "ok": True,
        "priced": quoted.priced.model_dump(mode="json"),
        "shares": _category_shares(quoted.priced, products),
    }


def redeem_promo(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Count this order against the code's usage limits (idempotent by order id)."""
    problem = deps().ports.redeem_promo(payload["order_id"], payload["code"], payload["email"])
    if problem:
        return {"ok": False, "error": {"code": "PROMO_LIMIT_REACHED", "message": problem}}
    return {"ok": True}


def create_order(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Idempotent: the orders app creates an order id once and answers it again on retry."""
    request = CheckoutInput.model_validate(payload["request"])
    priced = PricedOrder.model_validate(payload["priced"])
    order = deps().ports.place_order(
        {
            "order_id": request.order_id,
            "email": str(request.email),
            "user_id": request.user_id,
            "items": [line.model_dump(mode="json") for line in priced.lines],
            "totals": priced.totals.model_dump(mode="json"),
            "shipping_address": request.shipping_address.model_dump(mode="json"),
            "billing_address": (request.billing_address or request.shipping_address).model_dump(
                mode="json"
            ),
            "correlation_id": request.correlation_id,
            # The saga decides about payment; the order's own reminder is the safety net.
            "payment_timeout_seconds": min(
                request.payment_timeout_seconds
                + request.review_timeout_seconds
                + HOLD_MARGIN_SECONDS,
                MAX_HOLD_SECONDS,
            ),
        }
    )
    return order.model_dump(mode="json")


def reserve_stock(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Idempotent by order id; a shortage is a result (compensate), not a retry."""
    try:
        deps().ports.reserve_stock(payload)
    except DomainError as exc:
        if exc.code in (ErrorCode.CONFLICT, ErrorCode.UNPROCESSABLE_ENTITY):
            return {"ok": False, "error": _error(exc)}
        raise
    return {"ok": True}


def score_fraud(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The fraud app's decision (its bands are configuration: FRAUD_REVIEW_THRESHOLD,
    FRAUD_REJECT_THRESHOLD). Guests and first orders have no history to show."""
    request = CheckoutInput.model_validate(payload["request"])
    priced = PricedOrder.model_validate(payload["priced"]["priced"])
    shares = payload["priced"]["shares"]
    billing = request.billing_address or request.shipping_address
    context = {
        "amount": float(priced.totals.total),
        "currency": priced.totals.currency,
        "item_count": sum(line.quantity for line in priced.lines),
        "share_electronics": shares["electronics"],
        "share_gift_cards": shares["gift_cards"],
        "account_age_days": 0,
        "orders_last_24h": 0,
        "orders_last_7d": 0,
        "avg_order_amount": 0,
        "email": str(request.email),
        "shipping_country": request.shipping_address.country,
        "billing_country": billing.country,
        "hour": deps().rates.local_hour(request.shipping_address, _now()),
        "payment_method_age_days": 0,
        "is_guest": request.user_id is None,
    }
    score = deps().ports.score_fraud(context)
    return {
        "decision": score["decision"],
        "probability": score["probability"],
        "model_version": score["model_version"],
    }


def transition(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Move the order (transition id `{instance}:{status}`: a retry is a no-op); a refused
    transition (the order moved on meanwhile) is a result."""
    try:
        order = _move(payload["order_id"], payload["instance_id"], payload["to"], payload["reason"])
    except DomainError as exc:
        if exc.code == ErrorCode.CONFLICT:
            return {"ok": False, "error": _error(exc)}
        raise
    return {"ok": True, "order": order.model_dump(mode="json")}


def _move(order_id: str, instance_id: str, to: str, reason: str) -> Order:
    """One order transition of this saga; its id `{instance}:{status}` makes a retry a no-op."""
    req = TransitionRequest(
        to=to, reason=reason, transition_id=f"{instance_id}:{to}", actor="checkout"
    )
    return deps().ports.transition_order(order_id, req.model_dump(mode="json"))


def create_payment(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Create and confirm the PaymentIntent once per order (Stripe idempotency key
    `{order}:intent`); a retry answers the same payment."""
    return deps().ports.create_payment(payload)


def cancel_payment(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Cancel the order's PaymentIntent; answers the payment's final status (`succeeded` if
    the money came in after all, which the saga then keeps)."""
    payment = deps().ports.cancel_payment(payload["order_id"], payload["reason"])
    return {"status": payment["status"] if payment else PaymentStatus.FAILED}


def compensate(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Undo what the saga did, each step idempotent: refund, release the stock, give the
    promo use back, move the order to `cancelled` / `payment_failed` with the reason (an
    order already ended stays as it is)."""
    d = deps()
    order_id, reason = payload["order_id"], payload["reason"]
    if payload.get("refund"):
        d.ports.refund_payment(order_id, reason)
    if payload.get("release_stock"):
        d.ports.release_stock(order_id, reason)
    if payload.get("promo_code"):
        d.ports.release_promo(order_id, payload["promo_code"])
    to = payload.get("to") or OrderStatus.CANCELLED
    try:
        order = _move(order_id, payload["instance_id"], to, reason)
    except DomainError as exc:
        if exc.code != ErrorCode.CONFLICT:
            raise
        order = d.ports.get_order(order_id)
    return {"status": order.status}


def commit_stock(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Turn the holds into sales (idempotent; catalog also commits on OrderPaid)."""
    try:
        deps().ports.commit_stock(payload["order_id"])
    except DomainError as exc:
        if exc.code in (ErrorCode.CONFLICT, ErrorCode.RESOURCE_NOT_FOUND):
            return {"ok": False, "error": _error(exc)}
        raise
    return {"ok": True}


def clear_cart(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    deps().ports.clear_cart(payload["cart_id"], payload["op_id"])
    return {"ok": True}


def publish_order_placed(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Published after the paid state is committed; the event id is fixed per order, so a
    retried publish is deduplicated by consumers."""
    order = Order.model_validate(payload["order"])
    request = CheckoutInput.model_validate(payload["request"])
    envelope = order_placed(order, request.correlation_id)
    deps().ports.publish(Topic.ORDER_EVENTS, envelope)
    return {"ok": True, "event_id": envelope.event_id}


def order_placed(order: Order, correlation_id: str) -> EventEnvelope:
    """The `OrderPlaced` envelope of a paid order (event id `{order_id}:placed`)."""
    at = order.paid_at or order.updated_at
    event = OrderPlaced(
        order_id=order.order_id,
        order_number=order.order_number,
        email=order.email,
        user_id=order.user_id,
        status=order.status,
        previous_status=OrderStatus.AWAITING_PAYMENT,
        reason="order placed",
        totals=order.totals,
        items=order.items,
        version=order.version,
        at=at,
        created_at=order.created_at,
    )
    return EventEnvelope.of(
        event,
        correlation_id=correlation_id,
        source=AppId.CHECKOUT,
        event_id=f"{order.order_id}:placed",
        occurred_at=at,
    )


ACTIVITIES = (
    price_order,
    redeem_promo,
    create_order,
    reserve_stock,
    score_fraud,
    transition,
    create_payment,
    cancel_payment,
    compensate,
    commit_stock,
    clear_cart,
    publish_order_placed,
)


def _category_shares(priced: PricedOrder, products: dict[str, Product]) -> dict[str, float]:
    total = sum((line.line_total for line in priced.lines), Decimal("0"))
    if total <= 0:
        return {"electronics": 0.0, "gift_cards": 0.0}

    def share(test: Any) -> float:
        part = sum(
            (li.line_total for li in priced.lines if test(products[li.product_id].category_slug)),
            Decimal("0"),
        )
        return round(float(part / total), 6)

    return {
        "electronics": share(lambda slug: slug.startswith("electronics")),
        "gift_cards": share(lambda slug: "gift-card" in slug),
    }


def _now() -> datetime:
    return datetime.now(UTC)
