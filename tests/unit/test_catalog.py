"""Catalog rules and use cases, with in-memory fakes of the catalog's ports."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.catalog import domain
from apps.catalog.service import CatalogService
from apps.contracts.catalog import Product, ProductCreate, ProductStatus, ProductUpdate
from apps.contracts.errors import Conflict, InvalidRequest, NotFound, UnprocessableError
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import OrderLine, OrderPaid, OrderStatus, Totals
from tests import factories
from tests.fakes.ports import FakeCategories, FakeProductRepository, FakeRelay, FakeSkuIndex

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def make(**kw: object) -> Product:
    cmd = ProductCreate.model_validate(factories.product(**kw))
    return domain.new_product(cmd, cmd.product_id or "p", NOW)


def test_new_active_product_is_published() -> None:
    assert make().published_at == NOW
    assert make(status="draft").published_at is None


def test_duplicate_variant_skus_are_refused() -> None:
    body = factories.product()
    body["variants"][1]["sku"] = body["variants"][0]["sku"]
    with pytest.raises(InvalidRequest):
        domain.new_product(ProductCreate.model_validate(body), "p", NOW)


def test_variant_price_cannot_go_negative() -> None:
    body = factories.product()
    body["variants"][0]["price_adjustment"] = "-1000.00"
    with pytest.raises(InvalidRequest):
        domain.new_product(ProductCreate.model_validate(body), "p", NOW)


@pytest.mark.parametrize(
    ("start", "to", "ok"),
    [
        ("draft", "active", True),
        ("active", "archived", True),
        ("archived", "active", True),
        ("active", "draft", False),
        ("archived", "draft", False),
    ],
)
def test_status_changes(start: str, to: str, ok: bool) -> None:
    product = make(status=start)
    update = ProductUpdate(status=ProductStatus(to))
    if ok:
        updated, changed = domain.apply_update(product, update, NOW)
        assert updated.status == to and changed == ["status"]
    else:
        with pytest.raises(Conflict):
            domain.apply_update(product, update, NOW)


def test_only_drafts_are_deletable() -> None:
    domain.ensure_deletable(make(status="draft"))
    with pytest.raises(Conflict):
        domain.ensure_deletable(make())


def _paid_event(product: Product, qty: int, user: str | None = None) -> EventEnvelope:
    line = OrderLine(
        product_id=product.product_id,
        variant_id="v",
        sku="S",
        name="n",
        quantity=qty,
        unit_price=Decimal("1"),
        line_total=Decimal(qty),
    )
    payload = OrderPaid(
        order_id="o1",
        order_number="SC-2026-000001",
        email="a@example.com",
        user_id=user,
        status=OrderStatus.PAID,
        previous_status=OrderStatus.AWAITING_PAYMENT,
        totals=Totals(subtotal=Decimal(qty), total=Decimal(qty)),
        items=[line],
        version=3,
        at=NOW,
    )
    return EventEnvelope.of(payload, correlation_id="c", source="orders", event_id="o1:3")


def test_service_create_update_and_conflicts() -> None:
    repo, relay = FakeProductRepository(), FakeRelay()
    svc = CatalogService(repo, relay, FakeSkuIndex(), FakeCategories({"no-such-category"}))
    cmd = ProductCreate.model_validate(factories.product())
    product, etag, created = run(svc.create(cmd, "corr"))
    assert created and relay.relayed[-1].event_type == "ProductCreated"
    _, _, again = run(svc.create(cmd, "corr"))
    assert again is False
    with pytest.raises(Conflict):
        run(svc.create(cmd.model_copy(update={"name": "Other"}), "corr"))

    updated, etag2 = run(svc.update(product.product_id, ProductUpdate(name="New"), etag, "c"))
    assert updated.name == "New" and etag2 != etag
    with pytest.raises(Conflict):
        run(svc.update(product.product_id, ProductUpdate(name="Stale"), etag, "c"))
    with pytest.raises(InvalidRequest):
        run(svc.update(product.product_id, ProductUpdate(name="x"), None, "c"))
    archived, _ = run(
        svc.update(product.product_id, ProductUpdate(status=ProductStatus.ARCHIVED), etag2, "c")
    )
    assert archived.status == "archived"
    assert relay.relayed[-1].event_type == "ProductArchived"
    with pytest.raises(NotFound):
        run(svc.get("missing"))
    with pytest.raises(UnprocessableError):
        run(
            svc.create(
                ProductCreate.model_validate(factories.product(category_slug="no-such-category")),
                "c",
            )
        )


def test_order_paid_counts_once_and_survives_a_race() -> None:
    repo, relay = FakeProductRepository(), FakeRelay()
    svc = CatalogService(repo, relay, FakeSkuIndex(), FakeCategories({"no-such-category"}))
    product, _, _ = run(svc.create(ProductCreate.model_validate(factories.product()), "c"))
    event = _paid_event(product, 3)
    repo.fail_next_update_many = 1  # a concurrent writer wins the first attempt
    run(svc.on_order_paid(event))
    run(svc.on_order_paid(event))  # redelivery
    current, _ = run(svc.get(product.product_id))
    assert current.analytics.purchases == 3
    assert repo.purchases == set()  # a guest's order records no buyer
    signed_in = _paid_event(product, 1, user="u-7").model_copy(update={"event_id": "o2:3"})
    run(svc.on_order_paid(signed_in))
    assert repo.purchases == {("u-7", product.product_id)}


def test_category_parents_must_exist_and_never_loop() -> None:
    parents = {"home": None, "home-kitchen": "home", "home-kitchen-knives": "home-kitchen"}
    domain.check_parent("new", "home", parents)
    domain.check_parent("new", None, parents)
    with pytest.raises(InvalidRequest):
        domain.check_parent("new", "garden", parents)
    with pytest.raises(Conflict):
        domain.check_parent("home", "home-kitchen-knives", parents)
    with pytest.raises(Conflict):
        domain.check_parent("home", "home", parents)


def test_a_partial_update_changes_only_what_was_sent() -> None:
    product = make()
    assert product.price.tax_rate == Decimal("0.0825")
    update = ProductUpdate.model_validate({"price": {"amount": "0.00"}})
    updated, changed = domain.apply_update(product, update, NOW)
    assert updated.price.amount == Decimal("0.00")
    assert updated.price.tax_rate == Decimal("0.0825")  # kept, not reset to the default
    assert updated.price.currency == product.price.currency and changed == ["price"]
    same, nothing = domain.apply_update(product, ProductUpdate.model_validate({}), NOW)
    assert nothing == [] and same.price == product.price


def test_slugs_belong_to_one_product() -> None:
    repo, relay = FakeProductRepository(), FakeRelay()
    svc = CatalogService(repo, relay, FakeSkuIndex(), FakeCategories({"no-such-category"}))
    first, _, _ = run(svc.create(ProductCreate.model_validate(factories.product()), "c"))
    other = ProductCreate.model_validate(factories.product())
    with pytest.raises(Conflict, match="slug"):
        run(svc.create(other.model_copy(update={"slug": first.slug}), "c"))
    second, etag, _ = run(svc.create(other, "c"))
    with pytest.raises(Conflict, match="slug"):
        run(svc.update(second.product_id, ProductUpdate(slug=first.slug), etag, "c"))
    assert run(svc.get(second.product_id))[0].slug == second.slug  # unchanged
