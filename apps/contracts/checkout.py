"""Checkout wire models: what a shopper sends to check out, what checkout quotes back, the
saga's input, what each of its steps takes and answers, the payment result it waits for, and
how it ended (`CheckoutOutcome`)."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.cart import PromoCode, PromoQuote
from apps.contracts.catalog import Id
from apps.contracts.email import Email
from apps.contracts.fraud import Contribution, Decision
from apps.contracts.inventory import ReservationLine
from apps.contracts.money import Amount, Currency
from apps.contracts.orders import Address, OrderLine, OrderStatus, Totals
from apps.contracts.payments import PaymentAction, PaymentMethodId, PaymentStatus
from apps.contracts.schema import StrippedInput

CartId = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"
    OVERNIGHT = "overnight"


class CheckoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id | None = Field(default=None, description="the product's first variant if absent")
    quantity: int = Field(ge=1, le=100)


class CheckoutDetails(StrippedInput):
    """What `POST /api/checkout/validate` prices (and an order request adds payment to)."""

    email: Email
    items: Annotated[list[CheckoutItem], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="the shopper's cart (session or signed-in user) if absent"
    )
    shipping_address: Address
    billing_address: Address | None = Field(
        default=None, description="the shipping address if absent"
    )
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    promo_code: PromoCode | None = Field(
        default=None, description="the cart's promo code if absent (cart checkouts)"
    )


class OrderRequest(CheckoutDetails):
    """`POST /api/orders`: starts the checkout saga (202; idempotent by `Idempotency-Key`)."""

    payment_method: PaymentMethodId


class StartCheckout(BaseModel):
    """`POST /checkouts` on checkout (from the storefront): the shopper's request and who
    they are (the signed-in user, the cart to order when the request has no items)."""

    model_config = ConfigDict(extra="forbid")

    order: OrderRequest
    user_id: Id | None = None
    cart_id: CartId | None = None


class QuoteCheckout(BaseModel):
    """`POST /checkouts/quote` on checkout."""

    model_config = ConfigDict(extra="forbid")

    details: CheckoutDetails
    cart_id: CartId | None = None


class CheckoutInput(OrderRequest):
    """Workflow input: the request plus everything fixed before the saga starts (ids and
    timeouts are data, so the orchestrator stays deterministic on replay)."""

    order_id: Id
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    user_id: Id | None = None
    cart_id: Annotated[str, Field(max_length=200)] | None = None
    payment_timeout_seconds: int = Field(ge=1, le=7 * 24 * 3600)
    review_timeout_seconds: int = Field(ge=1, le=7 * 24 * 3600)
    authentication_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=7 * 24 * 3600,
        description="how long a payment held for 3-D Secure waits for the shopper (the "
        "payment timeout for sagas started before it existed)",
    )
    request_fingerprint: str | None = Field(
        default=None, description="sha256 of the request and user: a retry must match it"
    )


class ShippingOption(BaseModel):
    method: ShippingMethod
    amount: Amount
    currency: Currency = "USD"
    days_min: int
    days_max: int
    description: str = ""


class PricedOrder(BaseModel):
    """Lines and totals exactly as the order records and the payment charges them."""

    lines: list[OrderLine]
    totals: Totals
    promo_code: str | None = None
    tax_rate: Decimal
    shipping_method: ShippingMethod
    weight_kg: Decimal


class Problem(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class CheckoutQuote(BaseModel):
    """`POST /api/checkout/validate`: the order as it would be charged now, the shipping
    options to the address, and what would stop it (`valid` false with `problems`)."""

    valid: bool
    priced: PricedOrder | None = None
    shipping_options: list[ShippingOption] = Field(default_factory=list)
    promo: PromoQuote | None = None
    problems: list[Problem] = Field(default_factory=list)


class AddressInput(StrippedInput):
    """`POST /api/addresses/validate`: fields as the shopper typed them (checked per country;
    problems come back per field, not as a 422)."""

    name: Annotated[str, Field(max_length=300)] = ""
    line1: Annotated[str, Field(max_length=300)] = ""
    line2: Annotated[str, Field(max_length=300)] = ""
    city: Annotated[str, Field(max_length=300)] = ""
    state: Annotated[str, Field(max_length=300)] = ""
    postal_code: Annotated[str, Field(max_length=50)] = ""
    country: Annotated[str, Field(max_length=60)] = ""
    phone: Annotated[str, Field(max_length=60)] = ""


class FieldProblem(BaseModel):
    field: str
    message: str


class AddressValidation(BaseModel):
    valid: bool
    address: Address | None = Field(default=None, description="normalised, when valid")
    errors: list[FieldProblem] = Field(default_factory=list)


class PromoRedemption(BaseModel):
    """Checkout's own record of a code used by an order (usage limits); idempotent by order."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    code: PromoCode
    email: Email


