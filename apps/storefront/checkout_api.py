"""Checkout and payments through the storefront: quotes, address checks, promo codes,
placing an order (the checkout saga), its progress, Stripe's webhook and staff's payment
actions.

Which cart a checkout without `items` takes: the signed-in customer's, else the guest
session's (cookie `sc_session` / header `X-Session-Id`). The user id sent on is the one
from the verified token, never from the request body.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.analytics import ActivityKind
from apps.contracts.cart import PromoQuote, PromoQuoteRequest
from apps.contracts.checkout import (
    AddressInput,
    AddressValidation,
    CheckoutAccepted,
    CheckoutDetails,
    CheckoutQuote,
    CheckoutState,
    FraudReview,
    OrderRequest,
    QuoteCheckout,
    StartCheckout,
)
from apps.contracts.identity import Principal
from apps.contracts.money import Amount
from apps.contracts.names import AppId
from apps.contracts.payments import Payment, RefundRequest
from apps.platform.params import IdempotencyKey, RequiredIdempotencyKey
from apps.storefront.activity import funnel_session, record_step
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Caller, Staff
from apps.storefront.cart_api import session_of
from apps.storefront.openapi import ERRORS
from apps.storefront.orders_api import Email, owner_params

router = APIRouter(prefix="/api", responses=ERRORS)
OrderId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


def cart_of(request: Request, caller: Principal) -> str | None:
    """The cart a checkout without items takes (None: the shopper has none)."""
    if caller.signed_in:
        return f"user-{caller.user_id}"
    session = session_of(request)
    return f"guest-{session}" if session else None


@router.post("/checkout/validate", response_model=CheckoutQuote, tags=["checkout"])
async def validate_checkout(body: CheckoutDetails, request: Request, caller: Caller) -> Response:
    """Price the checkout now (cart or `items`, promo, tax for the address, shipping
    method): totals exactly as the order would be charged, every shipping option to the
    address and whatever would stop the order (`valid: false` with `problems`)."""
    return await forward(
        request,
        AppId.CHECKOUT,
        "checkouts/quote",
        method="POST",
        body=QuoteCheckout(details=body, cart_id=cart_of(request, caller)).model_dump(mode="json"),
    )


@router.post("/checkout/promo", response_model=PromoQuote, tags=["checkout"])
async def check_promo(body: PromoQuoteRequest, request: Request, caller: Caller) -> Response:
    """What a promo code gives on a subtotal now; with `email`, whether that customer may
    still use it (usage limits). 422 for an unknown code."""
    payload = body.model_dump(mode="json")
    if caller.signed_in:
        payload.update(user_id=caller.user_id, email=caller.email or payload.get("email"))
    return await forward(request, AppId.CHECKOUT, "promotions/quote", method="POST", body=payload)


@router.post("/addresses/validate", response_model=AddressValidation, tags=["checkout"])
async def validate_address(body: AddressInput, request: Request) -> Response:
    """Required fields and formats for the destination country (problems per field), and
    the address normalised when it is valid."""
    return await forward(
        request, AppId.CHECKOUT, "addresses/validate", method="POST", body=body.model_dump()
    )


@router.post("/orders", status_code=202, response_model=CheckoutAccepted, tags=["orders"])
async def place_order(
    body: OrderRequest, request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    """Start checkout (202 with the order id and its status URL). Without `items`, the
    shopper's cart is ordered. Send an `Idempotency-Key`: a retry answers the same order
    and starts nothing."""
    response = await forward(
        request,
        AppId.CHECKOUT,
        "checkouts",
        method="POST",
        body=StartCheckout(
            order=body,
            user_id=caller.user_id if caller.signed_in else None,
            cart_id=cart_of(request, caller) if body.items is None else None,
        ).model_dump(mode="json"),
        extra_headers=idempotency_header(idempotency_key),
    )
    if response.status_code == 202 and "Idempotent-Replayed" not in response.headers:
        session = funnel_session(caller, session_of(request))
        record_step(request, session, ActivityKind.CHECKOUT_START)
    return response


@router.get("/checkout/{order_id}", response_model=CheckoutState, tags=["checkout"])
async def checkout_status(
    order_id: OrderId,
    request: Request,
    caller: Caller,
    email: Email = None,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=4,
            description="seconds to wait for a checkout under way to end (a long poll: "
            "answered as soon as it ends, or as it is when the time is up)",
        ),
    ] = 0,
) -> Response:
    """The saga's progress; its `result` says how it ended (paid, payment_failed,
    cancelled, rejected with a reason). Same access rule as the order: yours when signed
    in, a guest adds the order's `email`; anyone else gets a 404. Poll with `wait` (up to
    4 s) rather than in a tight loop: one request then covers most checkouts.

    3-D Secure: while the card issuer wants the cardholder to authenticate, the saga waits
    (its own, longer timeout) and `payment` is `{"status": "requires_action",
    "client_secret", "next_action"}`: finish it with Stripe.js
    (`stripe.handleNextAction({clientSecret})`), then keep polling; the webhook that follows
    settles the order. A long poll answers as soon as the saga starts waiting for that."""
    params = owner_params(caller, email)
    if wait > 0:
        params = {**params, "wait_seconds": wait}
    return await forward(request, AppId.CHECKOUT, f"checkouts/{order_id}", params=params)


@router.post(
    "/payments/webhook",
    tags=["payments"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The Stripe event exactly as Stripe sent it (signed)",
        }
    },
)
async def stripe_webhook(
    request: Request,
    signature: Annotated[
        str,
        Header(
            alias="Stripe-Signature",
            pattern=r"^[\x21-\x7e]{1,2000}$",
            description="Stripe's `t=…,v1=…` signature of the body (printable ASCII)",
        ),
    ],
) -> Response:
    """Stripe's webhook, passed byte for byte to `payments`, which checks the
    `Stripe-Signature` (400 and nothing changes when it is missing, wrong or stale)."""
    return await forward(
        request,
        AppId.PAYMENTS,
        "webhook",
        method="POST",
        content=await request.body(),
        extra_headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature,
        },
    )


class PaymentOf(BaseModel):
    """Which order's payment: guests add the order's `email` (a wrong one is a 404)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ]
    email: Annotated[str, Field(max_length=254)] | None = None


