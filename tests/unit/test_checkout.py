"""Checkout pricing (promo, destination tax, shipping), address rules, promo usage limits
and the idempotency of saga starts (pure)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.catalog.domain import new_product
from apps.checkout.domain import PromoCheck, fraud_context, fraud_facts, quote
from apps.checkout.promotions import PromotionBook, usage_problem
from apps.checkout.rates import Rates
from apps.checkout.service import order_id_for
from apps.contracts.cart import PromoKind, PromoQuoteRequest, PromoTerms
from apps.contracts.catalog import Product, ProductCreate
from apps.contracts.checkout import (
    AddressInput,
    CheckoutItem,
    FraudFacts,
    ScoreStep,
    ShippingMethod,
)
from apps.contracts.identity import AccountStanding
from apps.contracts.orders import Address, CustomerHistory
from tests import factories
from tests.unit.test_catalog import NOW

RATES = Rates.load()
BOOK = PromotionBook.load()
WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def catalog(**kw: object) -> dict[str, Product]:
    cmd = ProductCreate.model_validate(factories.product(**kw))
    p = new_product(cmd, cmd.product_id or "p", NOW)
    return {p.product_id: p}


def address(**kw: str) -> Address:
    return Address.model_validate(factories.address(**kw))


def _items(p: Product) -> list[CheckoutItem]:
    return [
        CheckoutItem(product_id=p.product_id, quantity=2),
        CheckoutItem(product_id=p.product_id, variant_id=p.variants[1].variant_id, quantity=1),
    ]


def test_prices_lines_with_destination_tax_and_shipping() -> None:
    products = catalog()
    (p,) = products.values()
    q = quote(_items(p), products, address(state="CA"), ShippingMethod.EXPRESS, None, WHEN, RATES)
    assert q.valid and q.priced is not None
    priced = q.priced
    assert [line.unit_price for line in priced.lines] == [Decimal("999.00"), Decimal("1049.00")]
    t = priced.totals
    assert t.subtotal == Decimal("3047.00")
    assert t.tax == Decimal("220.91")  # CA 7.25 % of 3047.00 = 220.9075
    # express, domestic: 12.99 + 1.00/kg x 3 items of the default 1 kg
    assert t.shipping == Decimal("15.99")
    assert t.total == Decimal("3283.90")
    assert {o.method for o in q.shipping_options} == set(ShippingMethod)
    standard = next(o for o in q.shipping_options if o.method == ShippingMethod.STANDARD)
    assert standard.amount == Decimal("0.00")  # free over 75.00 at home


def test_promo_is_taken_off_before_tax_and_abroad_there_is_no_overnight() -> None:
    products = catalog()
    (p,) = products.values()
    promo = PromoCheck(code="welcome10", terms=BOOK.terms("WELCOME10"))
    de = address(country="DE", state="", postal_code="10115")
    q = quote(_items(p), products, de, ShippingMethod.STANDARD, promo, WHEN, RATES)
    t = q.priced.totals  # type: ignore[union-attr]
    assert t.discount == Decimal("304.70")
    assert t.tax == Decimal("521.04")  # DE 19 % of 2742.30 = 521.037
    assert t.shipping == Decimal("20.99")  # 14.99 + 2.00/kg x 3
    assert t.total == t.subtotal - t.discount + t.tax + t.shipping
    assert q.priced.promo_code == "WELCOME10"  # type: ignore[union-attr]
    over = quote(_items(p), products, de, ShippingMethod.OVERNIGHT, promo, WHEN, RATES)
    assert not over.valid and over.problems[0].code == "shipping_unavailable"


def test_item_weight_from_product_attributes() -> None:
    products = catalog(attributes={"weight_kg": "4.5"})
    (p,) = products.values()
    one = [CheckoutItem(product_id=p.product_id, quantity=2)]
    q = quote(one, products, address(), ShippingMethod.OVERNIGHT, None, WHEN, RATES)
    assert q.priced.weight_kg == Decimal("9.0")  # type: ignore[union-attr]
    assert q.priced.totals.shipping == Decimal("47.99")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("items", "code"),
    [
        (lambda p: [{"product_id": "unknown", "quantity": 1}], "unavailable"),
        (
            lambda p: [{"product_id": p.product_id, "variant_id": "x", "quantity": 1}],
            "unknown_variant",
        ),
        (lambda p: [{"product_id": p.product_id, "quantity": 1}] * 2, "duplicate_line"),
    ],
)
def test_problems_are_reported_not_priced(items, code) -> None:  # type: ignore[no-untyped-def]
    products = catalog()
    (p,) = products.values()
    lines = [CheckoutItem.model_validate(i) for i in items(p)]
    q = quote(lines, products, address(), ShippingMethod.STANDARD, None, WHEN, RATES)
    assert not q.valid
    assert [pr.code for pr in q.problems] == [code]


def test_archived_products_and_inapplicable_promos_are_problems() -> None:
    products = catalog(status="archived")
    (p,) = products.values()
    q = quote(_items(p), products, address(), ShippingMethod.STANDARD, None, WHEN, RATES)
    assert not q.valid and q.priced is None
    products = catalog()
    (p,) = products.values()
    unknown = PromoCheck(code="NOPE99", terms=None)
    used = PromoCheck(code="WELCOME10", terms=BOOK.terms("WELCOME10"), limit_problem="used")
    for promo, code in ((unknown, "unknown_promo"), (used, "promo_not_applicable")):
        q = quote(_items(p), products, address(), ShippingMethod.STANDARD, promo, WHEN, RATES)
        assert not q.valid and q.problems[0].code == code
        assert q.priced.totals.discount == Decimal("0.00")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "valid", "bad"),
    [
        ({}, True, []),
        ({"postal_code": "9410"}, False, ["postal_code"]),
        ({"state": ""}, False, ["state"]),
        ({"state": "ZZ"}, False, ["state"]),
        ({"country": "XX"}, False, ["country"]),
        ({"line1": "", "city": ""}, False, ["line1", "city"]),
        ({"phone": "call me"}, False, ["phone"]),
        ({"country": "gb", "state": "", "postal_code": "sw1a 1aa"}, True, []),
        ({"country": "CA", "state": "on", "postal_code": "K1A 0B1"}, True, []),
        ({"country": "CA", "state": "ON", "postal_code": "12345"}, False, ["postal_code"]),
    ],
)
def test_addresses_per_country(fields: dict[str, str], valid: bool, bad: list[str]) -> None:
    checked = RATES.validate_address(AddressInput.model_validate(factories.address(**fields)))
    assert checked.valid is valid
    assert [e.field for e in checked.errors] == bad
    if valid:
        assert checked.address is not None and checked.address.country.isupper()
        assert checked.address.postal_code == checked.address.postal_code.upper()


def test_local_hour_of_the_destination() -> None:
    noon_utc = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert RATES.local_hour(address(), noon_utc) == 7  # America/Chicago, summer time
    assert RATES.local_hour(address(country="DE", state="", postal_code="10115"), noon_utc) == 14


def test_tax_by_destination() -> None:
    assert RATES.tax_rate(address(state="NY")) == Decimal("0.0400")
    assert RATES.tax_rate(address(state="OR")) == Decimal("0.0000")
    ca = address(country="CA", state="ON", postal_code="K1A 0B1")
    assert RATES.tax_rate(ca) == Decimal("0.1300")


def _terms(**kw: object) -> PromoTerms:
    return PromoTerms.model_validate(
        {"code": "X10", "kind": PromoKind.PERCENT, "value": "10.00", **kw}
    )


def test_usage_limits_per_code_and_per_customer() -> None:
    once = _terms(per_customer_limit=1)
    assert usage_problem(once, {}, "a@x.io") is None
    assert "once per customer" in (usage_problem(once, {"o1": "a@x.io"}, "A@X.io ") or "")
    assert usage_problem(once, {"o1": "a@x.io"}, "b@x.io") is None
    # the order already counted is never refused (a retried redemption)
    assert usage_problem(once, {"o1": "a@x.io"}, "a@x.io", order_id="o1") is None
    two = _terms(usage_limit=2)
    assert usage_problem(two, {"o1": "a@x.io"}, "c@x.io") is None
    assert "used up" in (usage_problem(two, {"o1": "a@x.io", "o2": "b@x.io"}, "c@x.io") or "")


def test_promo_quote_reports_a_limit_as_not_applicable() -> None:
    req = PromoQuoteRequest(code="welcome10", subtotal=Decimal("50.00"))
    assert BOOK.quote(req, WHEN).discount == Decimal("5.00")
    limited = BOOK.quote(req, WHEN, "used")
    assert not limited.applicable and limited.discount == Decimal("0.00")


def test_idempotency_key_names_one_order_per_shopper() -> None:
    secret = "server-secret"
    one = order_id_for("k-1", "A@Example.com", secret)
    assert one == order_id_for("k-1", "a@example.com ", secret)
    assert one != order_id_for("k-1", "b@example.com", secret)
    assert order_id_for(None, "a@example.com", secret) != order_id_for(
        None, "a@example.com", secret
    )
    # keyed: whoever knows the key and the email but not the server's secret cannot derive it
    assert one != order_id_for("k-1", "a@example.com", "another-secret")
    assert uuid.UUID(one).version == 4


def test_worker_watch_is_unready_at_once_and_not_live_after_a_stall(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from apps.checkout import adapters

    class Worker:
        connected = True

        def is_worker_ready(self) -> bool:
            return self.connected

    class Runtime:
        _WorkflowRuntime__worker = Worker()

    clock = [100.0]
    monkeypatch.setattr(adapters.time, "monotonic", lambda: clock[0])
    watch = adapters.WorkerWatch(Runtime(), stall_seconds=60)  # type: ignore[arg-type]
    assert watch.ready_problem(None) is None and watch.live_problem(None) is None
    Runtime._WorkflowRuntime__worker.connected = False
    assert watch.ready_problem(None) == "workflow worker not connected to the sidecar"
    clock[0] += 59
    assert watch.live_problem(None) is None
    clock[0] += 2
    assert watch.live_problem(None) == "workflow worker disconnected for 61 s"
    Runtime._WorkflowRuntime__worker.connected = True
    assert watch.live_problem(None) is None and watch.ready_problem(None) is None


# -- what fraud scoring sees ----------------------------------------------------------------
def _score_step(user_id: str | None = None, **facts: object) -> ScoreStep:
    return ScoreStep(
        order_id="o-1",
        facts=FraudFacts.model_validate(
            {
                "amount": "120.00",
                "currency": "USD",
                "item_count": 3,
                "share_electronics": 0.5,
                "share_gift_cards": 0.0,
                **facts,
            }
        ),
        email="shopper@example.com",
        user_id=user_id,
        payment_method="pm_card_visa",
        shipping_address=address(),
        billing_country="CA",
    )


def test_fraud_facts_share_the_amount_by_category() -> None:
    phones = catalog(category_slug="electronics-phones", name="Phone")
    cards = catalog(category_slug="gift-cards", name="Card")
    products = {**phones, **cards}
    items = [CheckoutItem(product_id=pid, quantity=1) for pid in products]
    q = quote(items, products, address(state="CA"), ShippingMethod.STANDARD, None, WHEN, RATES)
    assert q.priced is not None
    facts = fraud_facts(q.priced, products)
    assert facts.item_count == 2 and facts.amount == q.priced.totals.total
    assert facts.share_electronics == pytest.approx(0.5)
    assert facts.share_gift_cards == pytest.approx(0.5)


def test_a_guest_is_scored_without_history() -> None:
    context = fraud_context(_score_step(), 14, None, None, WHEN)
    assert context.is_guest and context.account_age_days == 0 and context.orders_last_7d == 0
    assert context.payment_method_age_days == 0 and context.avg_order_amount == 0
    assert (context.shipping_country, context.billing_country, context.hour) == ("US", "CA", 14)


def test_a_customer_is_scored_with_the_account_and_its_orders() -> None:
    standing = AccountStanding(
        user_id="u-1",
        created_at=WHEN - timedelta(days=30, hours=12),
        payment_method_added_at=WHEN - timedelta(days=2),
    )
    history = CustomerHistory(
        user_id="u-1",
        order_count=5,
        orders_last_24h=1,
        orders_last_7d=2,
        avg_order_amount=Decimal("80.50"),
    )
    context = fraud_context(_score_step("u-1"), 9, standing, history, WHEN)
    assert not context.is_guest
    assert context.account_age_days == 30.5 and context.payment_method_age_days == 2
    assert (context.orders_last_24h, context.orders_last_7d) == (1, 2)
    assert context.avg_order_amount == 80.5
    # a clock behind the account's creation never makes a negative age
    early = fraud_context(_score_step("u-1"), 9, standing, None, WHEN - timedelta(days=60))
    assert early.account_age_days == 0
