"""How a promotion's discount is computed: one function, so the cart's estimate and the
amount checkout charges always agree."""

from datetime import datetime
from decimal import Decimal

from apps.contracts.cart import PromoKind, PromoTerms
from apps.contracts.money import quantize

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def promo_discount(terms: PromoTerms, amount: Decimal, now: datetime) -> tuple[Decimal, str | None]:
    """The discount `terms` give on `amount` at `now`, or zero and why none applies."""
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
