"""Promotion codes checkout honours, and quotes of a code for a subtotal (pure)."""

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from apps.contracts.cart import PromoQuote, PromoQuoteRequest, PromoTerms
from apps.contracts.errors import UnprocessableError
from apps.contracts.promotions import promo_discount

DEFAULT_FILE = Path(__file__).with_name("promotions.json")


class PromotionBook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    promotions: list[PromoTerms]

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> "PromotionBook":
        book = cls.model_validate(json.loads(path.read_text()))
        codes = [p.code.upper() for p in book.promotions]
        if len(set(codes)) != len(codes):
            raise ValueError(f"duplicate promo codes in {path}")
        return book

    def quote(self, req: PromoQuoteRequest, now: datetime) -> PromoQuote:
        """Unknown codes are refused (422); known ones say whether they apply and why not."""
        terms = next((p for p in self.promotions if p.code.upper() == req.code.upper()), None)
        if terms is None:
            raise UnprocessableError(
                f"Unknown promo code {req.code}", reason="unknown_promo", promo_code=req.code
            )
        discount, problem = promo_discount(terms, req.subtotal, now)
        return PromoQuote(
            terms=terms, discount=discount, applicable=problem is None, reason=problem
        )
