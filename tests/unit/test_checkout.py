"""Checkout pricing and the idempotency of saga starts (pure)."""

from decimal import Decimal

import pytest

from apps.catalog.domain import new_product
from apps.checkout.domain import price_lines
from apps.checkout.service import order_id_for
from apps.contracts.catalog import Product, ProductCreate
from apps.contracts.checkout import CheckoutItem
from apps.contracts.errors import InvalidRequest, UnprocessableError
from tests import factories
from tests.unit.test_catalog import NOW


def catalog(**kw: object) -> dict[str, Product]:
    cmd = ProductCreate.model_validate(factories.product(**kw))
    p = new_product(cmd, cmd.product_id or "p", NOW)
    return {p.product_id: p}


def test_prices_lines_with_variant_adjustments_and_tax() -> None:
    products = catalog()
    (p,) = products.values()
    priced = price_lines(
        [
            CheckoutItem(product_id=p.product_id, quantity=2),
            CheckoutItem(product_id=p.product_id, variant_id=p.variants[1].variant_id, quantity=1),
        ],
        products,
    )
    assert [line.unit_price for line in priced.lines] == [Decimal("999.00"), Decimal("1049.00")]
    assert priced.totals.subtotal == Decimal("3047.00")
    assert priced.totals.tax == Decimal("251.38")  # 8.25 % of 3047.00 = 251.3775
    assert priced.totals.total == Decimal("3298.38")


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda p, i: {"product_id": "unknown", "quantity": 1}, UnprocessableError),
        (lambda p, i: {**i, "variant_id": "nope"}, UnprocessableError),
    ],
)
def test_refuses_unknown_products_and_variants(mutate, error) -> None:  # type: ignore[no-untyped-def]
    products = catalog()
    (p,) = products.values()
    item = {"product_id": p.product_id, "quantity": 1}
    with pytest.raises(error):
        price_lines([CheckoutItem.model_validate(mutate(p, item))], products)


def test_refuses_inactive_products_and_duplicate_lines() -> None:
    products = catalog(status="archived")
    (p,) = products.values()
    with pytest.raises(UnprocessableError):
        price_lines([CheckoutItem(product_id=p.product_id, quantity=1)], products)
    products = catalog()
    (p,) = products.values()
    with pytest.raises(InvalidRequest):
        price_lines([CheckoutItem(product_id=p.product_id, quantity=1)] * 2, products)


def test_idempotency_key_names_one_order_per_shopper() -> None:
    assert order_id_for("k-1", "A@Example.com") == order_id_for("k-1", "a@example.com ")
    assert order_id_for("k-1", "a@example.com") != order_id_for("k-1", "b@example.com")
    assert order_id_for(None, "a@example.com") != order_id_for(None, "a@example.com")