class StaffRefund(BaseModel):
    """`POST /api/payments/refund` (its `Idempotency-Key` header names the refund)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ]
    amount: Amount | None = Field(default=None, description="the rest of the payment if absent")
    reason: Annotated[str, Field(max_length=300)] = "requested_by_customer"


async def _owned(request: Request, caller: Principal, body: PaymentOf) -> Response | None:
    """None when the caller may see the order; else the orders app's 404 to pass on."""
    seen = await forward(
        request, AppId.ORDERS, f"orders/{body.order_id}", params=owner_params(caller, body.email)
    )
    return None if seen.status_code == 200 else seen


@router.post("/payments/create-intent", response_model=Payment, tags=["payments"])
async def payment_intent(body: PaymentOf, request: Request, caller: Caller) -> Response:
    """The order's PaymentIntent: the checkout saga creates and confirms it once per order
    (Stripe idempotency key `{order_id}:intent`) with the `payment_method` given to
    `POST /api/orders`; every call answers the same intent (404 until the saga has asked
    for payment, e.g. while fraud review holds the order)."""
    refused = await _owned(request, caller, body)
    if refused is not None:
        return refused
    return await forward(
        request,
        AppId.PAYMENTS,
        f"payments/{body.order_id}",
        params={"include_client_secret": "true"},
    )


@router.post("/payments/confirm", response_model=Payment, tags=["payments"])
async def confirm_payment(body: PaymentOf, request: Request, caller: Caller) -> Response:
    """After the shopper confirmed the intent with Stripe (e.g. 3-D Secure in Stripe.js):
    the intent's status is read from Stripe now, and a final one (`succeeded`, `canceled`)
    is applied at once, as its webhook would be; the saga goes on from payment-events."""
    refused = await _owned(request, caller, body)
    if refused is not None:
        return refused
    return await forward(request, AppId.PAYMENTS, f"payments/{body.order_id}/sync", method="POST")


class LocalChallenge(BaseModel):
    """`POST /api/payments/{order_id}/authenticate`: the cardholder's answer to the local
    stand-in of Stripe's 3-D Secure challenge; guests add the order's `email`."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(max_length=254)] | None = None
    outcome: Literal["succeeded", "failed"] = "succeeded"


@router.post("/payments/{order_id}/authenticate", response_model=Payment, tags=["payments"])
async def authenticate_payment(
    order_id: OrderId, request: Request, caller: Caller, body: LocalChallenge | None = None
) -> Response:
    """**Local mode only** (stripe-mock): a stand-in for Stripe's hosted 3-D Secure
    challenge, what the browser does with Stripe.js. `succeeded` has Stripe's
    `payment_intent.succeeded` webhook sent (the saga settles the order), `failed` its
    `payment_intent.payment_failed` with `payment_intent_authentication_failure` (the saga
    compensates). 404 with real Stripe (the real challenge and webhook replace it) and to
    anyone but the order's owner; 409 when the payment is not waiting for authentication."""
    challenge = body or LocalChallenge()
    refused = await _owned(request, caller, PaymentOf(order_id=order_id, email=challenge.email))
    if refused is not None:
        return refused
    return await forward(
        request,
        AppId.PAYMENTS,
        f"payments/{order_id}/authenticate",
        method="POST",
        body={"outcome": challenge.outcome},
    )


@router.post("/payments/refund", response_model=Payment, tags=["payments", "staff"])
async def refund_payment(
    body: StaffRefund, request: Request, staff: Staff, key: RequiredIdempotencyKey
) -> Response:
    """Staff: refund all that is left of an order's payment, or `amount` of it (409 when
    nothing is refundable). Required `Idempotency-Key`: a retry (a second click, a client
    timing out) answers the same refund and refunds nothing more; the same key with another
    amount or reason is a 422. The order becomes refunded / partially_refunded from
    payment-events."""
    refund = RefundRequest(key=key, amount=body.amount, reason=body.reason)
    return await forward(
        request,
        AppId.PAYMENTS,
        f"payments/{body.order_id}/refund",
        method="POST",
        body=refund.model_dump(mode="json"),
    )


@router.get("/staff/payments/{order_id}", response_model=Payment, tags=["staff"])
async def staff_payment(order_id: OrderId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.PAYMENTS, f"payments/{order_id}")


@router.get("/staff/checkouts/{order_id}", response_model=CheckoutState, tags=["staff"])
async def staff_checkout(order_id: OrderId, request: Request, staff: Staff) -> Response:
    """Any order's checkout saga (support, fraud review): where it is, how it ended."""
    return await forward(request, AppId.CHECKOUT, f"checkouts/{order_id}")


@router.post("/staff/checkouts/{order_id}/review", response_model=CheckoutState, tags=["staff"])
async def staff_fraud_review(
    order_id: OrderId, body: FraudReview, request: Request, staff: Staff
) -> Response:
    """Approve or reject an order fraud scoring held for review (409 if none waits)."""
    return await forward(
        request,
        AppId.CHECKOUT,
        f"checkouts/{order_id}/review",
        method="POST",
        body=body.model_dump(mode="json"),
    )
