"""Payment wire models and payment events (topic payment-events). Stripe ids only: no card
data ever reaches the shop."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id
from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.money import Amount, Currency
from apps.contracts.names import Topic

PaymentMethodId = Annotated[
    str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,100}$", examples=["pm_card_visa"])
]


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # created and confirmed; the result comes by webhook
    #: Stripe holds it for the cardholder's authentication (3-D Secure): the shopper's client
    #: finishes it with `client_secret` / `next_action`; the result comes by webhook.
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"  # cancelled by checkout (no result in time); final, nothing charged
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class CreatePayment(BaseModel):
    """`POST /payments` (checkout's payment step): create and confirm a PaymentIntent for an
    order. Idempotent by `order_id` (Stripe idempotency key `{order_id}:intent`)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    amount: Amount = Field(gt=Decimal("0"))
    currency: Currency = "USD"
    payment_method: PaymentMethodId
    email: Email


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=300)] = "abandoned"


RefundKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,200}$")]


class RefundRequest(BaseModel):
    """A refund, made once per `key` (the staff client's Idempotency-Key): the same key
    answers the first refund again; the same key with another amount or reason is refused."""

    model_config = ConfigDict(extra="forbid")

    key: RefundKey
    amount: Amount | None = Field(default=None, description="the rest of the payment if absent")
    reason: Annotated[str, Field(max_length=300)] = "requested_by_customer"

    def fingerprint(self) -> str:
        return f"{self.amount if self.amount is not None else 'rest'}|{self.reason}"


class RefundRecord(BaseModel):
    """One refund of a payment, recorded (pending) before Stripe is asked, so two requests
    can never refund more than was paid and a retried one is answered, not repeated."""

    key: RefundKey
    amount: Amount
    reason: str
    request: str = Field(description="what was asked (amount or rest, reason)")
    status: Literal["pending", "succeeded", "failed"] = "pending"
    failure: str = ""
    at: datetime


class Payment(BaseModel):
    order_id: str
    payment_intent_id: str
    status: PaymentStatus
    amount: Amount
    currency: Currency
    refunded_amount: Amount = Decimal("0.00")
    failure_reason: str = ""
    payment_method: str = Field(default="", description="the Stripe payment method id used")
    client_secret: str | None = Field(
        default=None,
        repr=False,
        description="the PaymentIntent's client secret while the shopper must authenticate "
        "(`requires_action`); answered only to the order's owner, never logged",
    )
    next_action: dict[str, Any] | None = Field(
        default=None,
        description="Stripe's `next_action` while `requires_action` (e.g. `use_stripe_sdk`, "
        "`redirect_to_url`), as Stripe shaped it",
    )
    stripe_events: list[str] = Field(default_factory=list, description="webhook ids applied")
    refunds: list[RefundRecord] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class PaymentAction(BaseModel):
    """What a shopper's client needs to finish a payment Stripe holds for authentication
    (3-D Secure): with Stripe.js, `stripe.handleNextAction({clientSecret})`. Shown in the
    checkout's state while the saga waits for it."""

    status: PaymentStatus
    client_secret: str | None = Field(default=None, repr=False)
    next_action: dict[str, Any] | None = None


class LocalAuthentication(BaseModel):
    """`POST /payments/{order_id}/authenticate`, local mode only: the stand-in for Stripe's
    hosted 3-D Secure challenge (the cardholder passes it, or fails it)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["succeeded", "failed"] = "succeeded"


class PaymentEventData(EventPayload):
    TOPIC = Topic.PAYMENT_EVENTS

    order_id: str
    payment_intent_id: str
    status: PaymentStatus
    amount: Amount
    currency: Currency
    refunded_amount: Amount = Decimal("0.00")
    reason: str = ""
    #: The status is the confirmation's own answer (a card paid or declined at once): the
    #: caller that created the payment has it already (checkout's saga does not wait for
    #: this event); False when it came later (a webhook, a sync, a cancellation).
    at_confirmation: bool = False


class PaymentProcessed(PaymentEventData):
    pass


class PaymentFailed(PaymentEventData):
    pass


class RefundProcessed(PaymentEventData):
    pass
