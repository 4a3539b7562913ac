"""How a promotion's discount is computed: one function, so the cart's estimate and the
amount checkout charges always agree; and the models of staff's promo code management
(`/api/staff/promotions*`, kept by checkout)."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from apps.contracts.cart import PromoCode, PromoKind, PromoTerms
from apps.contracts.money import Amount, decimal_text, quantize
from apps.contracts.schema import StrippedInput

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def promo_discount(terms: PromoTerms, amount: Decimal, now: datetime) -> tuple[Decimal, str | None]:
    """The discount `terms` give on `amount` at `now`, or zero and why none applies."""
    if terms.paused:
        return ZERO, f"Promo code {terms.code} is paused"
    if terms.starts_at and now < terms.starts_at:
        return ZERO, f"Promo code {terms.code} is not valid yet"
    if terms.ends_at and now >= terms.ends_at:
        return ZERO, f"Promo code {terms.code} has expired"
    if amount < terms.min_subtotal:
        short = quantize(terms.min_subtotal - amount)
        return ZERO, (
            f"Promo code {terms.code} needs a subtotal of {terms.min_subtotal:.2f} "
            f"({short:.2f} more)"
        )
    if terms.kind == PromoKind.PERCENT:
        discount = amount * min(terms.value, HUNDRED) / HUNDRED
    else:
        discount = min(terms.value, amount)
    return quantize(discount), None


# -- staff management (`/api/staff/promotions*`, kept by checkout) ---------------------------
#: Bounds of a code's value: a percentage up to 100, a fixed amount up to this.
MAX_FIXED_VALUE = Decimal("100000.00")
MAX_USAGE_LIMIT = 10_000_000
MAX_PER_CUSTOMER = 1000


class PromotionTermsIn(StrippedInput):
    """The terms staff set (`PUT /api/staff/promotions/{code}` replaces them all). Times
    need a UTC offset; `ends_at` must be after `starts_at`, a percentage at most 100, a
    per-customer limit at most the total (422)."""

    description: Annotated[str, Field(max_length=200)] = ""
    kind: PromoKind
    value: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2), decimal_text(12, 2)]
    min_subtotal: Amount = Decimal("0.00")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = Field(
        default=None, ge=1, le=MAX_USAGE_LIMIT, description="orders in all; none: unlimited"
    )
    per_customer_limit: int | None = Field(
        default=None, ge=1, le=MAX_PER_CUSTOMER, description="orders per customer (email)"
    )


class PromotionIn(PromotionTermsIn):
    """`POST /api/staff/promotions`: the code is kept in capitals (codes match in any
    case); one that exists already, shipped or created, is a 409."""

    code: PromoCode
    paused: bool = False


class PromotionStatus(StrEnum):
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    PAUSED = "paused"
    USED_UP = "used_up"


class PromotionSource(StrEnum):
    SEED = "seed"  # shipped in apps/checkout/promotions.json
    STAFF = "staff"


class Promotion(BaseModel):
    """A code as staff see it, with its use so far (`ETag` header: its version)."""

    terms: PromoTerms
    status: PromotionStatus
    source: PromotionSource
    used: int = Field(ge=0, description="orders counted against it now (released ones not)")
    remaining: int | None = Field(description="orders it may still be used for; none: no limit")
    version: int = Field(ge=0, description="0: a shipped code no one has changed")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""


class PromotionList(BaseModel):
    promotions: list[Promotion]
    total: int
