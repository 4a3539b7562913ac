"""Money on the wire: decimal strings with two places (one choice, everywhere).

Floats never carry money: `Decimal` in, `"12.50"` out, and the currency travels beside it.
"""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


def quantize(value: Decimal) -> Decimal:
    """Round to cents with banker's rounding (what tax and discount splits need)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def decimal_text(
    integer_digits: int, places: int, description: str = "", signed: bool = False
) -> WithJsonSchema:
    """How a decimal is written on the wire, for the JSON Schema: plain digits, no sign,
    exponent or padding that a client might try and the server would read otherwise (the
    server also takes a JSON number)."""
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^{'-?' if signed else ''}[0-9]{{1,{integer_digits}}}"
            rf"(\.[0-9]{{1,{places}}})?$",
            **({"description": description} if description else {}),
        }
    )


Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    decimal_text(12, 2, "an amount of money with at most two decimal places"),
]

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class Price(BaseModel):
    """A product or line price (seed 004 `price`)."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency = "USD"
    compare_at: Amount | None = None
    tax_rate: Annotated[
        Decimal,
        Field(ge=0, le=1, max_digits=6, decimal_places=4),
        WithJsonSchema(
            {"type": "string", "pattern": r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"},
        ),
    ] = Decimal("0")
