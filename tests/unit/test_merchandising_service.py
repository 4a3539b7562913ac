"""The price-apply use case against an in-memory store and catalog (the Dapr edges faked at
their interfaces): applied once, a product changed since is a 409 that changes nothing, an
apply that stopped after the catalog took it is finished by the next one, and a dismiss
cannot overtake an apply under way."""

import asyncio
import itertools
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.backoffice.merchandising import Decision
from apps.backoffice.merchandising_service import MerchandisingService
from apps.contracts.errors import DomainError
from apps.contracts.merchandising import PriceSuggestionIn, SuggestionStatus
from apps.platform.dapr import InvokeResult
from apps.platform.state import EtagMismatch, Versioned


class MemoryStore:
    """JsonStateStore's contract: ETags change on every write; a stale one is refused."""

    def __init__(self) -> None:
        self.docs: dict[str, Versioned] = {}
        self.tags = itertools.count(1)

    async def get(self, key: str) -> Versioned | None:
        return self.docs.get(key)

    async def insert(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        if key in self.docs:
            raise EtagMismatch(key)
        self.docs[key] = Versioned(value, str(next(self.tags)))

    async def replace(
        self, key: str, value: Any, etag: str, ttl_seconds: int | None = None
    ) -> None:
        if key not in self.docs or self.docs[key].etag != etag:
            raise EtagMismatch(key)
        self.docs[key] = Versioned(value, str(next(self.tags)))

    async def scan(self, filter_: dict[str, Any], order_by: str) -> list[Versioned]:
        kind = filter_["EQ"]["kind"]
        return [d for d in self.docs.values() if d.value.get("kind") == kind]

    async def compare_and_set(self, key: str, decide: Any, attempts: int = 20) -> bool:
        found = self.docs.get(key)
        value = decide(found.value if found else None)
        if value is None:
            return False
        self.docs[key] = Versioned(value, str(next(self.tags)))
        return True


class Apps:
    """The catalog (one product, ETag-guarded updates) and pricing, as invoked."""

    def __init__(self) -> None:
        self.product: dict[str, Any] = {
            "product_id": "p-1",
            "price": {"amount": "65.99", "currency": "USD", "tax_rate": "0.0600"},
            "variants": [{"variant_id": "v1", "sku": "FAS-1", "price_adjustment": "0.00"}],
        }
        self.etag = 1
        self.patches = 0
        self.fail_record = False

    def edit(self, **fields: Any) -> None:
        self.product = {**self.product, **fields}
        self.etag += 1

    async def invoke(self, app_id: str, path: str, **kw: Any) -> InvokeResult:
        method = kw.get("method", "GET")
        if app_id == "pricing":
            return _ok(_suggestion(float(kw["json_body"]["current_price"])))
        if method == "GET":
            return _ok(self.product, {"ETag": f'"{self.etag}"'})
        assert method == "PATCH"
        if kw["headers"]["If-Match"].strip('"') != str(self.etag):
            return InvokeResult(
                409, {"error": {"code": "CONFLICT", "message": "changed"}}, httpx.Headers()
            )
        self.patches += 1
        self.edit(**kw["json_body"])
        return _ok(self.product, {"ETag": f'"{self.etag}"'})


def _ok(body: Any, headers: dict[str, str] | None = None) -> InvokeResult:
    return InvokeResult(200, body, httpx.Headers(headers or {}))


def _suggestion(price: float) -> dict[str, Any]:
    return {
        "sku": "FAS-1",
        "model_version": "pricing-test",
        "current_price": price,
        "suggested_price": round(price * 1.1, 2),
        "change": 0.1,
        "unit_cost": 30.0,
        "elasticity": {
            "value": -1.2,
            "source": "sku",
            "sku_estimate": -1.2,
            "category_estimate": -1.5,
            "promo_days": 80,
        },
        "expected_daily_units": {"current": 3.0, "suggested": 2.7},
        "expected_daily_margin": {"current": 107.97, "suggested": 114.3},
        "binding": ["max_change_up"],
        "explanation": "Demand is inelastic enough to raise the price.",
    }


class Sidecar:
    def __init__(self, apps: Apps) -> None:
        self.invoke = apps.invoke


def _service() -> tuple[MerchandisingService, Apps, MemoryStore]:
    apps, store = Apps(), MemoryStore()
    return MerchandisingService(store, Sidecar(apps)), apps, store  # type: ignore[arg-type]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_suggestion_is_applied_once_and_remembers_both_prices() -> None:
    service, apps, _ = _service()
    made = _run(service.suggest(PriceSuggestionIn(product_id="p-1"), "s-1", None))
    assert made.current_price == Decimal("65.99") and made.suggested_price == Decimal("72.59")
    applied = _run(service.decide(made.suggestion_id, Decision.APPLY, "s-2", "ok", "key-1"))
    assert applied.status == SuggestionStatus.APPLIED and applied.decided_by == "s-2"
    assert (applied.previous_price, applied.applied_price) == (Decimal("65.99"), Decimal("72.59"))
    assert apps.product["price"]["amount"] == "72.59" and apps.patches == 1
    # the same request again: the first answer; anything else: 409; the catalog untouched
    again = _run(service.decide(made.suggestion_id, Decision.APPLY, "s-2", "ok", "key-1"))
    assert again.decided_at == applied.decided_at
    for decision, key in (
        (Decision.APPLY, None),
        (Decision.APPLY, "key-2"),
        (Decision.DISMISS, "key-1"),
    ):
        with pytest.raises(DomainError) as refused:
            _run(service.decide(made.suggestion_id, decision, "s-3", "", key))
        assert refused.value.status == 409
    assert apps.patches == 1


def test_a_product_changed_since_is_a_409_and_nothing_changes() -> None:
    service, apps, _ = _service()
    made = _run(service.suggest(PriceSuggestionIn(product_id="p-1"), "s-1", None))
    apps.edit(description="edited")
    with pytest.raises(DomainError) as refused:
        _run(service.decide(made.suggestion_id, Decision.APPLY, "s-2", "", None))
    assert refused.value.status == 409 and refused.value.details["reason"] == "product_changed"
    assert apps.product["price"]["amount"] == "65.99" and apps.patches == 0
    left = _run(service.get_suggestion(made.suggestion_id))
    assert left.status == SuggestionStatus.PENDING
    dismissed = _run(service.decide(made.suggestion_id, Decision.DISMISS, "s-2", "old", None))
    assert dismissed.status == SuggestionStatus.DISMISSED and dismissed.note == "old"


def test_an_apply_that_stopped_after_the_catalog_took_it_is_finished_by_the_next() -> None:
    service, apps, store = _service()
    made = _run(service.suggest(PriceSuggestionIn(product_id="p-1"), "s-1", None))
    key = f"merch-price:{made.suggestion_id}"
    # the first apply marked itself under way and the catalog took the price, then it stopped
    doc = store.docs[key]
    store.docs[key] = Versioned({**doc.value, "in_flight": {"key": "k", "by": "s-2"}}, "x")
    apps.edit(price={**apps.product["price"], "amount": "72.59"})
    with pytest.raises(DomainError) as waiting:  # a dismiss cannot overtake it
        _run(service.decide(made.suggestion_id, Decision.DISMISS, "s-3", "", None))
    assert waiting.value.status == 409
    finished = _run(service.decide(made.suggestion_id, Decision.APPLY, "s-3", "", None))
    assert finished.status == SuggestionStatus.APPLIED and finished.decided_by == "s-2"
    assert apps.patches == 0  # not applied twice
    assert store.docs[key].value["in_flight"] is None


def test_the_same_idempotency_key_asks_pricing_once() -> None:
    service, _, store = _service()
    body = PriceSuggestionIn(product_id="p-1")
    first = _run(service.suggest(body, "s-1", "idem-12345"))
    assert _run(service.suggest(body, "s-1", "idem-12345")) == first
    other = _run(service.suggest(body, "s-2", "idem-12345"))  # another staff member's key
    assert other.suggestion_id != first.suggestion_id
    listed = _run(service.suggestions(None, "p-1", None, 1, 10))
    assert listed.total == 2 == len(store.docs)
