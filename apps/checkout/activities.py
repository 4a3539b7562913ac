"""The checkout saga's activities: thin, idempotent wrappers over the ports.

Each takes the pydantic model of exactly what it needs and answers one (serialised as JSON
for the workflow engine), with its own duration in `took_ms`. A business refusal (short
stock, a used-up promo code, an order the shopper cancelled meanwhile) is an answer with a
`refusal`; only transient failures raise, and the engine retries them. Every side effect is
keyed by the order: order transitions carry `{instance}:{status}` ids, the PaymentIntent's
Stripe idempotency key is `{order}:intent`, the reservation, the promo redemption and the
order itself are idempotent by order id, `OrderPlaced` has the event id `{order}:placed`.
"""

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from dapr.ext.workflow import WorkflowActivityContext
from pydantic import BaseModel

from apps.checkout import domain
from apps.checkout.promotions import PromotionBook
from apps.checkout.rates import Rates
from apps.contracts.cart import Cart
from apps.contracts.catalog import Product
from apps.contracts.checkout import (
    CancelPaymentStep,
    Compensated,
    Compensation,
    Done,
    PaymentSettled,
    PaymentStarted,
    PaymentStep,
    Placed,
    PlaceStep,
    PromoRedemption,
    Refusal,
    ReserveStep,
    ScoreStep,
    Settled,
    SettleStep,
    StepResult,
    Verdict,
)
from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.events import EventEnvelope
from apps.contracts.fraud import FraudContext, FraudScore
from apps.contracts.identity import AccountStanding
from apps.contracts.inventory import ReservationLine, ReserveRequest
from apps.contracts.names import AppId, Topic
from apps.contracts.orders import (
    CustomerHistory,
    Order,
    OrderPlaced,
    OrderStatus,
    PlaceOrder,
    TransitionRequest,
)
from apps.contracts.payments import CreatePayment, Payment, PaymentStatus


class CheckoutPorts(Protocol):
    """What the activities need from other apps and checkout's own store (blocking:
    activities run in worker threads)."""

    def get_products(self, product_ids: list[str]) -> dict[str, Product]: ...

    def get_cart(self, cart_id: str) -> Cart | None: ...

    def redeem_promo(self, redemption: PromoRedemption) -> str | None:
        """Count the order against the code's limits; the reason when they refuse it."""
        ...

    def release_promo(self, order_id: str, code: str) -> None: ...

    def place_order(self, cmd: PlaceOrder) -> Order: ...

    def transition_order(self, order_id: str, req: TransitionRequest) -> Order: ...

    def get_order(self, order_id: str) -> Order: ...

    def reserve_stock(self, req: ReserveRequest) -> None: ...

    def release_stock(self, order_id: str, reason: str) -> None: ...

    def commit_stock(self, order_id: str) -> None: ...

    def account_standing(self, user_id: str, payment_method: str) -> AccountStanding | None:
        """None: no such active account (scored as a new one)."""
        ...

    def customer_history(self, user_id: str, exclude_order_id: str) -> CustomerHistory | None: ...

    def score_fraud(self, context: FraudContext) -> FraudScore: ...

    def create_payment(self, cmd: CreatePayment) -> Payment: ...

    def cancel_payment(self, order_id: str, reason: str) -> Payment | None: ...

    def refund_payment(self, order_id: str, reason: str) -> None: ...

    def clear_cart(self, cart_id: str, op_id: str) -> None: ...

    def publish(self, topic: str, envelope: EventEnvelope) -> None: ...


@dataclass(frozen=True)
class SagaDeps:
    ports: CheckoutPorts
    promotions: PromotionBook
    rates: Rates
    #: Told the instance id when one of its steps has ended here (wakes long polls).
    step_done: Callable[[str], None] | None = None


_deps: SagaDeps | None = None


def bind(deps: SagaDeps | None) -> None:
    """Activities are registered as plain functions; the app binds their I/O at start-up."""
    global _deps
    _deps = deps


def deps() -> SagaDeps:
    if _deps is None:
        raise RuntimeError("checkout saga dependencies are not bound (app not started)")
    return _deps


In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=StepResult)
Activity = Callable[[WorkflowActivityContext, Any], dict[str, Any]]


def activity(model: type[In], *, quiet: bool = False) -> Callable[[Callable[[In], Out]], Activity]:
    """An activity of `fn`: its input validated as `model`, its answer timed and dumped.
    Its end wakes the shoppers' long polls on the saga (`step_done`) unless it is `quiet`:
    a step after which the saga always goes on (its status and what the shopper must do
    are unchanged) and that refused nothing. Every wake costs a few reads of the saga's
    state, each a read of the workflow store."""

    def wrap(fn: Callable[[In], Out]) -> Activity:
        @functools.wraps(fn)
        def run(ctx: WorkflowActivityContext, payload: Any) -> dict[str, Any]:
            started = time.perf_counter()
            out = fn(model.model_validate(payload))
            out.took_ms = round((time.perf_counter() - started) * 1000, 2)
            told = deps().step_done
            if told is not None and not (quiet and getattr(out, "refusal", None) is None):
                told(ctx.workflow_id)
            return out.model_dump(mode="json")

        return run

    return wrap


