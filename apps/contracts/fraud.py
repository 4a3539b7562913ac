"""Fraud scoring wire models: the checkout context the fraud app scores, and its answer."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from apps.contracts.email import Email
from apps.contracts.schema import StrippedInput


class FraudContext(StrippedInput):
    """`POST /score` on the fraud app (invoked through Dapr by checkout).

    Missing or absurd values are refused (422), never guessed."""

    amount: Annotated[float, Field(gt=0, le=1_000_000, description="order total")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    item_count: int = Field(ge=1, le=1000)
    share_electronics: float = Field(ge=0, le=1, description="share of the amount")
    share_gift_cards: float = Field(ge=0, le=1, description="share of the amount")
    account_age_days: float = Field(ge=0, le=36_500, description="0 for guests")
    orders_last_24h: int = Field(ge=0, le=10_000, description="earlier orders of the account")
    orders_last_7d: int = Field(ge=0, le=10_000)
    avg_order_amount: float = Field(ge=0, le=1_000_000, description="0 for a first order")
    email: Email
    shipping_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    billing_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    hour: int = Field(ge=0, le=23, description="local hour of the checkout")
    payment_method_age_days: float = Field(ge=0, le=36_500)
    is_guest: bool = False
    order_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the order scored (not a feature: names a review hold)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "FraudContext":
        if self.share_electronics + self.share_gift_cards > 1.0001:
            raise ValueError("share_electronics + share_gift_cards cannot exceed 1")
        if self.orders_last_7d < self.orders_last_24h:
            raise ValueError("orders_last_7d cannot be fewer than orders_last_24h")
        return self


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    REJECT = "reject"


class Contribution(BaseModel):
    feature: str
    value: float
    contribution: float = Field(
        description="how much the probability drops if this feature took its typical value"
    )


class FraudScore(BaseModel):
    probability: float = Field(ge=0, le=1)
    decision: Decision
    model_version: str
    top_features: list[Contribution]
