"""Promotion codes checkout honours (pure): their terms, quotes of a code for a subtotal,
and the usage limits (per code and per customer) judged against the code's redemptions."""

import json
from datetime import datetime
from decimal import Decimal
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

    def terms(self, code: str) -> PromoTerms | None:
        return next((p for p in self.promotions if p.code.upper() == code.upper()), None)

    def quote(
        self, req: PromoQuoteRequest, now: datetime, limit_problem: str | None = None
    ) -> PromoQuote:
        """Unknown codes are refused (422); known ones say whether they apply and why not."""
        terms = self.terms(req.code)
        if terms is None:
            raise UnprocessableError(
                f"Unknown promo code {req.code}", reason="unknown_promo", promo_code=req.code
            )
        discount, problem = promo_discount(terms, req.subtotal, now)
        problem = problem or limit_problem
        return PromoQuote(
            terms=terms,
            discount=discount if problem is None else Decimal("0.00"),
            applicable=problem is None,
            reason=problem,
        )


def customer_key(email: str) -> str:
    return email.strip().lower()


def usage_problem(
    terms: PromoTerms, redemptions: dict[str, str], email: str, order_id: str | None = None
) -> str | None:
    """Why `email` may not use the code again, given its redemptions (order id -> customer);
    an order already counted is never refused (a retried redemption)."""
    if order_id is not None and order_id in redemptions:
        return None
    if terms.usage_limit is not None and len(redemptions) >= terms.usage_limit:
        return f"Promo code {terms.code} has been used up"
    mine = sum(1 for who in redemptions.values() if who == customer_key(email))
    if terms.per_customer_limit is not None and mine >= terms.per_customer_limit:
        times = "once" if terms.per_customer_limit == 1 else f"{terms.per_customer_limit} times"
        return f"Promo code {terms.code} can be used {times} per customer"
    return None
