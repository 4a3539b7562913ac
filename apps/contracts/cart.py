"""Cart wire models (seed 004 "Cart Container"), CartActor payloads and cart events.

CartActor (type `CartActor`, hosted by the `cart` app) is called through the Dapr actor
API with these JSON payloads, so a service in any language can drive it:
`PUT /v1.0/actors/CartActor/{cart_id}/method/{method}` (schemas exported to schemas/).

Cart ids name their owner: `guest-{session_id}` (a session the storefront issues) or
`user-{user_id}`. Guest carts expire after 14 idle days, user carts after 90 (configurable).
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from apps.contracts.catalog import Id, Sku
from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.money import Amount, Currency, decimal_text
from apps.contracts.names import Topic

# The part after the owner is a storefront session (URL-safe base64, so it may start with
# `-` or `_`) or a user id.
CART_ID_PATTERN = r"^(guest|user)-[A-Za-z0-9_.:-]{1,80}$"
CartId = Annotated[str, Field(pattern=CART_ID_PATTERN, examples=["guest-0b5c7d0e", "user-u123"])]
OpId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="makes a retried call a no-op (the cart remembers its recent op ids)",
    ),
]
PromoCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")]
TaxRate = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=6, decimal_places=4),
    WithJsonSchema({"type": "string", "pattern": r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"}),
]


class CartOwner(StrEnum):
    GUEST = "guest"
    USER = "user"


# -- method payloads ------------------------------------------------------------------------
class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op_id: OpId | None = None


class AddItemRequest(BaseModel):
    """`POST /api/cart/items`: a line that exists (same product and variant) grows."""

    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id | None = Field(default=None, description="the product's default variant")
    quantity: int = Field(default=1, ge=1, le=1000)


class AddItem(AddItemRequest, _Command):
    """`add_item`."""


class QuantityRequest(BaseModel):
    """`PUT /api/cart/items/{cart_item_id}`."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=1000)


class UpdateItem(QuantityRequest, _Command):
    """`update_item`: set a line's quantity; takes the catalog's current price."""

    cart_item_id: Annotated[str, Field(min_length=1, max_length=64)]


class RemoveItem(_Command):
    cart_item_id: Annotated[str, Field(min_length=1, max_length=64)]


class ClearCart(_Command):
    pass


class PromoRequest(BaseModel):
    """`POST /api/cart/promo`."""

    model_config = ConfigDict(extra="forbid")

    code: PromoCode


class ApplyPromo(PromoRequest, _Command):
    """`apply_promo`."""


class RemovePromo(_Command):
    pass


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
StateCode = Annotated[str, Field(max_length=10, pattern=r"^[A-Z0-9]{0,10}$")]


class DestinationRequest(BaseModel):
    """`PUT /api/cart/destination`: where the order will ship, so the cart shows the tax
    checkout will charge there (country, and state or province where it matters)."""

    model_config = ConfigDict(extra="forbid")

    country: CountryCode
    state: StateCode = ""


class SetDestination(DestinationRequest, _Command):
    """`set_destination`."""


class TaxDestination(BaseModel):
    """The cart's destination and its tax rate (taken when the destination was set)."""

    country: str
    state: str = ""
    tax_rate: TaxRate


class MergeCart(_Command):
    """`merge` on the user's cart: move a guest cart's lines into it (idempotent by source)."""

    source_cart_id: CartId


class HandOver(BaseModel):
    """`hand_over` on the guest cart (called by the user's cart during a merge): empties it
    once and answers the same lines to every retry from the same target."""

    model_config = ConfigDict(extra="forbid")

    target_cart_id: CartId


# -- state and replies ---------------------------------------------------------------------
class LineIssueCode(StrEnum):
    PRICE_CHANGED = "price_changed"
    OUT_OF_STOCK = "out_of_stock"
    INSUFFICIENT_STOCK = "insufficient_stock"
    UNAVAILABLE = "unavailable"  # archived, draft, deleted or variant gone


class LineIssue(BaseModel):
    code: LineIssueCode
    message: str
    current_price: Amount | None = None
    available: int | None = None


class CartLine(BaseModel):
    """A line as added: the price is a snapshot; changes since are flagged in `issues`."""

    cart_item_id: str
    product_id: str
    variant_id: str
    sku: Sku
    name: str
    variant_name: str = ""
    quantity: int = Field(ge=1)
    unit_price: Amount
    line_total: Amount
    currency: Currency = "USD"
    tax_rate: TaxRate = Decimal("0")
    image_url: str | None = None
    added_at: datetime
    issues: list[LineIssue] = Field(default_factory=list)


class PromoKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class PromoTerms(BaseModel):
    """A promotion as the checkout app quoted it; the cart recomputes its discount."""

    code: str
    description: str = ""
    kind: PromoKind
    value: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2), decimal_text(12, 2)]
    min_subtotal: Amount = Decimal("0.00")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = Field(
        default=None, ge=1, description="orders that may use the code in all; unlimited if absent"
    )
    per_customer_limit: int | None = Field(
        default=None, ge=1, description="orders one customer (by email) may use it for"
    )
    paused: bool = Field(
        default=False, description="staff paused the code: it is refused until resumed"
    )


class CartTotals(BaseModel):
    item_count: int = 0
    subtotal: Amount = Decimal("0.00")
    discount: Amount = Decimal("0.00")
    tax_estimate: Amount = Decimal("0.00")
    total_estimate: Amount = Decimal("0.00")
    currency: Currency = "USD"
    tax_basis: Literal["estimate", "destination"] = Field(
        default="estimate",
        description="`destination`: the tax checkout charges at the cart's destination "
        "(before shipping); `estimate`: no destination yet, each product's own rate",
    )


class Cart(BaseModel):
    cart_id: str
    owner: CartOwner
    user_id: str | None = None
    session_id: str | None = None
    items: list[CartLine] = Field(default_factory=list)
    totals: CartTotals = Field(default_factory=CartTotals)
    promo_code: str | None = None
    promo: PromoTerms | None = None
    destination: TaxDestination | None = None
    promo_issue: str | None = Field(
        default=None, description="why the promotion gives no discount now (e.g. min subtotal)"
    )
    valid: bool = Field(default=True, description="no line has an issue")
    merged_from: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    version: int = Field(default=0, ge=0, description="incremented by every change")


class CartErrorCode(StrEnum):
    INVALID_REQUEST = "INVALID_REQUEST"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNPROCESSABLE_ENTITY = "UNPROCESSABLE_ENTITY"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class CartError(BaseModel):
    code: CartErrorCode
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class CartReply(BaseModel):
    """Every CartActor method answers with this: the cart, or why nothing changed.

    Business outcomes never raise (the actor API would turn them into an opaque 500).
    """

    ok: bool
    cart: Cart | None = None
    error: CartError | None = None


class HandOverReply(BaseModel):
    """What a guest cart hands over: `handover_id` is None when it had nothing to give."""

    ok: bool
    handover_id: str | None = None
    items: list[CartLine] = Field(default_factory=list)
    promo: PromoTerms | None = None
    error: CartError | None = None


# -- what catalog answers about a line (POST /products/snapshots) ---------------------------
class SnapshotRequestItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id | None = None


class SnapshotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[SnapshotRequestItem], Field(min_length=1, max_length=200)]


class LineSnapshot(BaseModel):
    """Catalog's current view of one product variant: price, status and available stock."""

    product_id: str
    variant_id: str | None
    found: bool
    active: bool = False
    sku: str | None = None
    name: str = ""
    variant_name: str = ""
    unit_price: Amount | None = None
    currency: Currency = "USD"
    tax_rate: TaxRate = Decimal("0")
    image_url: str | None = None
    available: int = 0


class SnapshotReply(BaseModel):
    items: list[LineSnapshot]


class PromoQuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: PromoCode
    subtotal: Amount
    currency: Currency = "USD"
    user_id: Id | None = None
    email: Email | None = Field(
        default=None, description="the shopper, to check the code's per-customer limit"
    )


class PromoQuote(BaseModel):
    terms: PromoTerms
    discount: Amount
    applicable: bool
    reason: str | None = None


# -- events ---------------------------------------------------------------------------------
class CartAbandoned(EventPayload):
    """Published when an idle cart with items expires (topic `user-events`: no cart topic
    exists in seed 004's list, and abandonment is about the shopper)."""

    TOPIC = Topic.USER_EVENTS

    cart_id: str
    owner: CartOwner
    user_id: str | None
    session_id: str | None
    items: list[CartLine]
    totals: CartTotals
    last_activity_at: datetime
    expired_at: datetime
