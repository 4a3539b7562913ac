"""The checkout saga (SPEC "Checkout saga"): the orchestrator. Its activities are in
`activities.py`.

Only the durabletask programming model is used (call_activity with retry policies,
when_all, wait_for_external_event, create_timer, when_any), so the same code can run on
Dapr Workflow or Azure's Durable Task Scheduler. The orchestrator is deterministic: no I/O,
no clock but the context's, no randomness, and no try/except around activity calls (the
SDK ignores a retry policy then): a business refusal is an activity's answer (`refusal`),
only transient failures raise and are retried. The order id is the workflow instance id.

Steps (round trips to the engine in brackets):
1. [1] `place_order`: price the request (products, promo, tax, shipping), count the promo
   use, create the order.
2. [1] `reserve_stock` (all or none) alongside `score_fraud` (reject / hold for staff
   review / approve): neither depends on the other.
3. [1] `request_payment`: `awaiting_payment`, then the PaymentIntent created and confirmed;
   a payment that succeeded at once (most cards) is settled in the same activity
   (`paid`, the stock committed, the cart cleared, `OrderPlaced` published): the saga
   ends there.
4. otherwise the payment result (external event `payment_result`, raised from
   payment-events) or the timeout (then the PaymentIntent is cancelled, unless it
   succeeded after all). A payment Stripe holds for 3-D Secure waits for the shopper
   instead, with its own, longer authentication timeout; meanwhile the saga's custom status
   says so (`AWAITING_AUTHENTICATION`), and the checkout's state shows what the client needs.
5. [1] `settle` after such a wait: what `request_payment` does for a payment paid at once.

Every failure compensates exactly what was done (`compensate`): the payment refunded, the
stock released, the promo use given back, the order `cancelled` or `payment_failed` with a
reason the shopper can read.
"""

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, TypeVar

from dapr.ext.workflow import DaprWorkflowContext, RetryPolicy, when_all, when_any
from pydantic import BaseModel

from apps.checkout import domain
from apps.checkout.activities import (
    Activity,
    cancel_payment,
    compensate,
    place_order,
    request_payment,
    reserve_stock,
    score_fraud,
    settle,
)
from apps.contracts.checkout import (
    CancelPaymentStep,
    CheckoutInput,
    CheckoutOutcome,
    Compensated,
    Compensation,
    Done,
    PaymentResult,
    PaymentSettled,
    PaymentStarted,
    PaymentStep,
    Placed,
    PlaceStep,
    Refusal,
    ReserveStep,
    ScoreStep,
    Settled,
    SettleStep,
    StepResult,
    StepTiming,
    Verdict,
)
from apps.contracts.fraud import Decision
from apps.contracts.orders import OrderStatus
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
#: The saga's custom status while the shopper must authenticate the payment (3-D Secure).
AWAITING_AUTHENTICATION = "awaiting_authentication"
FRAUD_REVIEW_EVENT = "fraud_review"
#: The saga's custom status while staff review the order (operations tell its wait).
AWAITING_REVIEW = "awaiting_review"
HOLD_MARGIN_SECONDS = 15 * 60
MAX_HOLD_SECONDS = 7 * 24 * 3600
R = TypeVar("R", bound=StepResult)
FRAUD_REJECTED = "We could not accept this order. Please contact support."


class Timeline:
    """Where the saga's time goes, from the context's replay-safe clock: when each step was
    seen done, and how much of that its activity took (the rest is the engine's)."""

    def __init__(self, ctx: DaprWorkflowContext) -> None:
        self.ctx = ctx
        self.start: datetime = ctx.current_utc_datetime
        self.steps: list[StepTiming] = []

    def mark(self, step: str, result: StepResult | None = None) -> None:
        at = (self.ctx.current_utc_datetime - self.start).total_seconds() * 1000
        took = result.took_ms if result is not None else 0.0
        self.steps.append(StepTiming(step=step, activity_ms=took, done_at_ms=round(at, 1)))