# -- the steps ---------------------------------------------------------------------------
@activity(PlaceStep, quiet=True)
def place_order(step: PlaceStep) -> Placed:
    """Price the request (products, promo, shipping, tax), count the promo use, create the
    order. A retry prices again but the order, created once, keeps its first totals."""
    request, d = step.request, deps()
    items, promo_code = request.items, request.promo_code
    if items is None:  # a saga started before carts were snapshotted at the POST
        cart = d.ports.get_cart(request.cart_id) if request.cart_id else None
        items, cart_promo = domain.cart_items(cart)
        promo_code = promo_code or cart_promo
        if not items:
            return Placed(refusal=Refusal(code="EMPTY_CART", message="Your cart is empty"))
    products = d.ports.get_products([item.product_id for item in items])
    promo = (
        domain.PromoCheck(code=promo_code, terms=d.promotions.terms(promo_code))
        if promo_code
        else None
    )
    quoted = domain.quote(
        items,
        products,
        request.shipping_address,
        request.shipping_method,
        promo,
        _now(),
        d.rates,
    )
    if not quoted.valid or quoted.priced is None:
        first = quoted.problems[0] if quoted.problems else None
        return Placed(
            refusal=Refusal(
                code=ErrorCode.UNPROCESSABLE_ENTITY,
                message=first.message if first else "Nothing to order",
                details={"problems": [p.model_dump(mode="json") for p in quoted.problems]},
            )
        )
    priced = quoted.priced
    if priced.promo_code:
        problem = d.ports.redeem_promo(
            PromoRedemption(order_id=request.order_id, code=priced.promo_code, email=request.email)
        )
        if problem:
            return Placed(refusal=Refusal(code="PROMO_LIMIT_REACHED", message=problem))
    order = d.ports.place_order(
        PlaceOrder(
            order_id=request.order_id,
            email=request.email,
            user_id=request.user_id,
            items=priced.lines,
            totals=priced.totals,
            shipping_address=request.shipping_address,
            billing_address=request.billing_address or request.shipping_address,
            correlation_id=request.correlation_id,
            payment_timeout_seconds=step.payment_timeout_seconds,
        )
    )
    return Placed(
        order_number=order.order_number,
        totals=order.totals,
        lines=[ReservationLine(sku=li.sku, quantity=li.quantity) for li in order.items],
        promo_code=priced.promo_code,
        facts=domain.fraud_facts(priced, products),
    )


@activity(ReserveStep, quiet=True)
def reserve_stock(step: ReserveStep) -> Done:
    """All lines or none (idempotent by order id); a shortage is a refusal, not a retry."""
    try:
        deps().ports.reserve_stock(
            ReserveRequest(order_id=step.order_id, lines=step.lines, ttl_seconds=step.ttl_seconds)
        )
    except DomainError as exc:
        if exc.code in (ErrorCode.CONFLICT, ErrorCode.UNPROCESSABLE_ENTITY):
            return Done(refusal=_refusal(exc))
        raise
    return Done()


@activity(ScoreStep, quiet=True)
def score_fraud(step: ScoreStep) -> Verdict:
    """The fraud app's decision (bands are its configuration) on the order and, for a
    signed-in customer, the account's age and earlier orders."""
    d, now = deps(), _now()
    standing = history = None
    if step.user_id is not None:
        standing = d.ports.account_standing(step.user_id, step.payment_method)
        history = d.ports.customer_history(step.user_id, step.order_id)
    hour = d.rates.local_hour(step.shipping_address, now)
    score = d.ports.score_fraud(domain.fraud_context(step, hour, standing, history, now))
    return Verdict(
        decision=score.decision,
        probability=score.probability,
        model_version=score.model_version,
        top_features=score.top_features,
    )


@activity(PaymentStep)
def request_payment(step: PaymentStep) -> PaymentStarted:
    """`awaiting_payment`, then the PaymentIntent created and confirmed once per order
    (a retry answers the same payment). An order cancelled meanwhile is a refusal. With
    `step.settle`, a payment that succeeded at once is settled here as well (`settle`'s
    work, idempotent the same way): a retry of the whole finds the same payment and
    repeats none of the settlement."""
    try:
        move(step.order_id, step.instance_id, OrderStatus.AWAITING_PAYMENT, "payment requested")
    except DomainError as exc:
        if exc.code == ErrorCode.CONFLICT:
            return PaymentStarted(refusal=_refusal(exc))
        raise
    payment = deps().ports.create_payment(
        CreatePayment(
            order_id=step.order_id,
            amount=step.amount,
            currency=step.currency,
            payment_method=step.payment_method,
            email=step.email,
        )
    )
    started = PaymentStarted(
        status=payment.status,
        payment_intent_id=payment.payment_intent_id,
        failure_reason=payment.failure_reason,
    )
    if step.settle is not None and payment.status == PaymentStatus.SUCCEEDED:
        began = time.perf_counter()
        started.settled = settle_order(step.settle)
        started.settled.took_ms = round((time.perf_counter() - began) * 1000, 2)
    return started


