"""Checkout wire models: what a shopper sends to check out, what checkout quotes back, the
saga's input, the payment result the saga waits for, and the saga's status."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.cart import PromoCode, PromoQuote
from apps.contracts.catalog import Id
from apps.contracts.email import Email
from apps.contracts.money import Amount, Currency
from apps.contracts.orders import Address, OrderLine, Totals
from apps.contracts.payments import PaymentMethodId, PaymentStatus
from apps.contracts.schema import StrippedInput


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


class CheckoutInput(OrderRequest):
    """Workflow input: the request plus everything fixed before the saga starts (ids and
    timeouts are data, so the orchestrator stays deterministic on replay)."""

    order_id: Id
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    user_id: Id | None = None
    cart_id: Annotated[str, Field(max_length=200)] | None = None
    payment_timeout_seconds: int = Field(ge=1, le=7 * 24 * 3600)
    review_timeout_seconds: int = Field(ge=1, le=7 * 24 * 3600)
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


class CheckoutState(BaseModel):
    order_id: str
    status: CheckoutStatus
    result: dict[str, Any] | None = None
    failure: str | None = None
    created_at: str | None = None
    last_updated_at: str | None = None
