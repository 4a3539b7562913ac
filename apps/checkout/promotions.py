"""Promotion codes checkout honours (pure): their terms, quotes of a code for a subtotal,
the usage limits (per code and per customer) judged against the code's redemptions, and
staff's changes to the definitions.

The codes shipped in promotions.json are the seeded defaults. Staff create codes, edit
terms, pause and resume them; each such definition is kept by checkout's store
(`promo-def:{CODE}`, see promotions_store.py) and wins over the shipped one of its code."""

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.cart import PromoKind, PromoQuote, PromoQuoteRequest, PromoTerms
from apps.contracts.errors import Conflict, UnprocessableError
from apps.contracts.promotions import (
    HUNDRED,
    MAX_FIXED_VALUE,
    Promotion,
    PromotionIn,
    PromotionSource,
    PromotionStatus,
    PromotionTermsIn,
    promo_discount,
)

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

    async def find(self, code: str) -> PromoTerms | None:
        """`terms`, as the store-backed definitions answer it (the shipped codes alone)."""
        return self.terms(code)

    def quote(
        self, req: PromoQuoteRequest, now: datetime, limit_problem: str | None = None
    ) -> PromoQuote:
        return quote_terms(self.terms(req.code), req, now, limit_problem)


def quote_terms(
    terms: PromoTerms | None, req: PromoQuoteRequest, now: datetime, limit_problem: str | None
) -> PromoQuote:
    """Unknown codes are refused (422); known ones say whether they apply and why not (a
    paused or expired code does not)."""
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
    if terms.paused:
        return f"Promo code {terms.code} is paused"
    if terms.usage_limit is not None and len(redemptions) >= terms.usage_limit:
        return f"Promo code {terms.code} has been used up"
    mine = sum(1 for who in redemptions.values() if who == customer_key(email))
    if terms.per_customer_limit is not None and mine >= terms.per_customer_limit:
        times = "once" if terms.per_customer_limit == 1 else f"{terms.per_customer_limit} times"
        return f"Promo code {terms.code} can be used {times} per customer"
    return None


# -- staff's definitions ---------------------------------------------------------------------
class PromotionDef(BaseModel):
    """A code's definition as staff left it (`version` 0: a shipped code nobody changed)."""

    model_config = ConfigDict(extra="ignore")

    terms: PromoTerms
    source: PromotionSource
    version: int = Field(ge=0)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    #: `request_key` of the create that made it ("": none given).
    created_by_request: str = ""


def normalise_code(code: str) -> str:
    return code.strip().upper()


def shipped(book: PromotionBook, code: str) -> PromotionDef | None:
    terms = book.terms(code)
    if terms is None:
        return None
    terms = terms.model_copy(update={"code": normalise_code(terms.code)})
    return PromotionDef(terms=terms, source=PromotionSource.SEED, version=0)


def etag_of(found: PromotionDef) -> str:
    return f'"{found.terms.code}.{found.version}"'


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise UnprocessableError(f"{name} needs a UTC offset", field=name)


def checked_terms(code: str, req: PromotionTermsIn, paused: bool) -> PromoTerms:
    """The terms staff asked for, or a 422 saying which rule they break."""
    _aware("starts_at", req.starts_at)
    _aware("ends_at", req.ends_at)
    if req.starts_at and req.ends_at and req.ends_at <= req.starts_at:
        raise UnprocessableError("ends_at must be after starts_at", field="ends_at")
    if req.kind == PromoKind.PERCENT and req.value > HUNDRED:
        raise UnprocessableError("A percentage is at most 100", field="value")
    if req.kind == PromoKind.FIXED and req.value > MAX_FIXED_VALUE:
        raise UnprocessableError(f"A fixed amount is at most {MAX_FIXED_VALUE}", field="value")
    if (
        req.usage_limit is not None
        and req.per_customer_limit is not None
        and req.per_customer_limit > req.usage_limit
    ):
        raise UnprocessableError(
            "per_customer_limit cannot exceed usage_limit", field="per_customer_limit"
        )
    return PromoTerms(code=normalise_code(code), paused=paused, **req.model_dump())


def request_key(who: str, idempotency_key: str | None) -> str:
    """What a retried create repeats: the same staff member's same Idempotency-Key."""
    if not idempotency_key:
        return ""
    return hashlib.sha256(f"promotion\n{who}\n{idempotency_key}".encode()).hexdigest()


def created(
    req: PromotionIn,
    existing: PromotionDef | None,
    who: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[PromotionDef, bool]:
    """A new code, and whether it is new: a code that exists (shipped or created) is a
    409, unless this very request created it (its retry, same Idempotency-Key)."""
    code = normalise_code(req.code)
    key = request_key(who, idempotency_key)
    if existing is not None:
        if key and existing.created_by_request == key:
            return existing, False
        raise Conflict(f"Promo code {code} exists already", promo_code=code)
    asked = PromotionTermsIn.model_validate(req.model_dump(exclude={"code", "paused"}))
    terms = checked_terms(code, asked, req.paused)
    made = PromotionDef(
        terms=terms,
        source=PromotionSource.STAFF,
        version=1,
        created_at=now,
        updated_at=now,
        updated_by=who,
        created_by_request=key,
    )
    return made, True


def edited(
    current: PromotionDef, req: PromotionTermsIn, if_match: str, who: str, now: datetime
) -> PromotionDef:
    """New terms for a code, if `if_match` names its current version (else 409); whether it
    is paused stays as it is."""
    if if_match != etag_of(current):
        raise Conflict(
            f"Promo code {current.terms.code} changed since you read it", etag=etag_of(current)
        )
    terms = checked_terms(current.terms.code, req, current.terms.paused)
    return _next(current, terms, who, now)


def paused(current: PromotionDef, pause: bool, who: str, now: datetime) -> PromotionDef | None:
    """The code paused (or resumed); None if it already is (a retry changes nothing)."""
    if current.terms.paused == pause:
        return None
    return _next(current, current.terms.model_copy(update={"paused": pause}), who, now)


def _next(current: PromotionDef, terms: PromoTerms, who: str, now: datetime) -> PromotionDef:
    return current.model_copy(
        update={
            "terms": terms,
            "version": current.version + 1,
            "created_at": current.created_at or now,
            "updated_at": now,
            "updated_by": who,
        }
    )


def status_of(found: PromotionDef, used: int, now: datetime) -> PromotionStatus:
    terms = found.terms
    if terms.paused:
        return PromotionStatus.PAUSED
    if terms.ends_at and now >= terms.ends_at:
        return PromotionStatus.EXPIRED
    if terms.starts_at and now < terms.starts_at:
        return PromotionStatus.SCHEDULED
    if terms.usage_limit is not None and used >= terms.usage_limit:
        return PromotionStatus.USED_UP
    return PromotionStatus.ACTIVE


def view(found: PromotionDef, used: int, now: datetime) -> Promotion:
    limit = found.terms.usage_limit
    return Promotion(
        terms=found.terms,
        status=status_of(found, used, now),
        source=found.source,
        used=used,
        remaining=None if limit is None else max(0, limit - used),
        version=found.version,
        created_at=found.created_at,
        updated_at=found.updated_at,
        updated_by=found.updated_by,
    )