def checkout_saga(
    ctx: DaprWorkflowContext, payload: dict[str, Any]
) -> Generator[Any, Any, dict[str, Any]]:
    request = CheckoutInput.model_validate(payload)
    # Side effects are keyed by the order, which is the instance id of every saga but a rerun
    # (`{order}-rerun-{event}`, apps/checkout/operations.py): a rerun repeats them as the
    # same saga (the order's transitions, the cart's clear) instead of conflicting.
    order_id = request.order_id
    iid = order_id
    clock = Timeline(ctx)
    # The saga decides about payment; the order's own reminder (and the stock hold's
    # expiry) is the safety net, so both outlive every wait of the saga.
    payment_wait = max(request.payment_timeout_seconds, request.authentication_timeout_seconds or 0)
    hold = min(
        payment_wait + request.review_timeout_seconds + HOLD_MARGIN_SECONDS, MAX_HOLD_SECONDS
    )

    def run(activity: Activity, data: BaseModel) -> Any:
        return ctx.call_activity(activity, input=data.model_dump(mode="json"), retry_policy=RETRY)

    def step(activity: Activity, data: BaseModel, answer: type[R]) -> Generator[Any, Any, R]:
        """One activity, its answer validated and timed (`yield from`)."""
        found = answer.model_validate((yield run(activity, data)))
        clock.mark(activity.__name__, found)
        return found

    def end(outcome: str, placed: Placed | None = None, **fields: Any) -> dict[str, Any]:
        return CheckoutOutcome(
            outcome=outcome,
            order_id=order_id,
            order_number=placed.order_number if placed else None,
            steps=clock.steps,
            **fields,
        ).model_dump(mode="json")

    placed = yield from step(
        place_order,
        PlaceStep(request=request, instance_id=iid, payment_timeout_seconds=hold),
        Placed,
    )
    if placed.refusal is not None or placed.facts is None or placed.totals is None:
        return end("rejected", reason=placed.refusal)
    undo = Compensation(
        order_id=order_id,
        instance_id=iid,
        reason="",
        promo_code=placed.promo_code or request.promo_code,
    )

    def undo_all(reason: str, **change: Any) -> Generator[Any, Any, Compensated]:
        return step(compensate, undo.model_copy(update={"reason": reason, **change}), Compensated)

    billing = request.billing_address or request.shipping_address
    reserved, scored = yield when_all(
        [
            run(
                reserve_stock, ReserveStep(order_id=order_id, lines=placed.lines, ttl_seconds=hold)
            ),
            run(
                score_fraud,
                ScoreStep(
                    order_id=order_id,
                    facts=placed.facts,
                    email=request.email,
                    user_id=request.user_id,
                    payment_method=request.payment_method,
                    shipping_address=request.shipping_address,
                    billing_country=billing.country,
                ),
            ),
        ]
    )
    held, verdict = Done.model_validate(reserved), Verdict.model_validate(scored)
    clock.mark("reserve_stock", held)
    clock.mark("score_fraud", verdict)
    if held.refusal is not None:
        # All or nothing: nothing is held, so only the order and the promo use are undone.
        yield from undo_all(held.refusal.message)
        return end("rejected", placed, reason=held.refusal)

    decision = verdict.decision
    if decision == Decision.REVIEW:
        ctx.set_custom_status(AWAITING_REVIEW)
        review = ctx.wait_for_external_event(FRAUD_REVIEW_EVENT)
        expiry = ctx.create_timer(timedelta(seconds=request.review_timeout_seconds))
        winner = yield when_any([review, expiry])
        ctx.set_custom_status("")
        approved = winner == review and (review.get_result() or {}).get("decision") == "approve"
        decision = Decision.APPROVE if approved else Decision.REJECT
        clock.mark("fraud_review")
    if decision == Decision.REJECT:
        yield from undo_all(FRAUD_REJECTED, release_stock=True)
        score = verdict.model_dump(
            mode="json", include={"decision", "probability", "model_version"}
        )
        return end(
            "rejected",
            placed,
            reason=Refusal(code="FRAUD_REJECTED", message=FRAUD_REJECTED, details={"score": score}),
        )

    settlement = SettleStep(
        order_id=order_id,
        instance_id=iid,
        cart_id=request.cart_id,
        correlation_id=request.correlation_id,
    )
    started = yield from step(
        request_payment,
        PaymentStep(
            order_id=order_id,
            instance_id=iid,
            amount=placed.totals.total,
            currency=placed.totals.currency,
            payment_method=request.payment_method,
            email=request.email,
            settle=settlement,
        ),
        PaymentStarted,
    )
    if started.refusal is not None or started.status is None:  # cancelled by the shopper
        refusal = started.refusal or Refusal(code="CONFLICT", message="The order was cancelled")
        yield from undo_all(refusal.message, release_stock=True)
        return end("rejected", placed, reason=refusal)

    status, why, timed_out = started.status, started.failure_reason, False
    wait = domain.payment_wait(
        status, request.payment_timeout_seconds, request.authentication_timeout_seconds
    )
    settled = started.settled
    if settled is not None:  # paid at once, and settled in the same activity
        clock.mark("settle", settled)
    elif wait is not None:
        if wait.shopper_acts:
            ctx.set_custom_status(AWAITING_AUTHENTICATION)
        result = ctx.wait_for_external_event(PAYMENT_RESULT_EVENT)
        expiry = ctx.create_timer(timedelta(seconds=wait.seconds))
        winner = yield when_any([result, expiry])
        if wait.shopper_acts:
            ctx.set_custom_status("")
        if winner == result:
            outcome = PaymentResult.model_validate(result.get_result())
            status, why = outcome.status, outcome.reason
        else:
            # No result in time: cancel the PaymentIntent, unless it succeeded after all.
            final = yield from step(
                cancel_payment,
                CancelPaymentStep(order_id=order_id, reason="payment timed out"),
                PaymentSettled,
            )
            status, timed_out = final.status, True
            why = wait.timeout_reason
        clock.mark("payment_result")

    if status != PaymentStatus.SUCCEEDED:
        reason = why or "The payment was declined"
        to = OrderStatus.CANCELLED if timed_out else OrderStatus.PAYMENT_FAILED
        yield from undo_all(reason, release_stock=True, to=to)
        return end(
            "cancelled" if timed_out else "payment_failed",
            placed,
            reason=Refusal(code="PAYMENT_FAILED", message=reason),
        )

    if settled is None:
        settled = yield from step(settle, settlement, Settled)
    if settled.refusal is not None:
        # The order was cancelled while the payment went through: give the money back.
        yield from undo_all(settled.refusal.message, release_stock=True, refund=True)
        return end("rejected", placed, reason=settled.refusal)
    return end(
        "paid",
        placed,
        totals=placed.totals,
        payment_intent_id=started.payment_intent_id,
        stock_committed=settled.stock_committed,
    )
