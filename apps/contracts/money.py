"""Money on the wire: decimal strings with two places (one choice, everywhere).

Floats never carry money: `Decimal` in, `"12.50"` out, and the currency travels beside it.
"""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

CENT = Decimal("0.01")


def quantize(value: Decimal) -> Decimal:
    """Round to cents with banker's rounding (what tax and discount splits need)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class Price(BaseModel):
    """A product or line price (seed 004 `price`)."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency = "USD"
    compare_at: Amount | None = None
    tax_rate: Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)] = Decimal("0")