class PaymentResult(BaseModel):
    """The external event (`payment_result`) the saga waits for, raised from payment-events."""

    status: PaymentStatus
    payment_intent_id: str = ""
    reason: str = ""


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class FraudReview(BaseModel):
    """Staff's decision on an order fraud scoring held for review (external event)."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    note: Annotated[str, Field(max_length=500)] = ""


class CheckoutStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"
    PENDING = "pending"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


class CheckoutAccepted(BaseModel):
    order_id: str
    status_url: str
    checkout_url: str


class Refusal(BaseModel):
    """Why the saga stopped an order, in words the shopper can read."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class StepTiming(BaseModel):
    """Where a checkout's time went: one saga step, its activity's own time, and when the
    orchestrator saw it done (ms after the saga's first run; engine time is the rest)."""

    step: str
    activity_ms: float
    done_at_ms: float


class CheckoutOutcome(BaseModel):
    """How a saga ended: `paid`, or `rejected` / `payment_failed` / `cancelled` with the
    reason. `steps` says where its time went."""

    outcome: Literal["paid", "rejected", "payment_failed", "cancelled"]
    order_id: str
    order_number: str | None = None
    totals: Totals | None = None
    payment_intent_id: str | None = None
    stock_committed: bool | None = None
    reason: Refusal | None = None
    steps: list[StepTiming] = Field(default_factory=list)


class CheckoutState(BaseModel):
    order_id: str
    status: CheckoutStatus
    result: CheckoutOutcome | None = None
    failure: str | None = None
    created_at: str | None = None
    last_updated_at: str | None = None
    payment: PaymentAction | None = Field(
        default=None,
        description="while the saga waits for the shopper to authenticate the payment (3-D "
        "Secure): `requires_action` with the `client_secret` and `next_action` to finish it "
        "(the secret to the order's owner only)",
    )


# -- the saga's steps: what each activity takes and answers -----------------------------------
class StepResult(BaseModel):
    """Every activity's answer carries its own duration (the saga's timings)."""

    took_ms: float = 0.0


class PlaceStep(BaseModel):
    """Price the request, count the promo use, create the order (one idempotent activity)."""

    request: CheckoutInput
    instance_id: str
    payment_timeout_seconds: int = Field(ge=1, description="the order's own safety net")


class FraudFacts(BaseModel):
    """What only pricing knows that fraud scoring needs."""

    amount: Amount
    currency: Currency
    item_count: int = Field(ge=1)
    share_electronics: float = Field(ge=0, le=1)
    share_gift_cards: float = Field(ge=0, le=1)


class Placed(StepResult):
    """The order as created (or why there is none: `refusal`)."""

    refusal: Refusal | None = None
    order_number: str = ""
    totals: Totals | None = None
    lines: list[ReservationLine] = Field(default_factory=list)
    promo_code: str | None = None
    facts: FraudFacts | None = None


class ReserveStep(BaseModel):
    order_id: str
    lines: list[ReservationLine]
    ttl_seconds: int = Field(ge=1)


class Done(StepResult):
    """A step that did its work, or refused it (`refusal`: a business answer, not a fault)."""

    refusal: Refusal | None = None


class ScoreStep(BaseModel):
    """Fraud scoring of the placed order; the account's history is read for signed-in users."""

    order_id: str
    facts: FraudFacts
    email: Email
    user_id: Id | None = None
    payment_method: PaymentMethodId
    shipping_address: Address
    billing_country: str


class Verdict(StepResult):
    decision: Decision
    probability: float
    model_version: str
    top_features: list[Contribution] = Field(default_factory=list)


class SettleStep(BaseModel):
    """Mark the order paid, commit its stock, clear the cart, publish `OrderPlaced`."""

    order_id: str
    instance_id: str
    cart_id: str | None = None
    correlation_id: str


class Settled(StepResult):
    refusal: Refusal | None = None
    stock_committed: bool = False


class PaymentStep(BaseModel):
    """Move the order to `awaiting_payment`, then create and confirm the PaymentIntent;
    with `settle`, settle it too when the payment succeeded at once (most cards): one
    round trip to the engine instead of two."""

    order_id: str
    instance_id: str
    amount: Amount
    currency: Currency
    payment_method: PaymentMethodId
    email: Email
    settle: SettleStep | None = None


class PaymentStarted(StepResult):
    refusal: Refusal | None = None
    status: PaymentStatus | None = None
    payment_intent_id: str = ""
    failure_reason: str = ""
    #: The settlement, when `settle` was asked and the payment succeeded at once.
    settled: Settled | None = None


class CancelPaymentStep(BaseModel):
    order_id: str
    reason: str


class PaymentSettled(StepResult):
    status: PaymentStatus


class Compensation(BaseModel):
    """Undo what the saga did; every part idempotent."""

    order_id: str
    instance_id: str
    reason: str
    promo_code: str | None = None
    release_stock: bool = False
    refund: bool = False
    to: OrderStatus = OrderStatus.CANCELLED


class Compensated(StepResult):
    status: OrderStatus
