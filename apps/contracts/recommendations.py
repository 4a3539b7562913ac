"""Recommendation wire models (the recommendations app, invoked through Dapr)."""

from typing import Literal

from pydantic import BaseModel

Strategy = Literal["blend", "content", "popularity"]


class Recommended(BaseModel):
    product_id: str
    rank: int


class Recommendations(BaseModel):
    items: list[Recommended]
    strategy: Strategy
    model_version: str