@activity(CancelPaymentStep)
def cancel_payment(step: CancelPaymentStep) -> PaymentSettled:
    """Cancel the order's PaymentIntent; its final status (`succeeded` if the money came in
    after all, which the saga then keeps)."""
    payment = deps().ports.cancel_payment(step.order_id, step.reason)
    return PaymentSettled(status=payment.status if payment else PaymentStatus.FAILED)


def cancel_payment_of(order_id: str, reason: str) -> PaymentStatus | None:
    """`cancel_payment`'s work outside the saga (an operator terminating it): the final
    status of the order's PaymentIntent, None if it has none."""
    payment = deps().ports.cancel_payment(order_id, reason)
    return payment.status if payment else None


@activity(SettleStep)
def settle(step: SettleStep) -> Settled:
    """`paid`, the holds turned into sales, the cart cleared, `OrderPlaced` published (after
    a payment that did not succeed at once; `request_payment` settles one that did)."""
    return settle_order(step)


#: Threads for a step's calls that run alongside the activity's own (each call blocks its
#: thread on the app's event loop, as the activity's do).
_ALONGSIDE = ThreadPoolExecutor(max_workers=8, thread_name_prefix="checkout-alongside")


def settle_order(step: SettleStep) -> Settled:
    """`settle`'s work: each part idempotent, so a retry repeats none of them. An order
    cancelled while the payment went through is a refusal (the saga refunds it)."""
    d = deps()
    try:
        order = move(step.order_id, step.instance_id, OrderStatus.PAID, "payment received")
    except DomainError as exc:
        if exc.code == ErrorCode.CONFLICT:
            return Settled(refusal=_refusal(exc))
        raise
    # The commit runs alongside the cart and the event: none waits on another (a retry
    # repeats none of them: the commit, the clear and the event id are per order).
    commit = _ALONGSIDE.submit(d.ports.commit_stock, step.order_id)
    try:
        if step.cart_id:
            d.ports.clear_cart(step.cart_id, f"{step.instance_id}:clear")
        d.ports.publish(Topic.ORDER_EVENTS, order_placed(order, step.correlation_id))
    finally:
        try:  # catalog also commits on OrderPaid
            commit.result()
            committed = True
        except DomainError as exc:
            if exc.code not in (ErrorCode.CONFLICT, ErrorCode.RESOURCE_NOT_FOUND):
                raise
            committed = False
    return Settled(stock_committed=committed)


@activity(Compensation)
def compensate(step: Compensation) -> Compensated:
    """Undo what the saga did, each part idempotent: refund, release the stock, give the
    promo use back, move the order to `cancelled` / `payment_failed` with the reason (an
    order that already ended stays as it is)."""
    return Compensated(status=undo(step))


def compensate_outside(step: Compensation) -> OrderStatus | None:
    """`compensate`'s work for a saga an operator terminated, which may have stopped before
    its order was created (None then: there is nothing to undo but the promo use)."""
    try:
        return undo(step)
    except DomainError as exc:
        if exc.code != ErrorCode.RESOURCE_NOT_FOUND:
            raise
        return None


def undo(step: Compensation) -> OrderStatus:
    """The compensation itself (the `compensate` activity, and an operator's terminate)."""
    d = deps()
    if step.refund:
        d.ports.refund_payment(step.order_id, step.reason)
    if step.release_stock:
        d.ports.release_stock(step.order_id, step.reason)
    if step.promo_code:
        d.ports.release_promo(step.order_id, step.promo_code)
    try:
        order = move(step.order_id, step.instance_id, step.to, step.reason)
    except DomainError as exc:
        if exc.code != ErrorCode.CONFLICT:
            raise
        order = d.ports.get_order(step.order_id)
    return order.status


def move(order_id: str, instance_id: str, to: OrderStatus, reason: str) -> Order:
    """One order transition of this saga; its id `{instance}:{status}` makes a retry a no-op."""
    req = TransitionRequest(
        to=to, reason=reason, transition_id=f"{instance_id}:{to}", actor="checkout"
    )
    return deps().ports.transition_order(order_id, req)


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
    place_order,
    reserve_stock,
    score_fraud,
    request_payment,
    cancel_payment,
    settle,
    compensate,
)


def _refusal(exc: DomainError) -> Refusal:
    return Refusal(code=exc.code, message=exc.message, details=exc.details)


def _now() -> datetime:
    return datetime.now(UTC)
