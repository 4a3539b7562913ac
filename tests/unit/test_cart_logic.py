"""The cart's rules (actors/cart/logic.py), the shared promotion maths and checkout's
promotion book: pure, fixed clocks, no Dapr. Expected amounts are worked out by hand."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from actors.cart import logic
from apps.checkout.promotions import PromotionBook
from apps.contracts.cart import (
    Cart,
    CartError,
    CartErrorCode,
    CartLine,
    CartOwner,
    LineIssueCode,
    LineSnapshot,
    PromoKind,
    PromoQuote,
    PromoQuoteRequest,
    PromoTerms,
)
from apps.contracts.errors import ErrorCode, UnprocessableError
from apps.contracts.promotions import promo_discount

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)
LIMITS = logic.Limits()
SMALL = logic.Limits(max_line_quantity=5, max_lines=2)
D = Decimal


# -- helpers -------------------------------------------------------------------------------
def snap(
    product_id: str = "p-1",
    variant_id: str | None = "v-1",
    *,
    price: str | None = "10.00",
    available: int = 50,
    tax_rate: str = "0",
    currency: str = "USD",
    found: bool = True,
    active: bool = True,
    sku: str | None = None,
) -> LineSnapshot:
    """What catalog answers about one product variant."""
    if not found:
        return LineSnapshot(product_id=product_id, variant_id=variant_id, found=False)
    return LineSnapshot(
        product_id=product_id,
        variant_id=variant_id,
        found=True,
        active=active,
        sku=sku or f"SKU-{product_id}-{variant_id}",
        name=f"Product {product_id}",
        variant_name="Blue / M",
        unit_price=D(price) if price is not None else None,
        currency=currency,
        tax_rate=D(tax_rate),
        image_url=f"https://img.example/{product_id}.jpg",
        available=available,
    )


def terms(
    code: str = "TEN",
    kind: PromoKind = PromoKind.PERCENT,
    value: str = "10.00",
    *,
    min_subtotal: str = "0.00",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> PromoTerms:
    return PromoTerms(
        code=code,
        kind=kind,
        value=D(value),
        min_subtotal=D(min_subtotal),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def ok(outcome: logic.Outcome) -> Cart:
    assert isinstance(outcome, Cart), outcome
    return outcome


def refused(outcome: logic.Outcome) -> CartError:
    assert isinstance(outcome, logic.Refused), outcome
    return outcome.error


def cart_of(
    *lines: tuple[LineSnapshot, int],
    cart_id: str = "user-u1",
    limits: logic.Limits = LIMITS,
) -> Cart:
    cart = logic.new_cart(cart_id, NOW, limits)
    for s, qty in lines:
        cart = ok(logic.add(cart, s, qty, NOW, limits))
    return cart


def lid(product_id: str = "p-1", variant_id: str = "v-1") -> str:
    return logic.line_id(product_id, variant_id)


def quote(book: PromotionBook, code: str, subtotal: str, now: datetime = NOW) -> PromoQuote:
    return book.quote(PromoQuoteRequest(code=code, subtotal=D(subtotal)), now)


# -- identity and life ---------------------------------------------------------------------
def test_owner_of_reads_guest_and_user_ids() -> None:
    assert logic.owner_of("guest-0b5c7d0e") == (CartOwner.GUEST, "0b5c7d0e")
    assert logic.owner_of("user-u123") == (CartOwner.USER, "u123")
    assert logic.owner_of("user-a-b") == (CartOwner.USER, "a-b")


@pytest.mark.parametrize(
    "cart_id", ["", "guest", "guest-", "user-", "admin-1", "guestabc", "GUEST-abc", "-abc"]
)
def test_owner_of_rejects_a_bad_id(cart_id: str) -> None:
    with pytest.raises(ValueError, match="not a cart id"):
        logic.owner_of(cart_id)


def test_new_guest_cart_has_a_session_and_the_guest_ttl() -> None:
    cart = logic.new_cart("guest-s1", NOW, LIMITS)
    assert cart.owner == CartOwner.GUEST
    assert cart.session_id == "s1"
    assert cart.user_id is None
    assert cart.created_at == cart.updated_at == NOW
    assert cart.expires_at == NOW + timedelta(days=14)
    assert cart.version == 0
    assert cart.items == []
    assert cart.totals.subtotal == D("0.00")
    assert cart.valid is True


def test_new_user_cart_has_a_user_and_the_user_ttl() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    assert cart.owner == CartOwner.USER
    assert cart.user_id == "u1"
    assert cart.session_id is None
    assert cart.expires_at == NOW + timedelta(days=90)


def test_new_cart_bad_id_raises() -> None:
    with pytest.raises(ValueError):
        logic.new_cart("shop-1", NOW, LIMITS)


def test_new_cart_uses_the_configured_ttls() -> None:
    limits = logic.Limits(guest_ttl=timedelta(hours=1), user_ttl=timedelta(days=2))
    assert logic.new_cart("guest-s", NOW, limits).expires_at == NOW + timedelta(hours=1)
    assert logic.new_cart("user-u", NOW, limits).expires_at == NOW + timedelta(days=2)


def test_line_id_is_deterministic_and_distinct() -> None:
    first = logic.line_id("p-1", "v-1")
    assert first == logic.line_id("p-1", "v-1")
    assert first.startswith("ci-")
    assert len(first) == 3 + 16
    int(first[3:], 16)  # hex
    assert first != logic.line_id("p-1", "v-2")
    assert first != logic.line_id("p-2", "v-1")
    # the separator keeps the product and variant apart
    assert logic.line_id("ab", "c") != logic.line_id("a", "bc")


def test_is_expired_at_and_after_the_expiry() -> None:
    cart = logic.new_cart("guest-s1", NOW, LIMITS)
    assert not logic.is_expired(cart, NOW)
    assert not logic.is_expired(cart, cart.expires_at - timedelta(seconds=1))
    assert logic.is_expired(cart, cart.expires_at)
    assert logic.is_expired(cart, cart.expires_at + timedelta(days=1))


def test_touch_moves_guest_expiry_by_the_guest_ttl_and_bumps_version() -> None:
    limits = logic.Limits(guest_ttl=timedelta(days=1), user_ttl=timedelta(days=30))
    cart = logic.new_cart("guest-s1", NOW, limits)
    touched = logic.touch(cart, LATER, limits)
    assert touched.updated_at == LATER
    assert touched.expires_at == LATER + timedelta(days=1)
    assert touched.version == cart.version + 1
    assert touched.created_at == NOW


def test_touch_moves_user_expiry_by_the_user_ttl() -> None:
    limits = logic.Limits(guest_ttl=timedelta(days=1), user_ttl=timedelta(days=30))
    cart = logic.new_cart("user-u1", NOW, limits)
    touched = logic.touch(logic.touch(cart, LATER, limits), LATER + timedelta(days=5), limits)
    assert touched.expires_at == LATER + timedelta(days=35)
    assert touched.version == 2


def test_touch_keeps_an_expired_cart_alive_again() -> None:
    cart = logic.new_cart("guest-s1", NOW, LIMITS)
    late = NOW + timedelta(days=20)
    assert logic.is_expired(cart, late)
    assert not logic.is_expired(logic.touch(cart, late, LIMITS), late)


# -- add -----------------------------------------------------------------------------------
def test_add_a_new_line() -> None:
    cart = logic.new_cart("guest-s1", NOW, LIMITS)
    s = snap(price="12.50", tax_rate="0.0800", available=10)
    out = ok(logic.add(cart, s, 3, LATER, LIMITS))
    assert len(out.items) == 1
    line = out.items[0]
    assert line.cart_item_id == lid()
    assert (line.product_id, line.variant_id, line.sku) == ("p-1", "v-1", "SKU-p-1-v-1")
    assert line.name == "Product p-1"
    assert line.variant_name == "Blue / M"
    assert line.quantity == 3
    assert line.unit_price == D("12.50")
    assert line.line_total == D("37.50")
    assert line.tax_rate == D("0.0800")
    assert line.currency == "USD"
    assert line.image_url == "https://img.example/p-1.jpg"
    assert line.added_at == LATER
    assert line.issues == []
    assert out.version == 1
    assert out.updated_at == LATER
    assert out.expires_at == LATER + timedelta(days=14)
    assert out.totals.item_count == 3
    assert out.totals.subtotal == D("37.50")
    # the input cart is untouched
    assert cart.items == []
    assert cart.version == 0


def test_add_to_an_existing_line_grows_it() -> None:
    cart = cart_of((snap(), 2))
    out = ok(logic.add(cart, snap(), 3, LATER, LIMITS))
    assert len(out.items) == 1
    line = out.items[0]
    assert line.quantity == 5
    assert line.line_total == D("50.00")
    assert line.added_at == NOW  # first added
    assert out.updated_at == LATER
    assert out.version == 2
    assert out.totals.item_count == 5


def test_add_again_takes_the_current_price() -> None:
    cart = cart_of((snap(price="10.00"), 1))
    out = ok(logic.add(cart, snap(price="9.00"), 1, LATER, LIMITS))
    assert out.items[0].unit_price == D("9.00")
    assert out.items[0].line_total == D("18.00")


def test_add_different_variants_are_different_lines() -> None:
    cart = cart_of((snap(variant_id="v-1"), 1), (snap(variant_id="v-2"), 1))
    assert [i.cart_item_id for i in cart.items] == [lid("p-1", "v-1"), lid("p-1", "v-2")]


def test_add_default_variant_uses_the_snapshot_variant() -> None:
    # a request without variant_id: catalog answers with the default variant's id
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    out = ok(logic.add(cart, snap(variant_id="v-default"), 1, NOW, LIMITS))
    assert out.items[0].variant_id == "v-default"
    assert out.items[0].cart_item_id == lid("p-1", "v-default")
    # naming that variant explicitly later hits the same line
    again = ok(logic.add(out, snap(variant_id="v-default"), 2, NOW, LIMITS))
    assert len(again.items) == 1
    assert again.items[0].quantity == 3


def test_add_unknown_product_is_refused() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.add(cart, snap("p-x", None, found=False), 1, NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "unknown_product"
    assert err.details["product_id"] == "p-x"


def test_add_unknown_variant_is_refused() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.add(cart, snap("p-1", "v-x", found=False), 1, NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "unknown_variant"
    assert err.details["variant_id"] == "v-x"


@pytest.mark.parametrize(
    "bad",
    [snap(active=False), snap(price=None)],
    ids=["inactive", "no_price"],
)
def test_add_unsellable_product_is_refused(bad: LineSnapshot) -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.add(cart, bad, 1, NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "unavailable"
    assert err.details["product_id"] == "p-1"


def test_add_over_max_line_quantity_is_refused() -> None:
    cart = logic.new_cart("user-u1", NOW, SMALL)
    err = refused(logic.add(cart, snap(), 6, NOW, SMALL))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "max_quantity"
    assert err.details["max_quantity"] == 5
    assert err.details["requested"] == 6
    # exactly the maximum is fine
    assert ok(logic.add(cart, snap(), 5, NOW, SMALL)).items[0].quantity == 5


def test_add_counts_the_existing_quantity_against_the_maximum() -> None:
    cart = cart_of((snap(), 3), limits=SMALL)
    err = refused(logic.add(cart, snap(), 3, NOW, SMALL))
    assert err.details["reason"] == "max_quantity"
    assert err.details["requested"] == 6


def test_add_over_available_stock_is_a_conflict() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.add(cart, snap(available=2), 3, NOW, LIMITS))
    assert err.code == CartErrorCode.CONFLICT
    assert err.message == "Not enough stock"
    assert err.details["reason"] == "insufficient_stock"
    assert err.details["sku"] == "SKU-p-1-v-1"
    assert err.details["available"] == 2
    assert err.details["requested"] == 3


def test_add_out_of_stock_is_a_conflict() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.add(cart, snap(available=0), 1, NOW, LIMITS))
    assert err.code == CartErrorCode.CONFLICT
    assert err.message == "Out of stock"
    assert err.details["available"] == 0


def test_add_counts_the_existing_quantity_against_stock() -> None:
    cart = cart_of((snap(available=3), 2))
    err = refused(logic.add(cart, snap(available=3), 2, NOW, LIMITS))
    assert err.code == CartErrorCode.CONFLICT
    assert err.details["requested"] == 4
    assert ok(logic.add(cart, snap(available=3), 1, NOW, LIMITS)).items[0].quantity == 3


def test_add_beyond_max_lines_is_refused_but_existing_lines_still_grow() -> None:
    cart = cart_of((snap("p-1"), 1), (snap("p-2"), 1), limits=SMALL)
    err = refused(logic.add(cart, snap("p-3"), 1, NOW, SMALL))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "too_many_lines"
    assert err.details["max_lines"] == 2
    grown = ok(logic.add(cart, snap("p-2"), 1, NOW, SMALL))
    assert [i.quantity for i in grown.items] == [1, 2]


def test_add_in_another_currency_is_refused() -> None:
    cart = cart_of((snap("p-1", currency="USD"), 1))
    err = refused(logic.add(cart, snap("p-2", currency="EUR"), 1, NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "currency_mismatch"
    assert err.details["cart_currency"] == "USD"
    assert err.details["item_currency"] == "EUR"


def test_refusals_leave_the_cart_unchanged() -> None:
    cart = cart_of((snap("p-1", available=5), 2), (snap("p-2"), 1), limits=SMALL)
    cart = ok(logic.apply_promo(cart, terms(), NOW, SMALL))
    before = cart.model_dump()
    attempts = [
        logic.add(cart, snap("p-9", None, found=False), 1, LATER, SMALL),
        logic.add(cart, snap("p-1", active=False), 1, LATER, SMALL),
        logic.add(cart, snap("p-1", available=5), 4, LATER, SMALL),  # 6 > max 5
        logic.add(cart, snap("p-1", available=3), 2, LATER, SMALL),  # 4 > stock 3
        logic.add(cart, snap("p-3"), 1, LATER, SMALL),  # max lines
        logic.add(cart, snap("p-2", currency="EUR"), 1, LATER, SMALL),
        logic.update(cart, "ci-missing", snap(), 1, LATER, SMALL),
        logic.update(cart, lid("p-1"), snap("p-1", available=1), 2, LATER, SMALL),
        logic.remove(cart, "ci-missing", LATER, SMALL),
        logic.apply_promo(cart, terms(min_subtotal="999.00"), LATER, SMALL),
    ]
    for attempt in attempts:
        refused(attempt)
    assert cart.model_dump() == before


# -- update, remove, clear -----------------------------------------------------------------
def test_update_a_missing_line_is_not_found() -> None:
    cart = cart_of((snap(), 1))
    err = refused(logic.update(cart, "ci-nope", snap(), 2, NOW, LIMITS))
    assert err.code == CartErrorCode.RESOURCE_NOT_FOUND
    assert err.details["cart_item_id"] == "ci-nope"


def test_update_sets_the_quantity_and_takes_the_new_price() -> None:
    cart = cart_of((snap(price="10.00"), 2), (snap("p-2", price="5.00"), 1))
    out = ok(logic.update(cart, lid(), snap(price="12.00"), 5, LATER, LIMITS))
    line = out.items[0]
    assert line.quantity == 5
    assert line.unit_price == D("12.00")
    assert line.line_total == D("60.00")
    assert line.added_at == NOW
    assert [i.cart_item_id for i in out.items] == [lid(), lid("p-2")]
    assert out.version == cart.version + 1
    assert out.updated_at == LATER
    # 60.00 + 5.00
    assert out.totals.subtotal == D("65.00")
    assert out.totals.item_count == 6


def test_update_can_lower_the_quantity() -> None:
    cart = cart_of((snap(), 4))
    out = ok(logic.update(cart, lid(), snap(), 1, NOW, LIMITS))
    assert out.items[0].quantity == 1
    assert out.totals.subtotal == D("10.00")


def test_update_clears_the_flags_of_a_revalidated_line() -> None:
    cart = cart_of((snap(price="10.00"), 2))
    flagged = logic.revalidate(cart, {lid(): snap(price="11.00")}, LATER)
    assert flagged.valid is False
    out = ok(logic.update(flagged, lid(), snap(price="11.00"), 2, LATER, LIMITS))
    assert out.items[0].issues == []
    assert out.items[0].unit_price == D("11.00")
    assert out.valid is True


def test_update_checks_quantity_and_stock() -> None:
    cart = cart_of((snap(), 1), limits=SMALL)
    too_many = refused(logic.update(cart, lid(), snap(), 6, NOW, SMALL))
    assert too_many.details["reason"] == "max_quantity"
    short = refused(logic.update(cart, lid(), snap(available=2), 3, NOW, SMALL))
    assert short.code == CartErrorCode.CONFLICT
    assert short.details["reason"] == "insufficient_stock"
    gone = refused(logic.update(cart, lid(), snap(active=False), 1, NOW, SMALL))
    assert gone.details["reason"] == "unavailable"


def test_update_in_another_currency_is_refused() -> None:
    cart = cart_of((snap("p-1", currency="USD"), 1), (snap("p-2", currency="USD"), 1))
    err = refused(logic.update(cart, lid("p-2"), snap("p-2", currency="EUR"), 1, NOW, LIMITS))
    assert err.details["reason"] == "currency_mismatch"


def test_remove_a_line() -> None:
    cart = cart_of((snap("p-1"), 2), (snap("p-2", price="3.50"), 1))
    out = ok(logic.remove(cart, lid("p-1"), LATER, LIMITS))
    assert [i.cart_item_id for i in out.items] == [lid("p-2")]
    assert out.totals.subtotal == D("3.50")
    assert out.totals.item_count == 1
    assert out.version == cart.version + 1


def test_remove_a_missing_line_is_not_found() -> None:
    cart = cart_of((snap(), 1))
    err = refused(logic.remove(cart, "ci-nope", NOW, LIMITS))
    assert err.code == CartErrorCode.RESOURCE_NOT_FOUND


def test_clear_drops_lines_and_promo() -> None:
    cart = ok(logic.apply_promo(cart_of((snap(), 3)), terms(), NOW, LIMITS))
    assert cart.promo is not None
    out = logic.clear(cart, LATER, LIMITS)
    assert out.items == []
    assert out.promo is None
    assert out.promo_code is None
    assert out.promo_issue is None
    assert out.totals.subtotal == D("0.00")
    assert out.totals.discount == D("0.00")
    assert out.totals.total_estimate == D("0.00")
    assert out.totals.item_count == 0
    assert out.version == cart.version + 1
    assert out.expires_at == LATER + timedelta(days=90)


# -- totals --------------------------------------------------------------------------------
def two_rates() -> list[CartLine]:
    """2 x 25.00 at 8% (50.00) and 1 x 50.00 at 20% (50.00): subtotal 100.00."""
    cart = cart_of(
        (snap("p-a", price="25.00", tax_rate="0.0800"), 2),
        (snap("p-b", price="50.00", tax_rate="0.2000"), 1),
    )
    return cart.items


def test_totals_without_a_promo() -> None:
    sums, problem = logic.totals(two_rates(), None, NOW)
    assert problem is None
    assert sums.item_count == 3
    assert sums.subtotal == D("100.00")
    assert sums.discount == D("0.00")
    # 50.00 * 0.08 + 50.00 * 0.20 = 4.00 + 10.00
    assert sums.tax_estimate == D("14.00")
    assert sums.total_estimate == D("114.00")
    assert sums.currency == "USD"


def test_totals_with_a_percent_discount_tax_on_the_discounted_share() -> None:
    sums, problem = logic.totals(two_rates(), terms(value="10.00"), NOW)
    assert problem is None
    assert sums.subtotal == D("100.00")
    # 10% of 100.00
    assert sums.discount == D("10.00")
    # share 90/100: 4.00 * 0.9 + 10.00 * 0.9 = 3.60 + 9.00
    assert sums.tax_estimate == D("12.60")
    # 100.00 - 10.00 + 12.60
    assert sums.total_estimate == D("102.60")
    assert str(sums.total_estimate) == "102.60"


def test_totals_with_a_fixed_discount() -> None:
    sums, _ = logic.totals(two_rates(), terms("OFF20", PromoKind.FIXED, "20.00"), NOW)
    assert sums.discount == D("20.00")
    # share 80/100: 4.00 * 0.8 + 10.00 * 0.8 = 3.20 + 8.00
    assert sums.tax_estimate == D("11.20")
    # 100.00 - 20.00 + 11.20
    assert sums.total_estimate == D("91.20")


def test_totals_round_to_cents() -> None:
    cart = cart_of(
        (snap("p-a", price="19.99", tax_rate="0.0725"), 3),  # 59.97
        (snap("p-b", price="5.05", tax_rate="0"), 1),  # 5.05
    )
    sums, _ = logic.totals(cart.items, terms(value="15.00"), NOW)
    # 59.97 + 5.05
    assert sums.subtotal == D("65.02")
    # 65.02 * 0.15 = 9.753 -> 9.75
    assert sums.discount == D("9.75")
    # 59.97 * 0.0725 = 4.347825; * 55.27 / 65.02 = 3.6958... -> 3.70
    assert sums.tax_estimate == D("3.70")
    # 65.02 - 9.75 + 3.70
    assert sums.total_estimate == D("58.97")
    for amount in (sums.subtotal, sums.discount, sums.tax_estimate, sums.total_estimate):
        assert isinstance(amount, Decimal)
        assert amount.as_tuple().exponent == -2


def test_totals_fixed_discount_never_exceeds_the_subtotal() -> None:
    cart = cart_of((snap(price="30.00", tax_rate="0.1000"), 1))
    sums, problem = logic.totals(cart.items, terms("BIG", PromoKind.FIXED, "50.00"), NOW)
    assert problem is None
    assert sums.discount == D("30.00")
    assert sums.tax_estimate == D("0.00")
    assert sums.total_estimate == D("0.00")


def test_totals_of_no_lines() -> None:
    sums, problem = logic.totals([], None, NOW)
    assert problem is None
    assert (sums.item_count, sums.subtotal, sums.total_estimate) == (0, D("0.00"), D("0.00"))
    assert sums.currency == "USD"


def test_totals_take_the_lines_currency() -> None:
    cart = cart_of((snap(currency="EUR"), 1))
    assert cart.totals.currency == "EUR"


def test_cart_totals_follow_every_change() -> None:
    cart = cart_of(
        (snap("p-a", price="25.00", tax_rate="0.0800"), 2),
        (snap("p-b", price="50.00", tax_rate="0.2000"), 1),
    )
    cart = ok(logic.apply_promo(cart, terms(value="10.00"), NOW, LIMITS))
    assert cart.totals.discount == D("10.00")
    assert cart.totals.tax_estimate == D("12.60")
    assert cart.totals.total_estimate == D("102.60")


# -- promotions ----------------------------------------------------------------------------
def test_apply_promo_to_an_empty_cart_is_refused() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    err = refused(logic.apply_promo(cart, terms(), NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "empty_cart"


def test_apply_promo_below_min_subtotal_says_how_much_more() -> None:
    cart = cart_of((snap(price="80.00"), 1))
    save20 = terms("SAVE20", PromoKind.FIXED, "20.00", min_subtotal="100.00")
    err = refused(logic.apply_promo(cart, save20, NOW, LIMITS))
    assert err.code == CartErrorCode.UNPROCESSABLE_ENTITY
    assert err.details["reason"] == "promo_not_applicable"
    assert err.details["promo_code"] == "SAVE20"
    assert "100.00" in err.message
    assert "20.00 more" in err.message


def test_apply_an_expired_promo_is_refused() -> None:
    cart = cart_of((snap(), 1))
    old = terms("OLD", ends_at=NOW - timedelta(days=1))
    err = refused(logic.apply_promo(cart, old, NOW, LIMITS))
    assert err.details["reason"] == "promo_not_applicable"
    assert "expired" in err.message
    # the end is exclusive
    at_end = terms("OLD", ends_at=NOW)
    assert "expired" in refused(logic.apply_promo(cart, at_end, NOW, LIMITS)).message


def test_apply_a_promo_not_started_is_refused() -> None:
    cart = cart_of((snap(), 1))
    soon = terms("SOON", starts_at=NOW + timedelta(days=1))
    err = refused(logic.apply_promo(cart, soon, NOW, LIMITS))
    assert "not valid yet" in err.message
    # the start is inclusive
    ok(logic.apply_promo(cart, terms("SOON", starts_at=NOW), NOW, LIMITS))


def test_apply_promo_sets_promo_and_code() -> None:
    cart = cart_of((snap(price="40.00"), 2))
    promo = terms("TEN", value="10.00", min_subtotal="80.00")
    out = ok(logic.apply_promo(cart, promo, LATER, LIMITS))
    assert out.promo == promo
    assert out.promo_code == "TEN"
    assert out.promo_issue is None
    # 10% of 80.00
    assert out.totals.discount == D("8.00")
    assert out.totals.total_estimate == D("72.00")
    assert out.version == cart.version + 1
    assert out.updated_at == LATER


def test_remove_promo() -> None:
    cart = cart_of((snap(), 1))
    err = refused(logic.remove_promo(cart, NOW, LIMITS))
    assert err.code == CartErrorCode.RESOURCE_NOT_FOUND
    with_promo = ok(logic.apply_promo(cart, terms(), NOW, LIMITS))
    out = ok(logic.remove_promo(with_promo, LATER, LIMITS))
    assert out.promo is None
    assert out.promo_code is None
    assert out.totals.discount == D("0.00")


def test_promo_issue_appears_when_subtotal_drops_below_min() -> None:
    cart = cart_of((snap("p-1", price="60.00"), 1), (snap("p-2", price="50.00"), 1))
    save20 = terms("SAVE20", PromoKind.FIXED, "20.00", min_subtotal="100.00")
    cart = ok(logic.apply_promo(cart, save20, NOW, LIMITS))
    assert cart.totals.discount == D("20.00")
    assert cart.totals.total_estimate == D("90.00")

    dropped = ok(logic.remove(cart, lid("p-2"), LATER, LIMITS))
    assert dropped.promo == save20  # kept, just not giving anything now
    assert dropped.promo_code == "SAVE20"
    assert dropped.totals.subtotal == D("60.00")
    assert dropped.totals.discount == D("0.00")
    assert dropped.totals.total_estimate == D("60.00")
    assert dropped.promo_issue is not None
    assert "40.00 more" in dropped.promo_issue

    back = ok(logic.add(dropped, snap("p-2", price="50.00"), 1, LATER, LIMITS))
    assert back.promo_issue is None
    assert back.totals.discount == D("20.00")


def test_promo_issue_appears_when_the_promo_expires() -> None:
    promo = terms("XMAS", ends_at=NOW + timedelta(days=1))
    cart = ok(logic.apply_promo(cart_of((snap(), 1)), promo, NOW, LIMITS))
    later = logic.revalidate(cart, {}, NOW + timedelta(days=2))
    assert later.promo_issue is not None
    assert "expired" in later.promo_issue
    assert later.totals.discount == D("0.00")


def test_promo_discount_percent_and_fixed() -> None:
    assert promo_discount(terms(value="10.00"), D("80.00"), NOW) == (D("8.00"), None)
    fixed = terms("F", PromoKind.FIXED, "20.00")
    assert promo_discount(fixed, D("80.00"), NOW) == (D("20.00"), None)
    assert promo_discount(fixed, D("15.00"), NOW) == (D("15.00"), None)
    # more than 100% is capped at the amount
    assert promo_discount(terms(value="150.00"), D("80.00"), NOW) == (D("80.00"), None)


def test_promo_discount_rounds_half_even() -> None:
    # 10% of 0.25 = 0.025 -> 0.02; 10% of 0.35 = 0.035 -> 0.04
    assert promo_discount(terms(value="10.00"), D("0.25"), NOW)[0] == D("0.02")
    assert promo_discount(terms(value="10.00"), D("0.35"), NOW)[0] == D("0.04")


def test_promo_discount_explains_why_not() -> None:
    window = terms(
        "WIN",
        min_subtotal="50.00",
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=2),
    )
    assert promo_discount(window, D("10.00"), NOW) == (
        D("0.00"),
        "Promo code WIN is not valid yet",
    )
    assert promo_discount(window, D("10.00"), NOW + timedelta(days=2)) == (
        D("0.00"),
        "Promo code WIN has expired",
    )
    assert promo_discount(window, D("10.00"), NOW + timedelta(days=1)) == (
        D("0.00"),
        "Promo code WIN needs a subtotal of 50.00 (40.00 more)",
    )


# -- merge ---------------------------------------------------------------------------------
def guest_lines(*lines: tuple[LineSnapshot, int]) -> list[CartLine]:
    return cart_of(*lines, cart_id="guest-s1").items


def test_merge_adds_up_same_lines_capped_and_appends_new_ones() -> None:
    target = cart_of((snap("p-1", price="10.00"), 3), limits=SMALL)
    lines = guest_lines((snap("p-1", price="10.00"), 4), (snap("p-2", price="7.00"), 2))
    result = logic.merge(target, "h-1", lines, None, LATER, SMALL)
    assert result.dropped == []
    cart = result.cart
    assert [(i.cart_item_id, i.quantity) for i in cart.items] == [(lid("p-1"), 5), (lid("p-2"), 2)]
    # 3 + 4 capped at 5
    assert cart.items[0].line_total == D("50.00")
    assert cart.items[1].line_total == D("14.00")
    # 50.00 + 14.00
    assert cart.totals.subtotal == D("64.00")
    assert cart.totals.item_count == 7
    assert cart.merged_from == ["h-1"]
    assert cart.updated_at == LATER


def test_merge_caps_a_new_line_at_the_maximum() -> None:
    target = logic.new_cart("user-u1", NOW, LIMITS)
    lines = guest_lines((snap("p-1"), 8))  # added under the looser default limits
    cart = logic.merge(target, "h-1", lines, None, NOW, SMALL).cart
    assert cart.items[0].quantity == 5
    assert cart.items[0].line_total == D("50.00")


def test_merge_keeps_the_guest_snapshot_price_of_new_lines() -> None:
    target = cart_of((snap("p-1", price="10.00"), 1))
    lines = guest_lines((snap("p-2", price="7.25"), 2))
    cart = logic.merge(target, "h-1", lines, None, NOW, LIMITS).cart
    assert cart.items[1].unit_price == D("7.25")
    assert cart.items[1].added_at == NOW


def test_merge_reports_lines_beyond_max_lines() -> None:
    target = cart_of((snap("p-1"), 1), limits=SMALL)
    lines = guest_lines((snap("p-2"), 1), (snap("p-3"), 1), (snap("p-1"), 2))
    result = logic.merge(target, "h-1", lines, None, NOW, SMALL)
    assert [i.cart_item_id for i in result.cart.items] == [lid("p-1"), lid("p-2")]
    assert result.dropped == [lid("p-3")]
    # an existing line still adds up when the cart is full
    assert result.cart.items[0].quantity == 3


def test_merge_user_promo_wins() -> None:
    mine, theirs = terms("MINE"), terms("THEIRS", value="20.00")
    target = ok(logic.apply_promo(cart_of((snap(), 1)), mine, NOW, LIMITS))
    cart = logic.merge(target, "h-1", guest_lines((snap("p-2"), 1)), theirs, NOW, LIMITS).cart
    assert cart.promo == mine
    assert cart.promo_code == "MINE"


def test_merge_keeps_the_guest_promo_when_the_user_has_none() -> None:
    theirs = terms("THEIRS", value="20.00")
    target = cart_of((snap(price="10.00"), 1))
    lines = guest_lines((snap("p-2", price="40.00"), 1))
    cart = logic.merge(target, "h-1", lines, theirs, NOW, LIMITS).cart
    assert cart.promo == theirs
    assert cart.promo_code == "THEIRS"
    # 20% of 50.00
    assert cart.totals.discount == D("10.00")


def test_merge_without_any_promo() -> None:
    cart = logic.merge(cart_of((snap(), 1)), "h-1", [], None, NOW, LIMITS).cart
    assert cart.promo is None
    assert cart.promo_code is None


def test_merge_the_same_source_twice_is_a_no_op() -> None:
    target = cart_of((snap("p-1"), 1))
    lines = guest_lines((snap("p-1"), 2), (snap("p-2"), 1))
    first = logic.merge(target, "h-1", lines, None, NOW, LIMITS)
    again = logic.merge(first.cart, "h-1", lines, terms("LATE"), LATER, LIMITS)
    assert again.dropped == []
    assert again.cart == first.cart
    assert again.cart.items[0].quantity == 3
    assert again.cart.version == first.cart.version


def test_merge_increments_the_version_once() -> None:
    target = cart_of((snap("p-1"), 1), (snap("p-2"), 1))
    lines = guest_lines((snap("p-1"), 1), (snap("p-3"), 1), (snap("p-4"), 1))
    cart = logic.merge(target, "h-1", lines, None, NOW, LIMITS).cart
    assert cart.version == target.version + 1
    assert cart.expires_at == NOW + timedelta(days=90)


def test_merge_keeps_one_currency_per_cart() -> None:
    target = cart_of((snap("p-1", currency="USD"), 1))
    lines = guest_lines((snap("p-2", currency="EUR"), 1))
    result = logic.merge(target, "h-1", lines, None, NOW, LIMITS)
    assert {i.currency for i in result.cart.items} == {"USD"}
    assert result.dropped == [lid("p-2")]


def test_merge_remembers_the_latest_sources_only() -> None:
    cart = logic.new_cart("user-u1", NOW, LIMITS)
    for n in range(logic.MERGED_FROM_KEPT + 1):
        cart = logic.merge(cart, f"h-{n}", [], None, NOW, LIMITS).cart
    assert len(cart.merged_from) == logic.MERGED_FROM_KEPT
    assert cart.merged_from[0] == "h-1"
    assert cart.merged_from[-1] == f"h-{logic.MERGED_FROM_KEPT}"


def test_merge_does_not_change_its_inputs() -> None:
    target = cart_of((snap("p-1"), 1))
    lines = guest_lines((snap("p-1"), 2))
    before_target, before_lines = target.model_dump(), [i.model_dump() for i in lines]
    logic.merge(target, "h-1", lines, None, NOW, LIMITS)
    assert target.model_dump() == before_target
    assert [i.model_dump() for i in lines] == before_lines


# -- revalidate ----------------------------------------------------------------------------
def revalidation_cart() -> Cart:
    return cart_of(
        (snap("p-price", price="10.00"), 2),
        (snap("p-out"), 1),
        (snap("p-short"), 3),
        (snap("p-gone"), 1),
        (snap("p-draft"), 1),
        (snap("p-fine"), 2),
    )


def test_revalidate_flags_every_kind_of_change() -> None:
    cart = revalidation_cart()
    snaps = {
        lid("p-price"): snap("p-price", price="12.00"),
        lid("p-out"): snap("p-out", available=0),
        lid("p-short"): snap("p-short", available=2),
        lid("p-gone"): snap("p-gone", found=False),
        lid("p-draft"): snap("p-draft", active=False),
        lid("p-fine"): snap("p-fine", available=2),  # exactly enough
    }
    out = logic.revalidate(cart, snaps, LATER)
    by_id = {i.product_id: i for i in out.items}

    (price,) = by_id["p-price"].issues
    assert price.code == LineIssueCode.PRICE_CHANGED
    assert price.current_price == D("12.00")
    assert price.message == "The price changed from 10.00 to 12.00"
    assert by_id["p-price"].unit_price == D("10.00")  # snapshot price stays
    assert by_id["p-price"].line_total == D("20.00")

    (out_of_stock,) = by_id["p-out"].issues
    assert out_of_stock.code == LineIssueCode.OUT_OF_STOCK
    assert out_of_stock.available == 0

    (short,) = by_id["p-short"].issues
    assert short.code == LineIssueCode.INSUFFICIENT_STOCK
    assert short.available == 2
    assert short.message == "Only 2 left"

    assert [i.code for i in by_id["p-gone"].issues] == [LineIssueCode.UNAVAILABLE]
    assert [i.code for i in by_id["p-draft"].issues] == [LineIssueCode.UNAVAILABLE]
    assert by_id["p-fine"].issues == []

    assert out.valid is False
    # re-validation changes nothing the shopper did: no new version, same totals
    assert out.version == cart.version
    assert out.totals == cart.totals


def test_revalidate_price_change_and_short_stock_together() -> None:
    cart = cart_of((snap(price="10.00"), 3))
    out = logic.revalidate(cart, {lid(): snap(price="8.00", available=1)}, NOW)
    assert [i.code for i in out.items[0].issues] == [
        LineIssueCode.PRICE_CHANGED,
        LineIssueCode.INSUFFICIENT_STOCK,
    ]


def test_revalidate_clean_cart_is_valid_and_clears_old_flags() -> None:
    cart = cart_of((snap("p-1"), 1), (snap("p-2"), 1))
    flagged = logic.revalidate(cart, {lid("p-1"): snap("p-1", available=0)}, NOW)
    assert flagged.valid is False
    clean = logic.revalidate(flagged, {lid("p-1"): snap("p-1"), lid("p-2"): snap("p-2")}, NOW)
    assert clean.valid is True
    assert all(i.issues == [] for i in clean.items)


def test_revalidate_keeps_flags_of_lines_without_a_snapshot() -> None:
    cart = cart_of((snap("p-1"), 1), (snap("p-2"), 1))
    flagged = logic.revalidate(cart, {lid("p-1"): snap("p-1", found=False)}, NOW)
    again = logic.revalidate(flagged, {lid("p-2"): snap("p-2")}, NOW)
    assert [i.code for i in again.items[0].issues] == [LineIssueCode.UNAVAILABLE]
    assert again.valid is False


# -- checkout's promotion book -------------------------------------------------------------
@pytest.fixture(scope="module")
def book() -> PromotionBook:
    return PromotionBook.load()


def test_shipped_promotions_load(book: PromotionBook) -> None:
    by_code = {p.code: p for p in book.promotions}
    assert set(by_code) == {"WELCOME10", "SAVE20", "HOLIDAY25", "SPRING15", "SUMMER2025", "FLASH5"}
    assert by_code["WELCOME10"].per_customer_limit == 1
    assert by_code["FLASH5"].usage_limit == 5
    save20 = by_code["SAVE20"]
    assert save20.kind == PromoKind.FIXED
    assert save20.value == D("20.00")
    assert save20.min_subtotal == D("100.00")
    assert by_code["HOLIDAY25"].starts_at == datetime(2026, 11, 20, tzinfo=UTC)
    assert by_code["HOLIDAY25"].ends_at == datetime(2027, 1, 6, tzinfo=UTC)


def test_promotion_book_rejects_duplicate_codes(tmp_path: Path) -> None:
    path = tmp_path / "promotions.json"
    dup = [
        {"code": "TWICE", "kind": "percent", "value": "5.00"},
        {"code": "twice", "kind": "fixed", "value": "5.00"},
    ]
    path.write_text(json.dumps({"promotions": dup}))
    with pytest.raises(ValueError, match="duplicate"):
        PromotionBook.load(path)


def test_quote_unknown_code_is_unprocessable(book: PromotionBook) -> None:
    with pytest.raises(UnprocessableError) as caught:
        quote(book, "NOPE99", "50.00")
    assert caught.value.code == ErrorCode.UNPROCESSABLE_ENTITY
    assert caught.value.status == 422
    assert caught.value.details["reason"] == "unknown_promo"
    assert caught.value.details["promo_code"] == "NOPE99"


def test_quote_matches_codes_case_insensitively(book: PromotionBook) -> None:
    q = quote(book, "welcome10", "80.00")
    assert q.terms.code == "WELCOME10"
    assert q.applicable is True


def test_quote_welcome10_on_80(book: PromotionBook) -> None:
    q = quote(book, "WELCOME10", "80.00")
    assert q.applicable is True
    assert q.reason is None
    assert q.discount == D("8.00")


def test_quote_save20_needs_100(book: PromotionBook) -> None:
    below = quote(book, "SAVE20", "99.99")
    assert below.applicable is False
    assert below.discount == D("0.00")
    assert below.reason is not None
    assert "100.00" in below.reason
    assert "0.01 more" in below.reason
    at = quote(book, "SAVE20", "100.00")
    assert at.applicable is True
    assert at.discount == D("20.00")


def test_quote_holiday25_inside_its_window(book: PromotionBook) -> None:
    q = quote(book, "HOLIDAY25", "100.00", NOW)
    assert q.applicable is True
    assert q.discount == D("25.00")
    assert quote(book, "HOLIDAY25", "100.00", datetime(2026, 11, 20, tzinfo=UTC)).applicable
    small = quote(book, "HOLIDAY25", "40.00", NOW)
    assert small.applicable is False
    assert small.reason is not None
    assert "10.00 more" in small.reason


def test_quote_holiday25_ends_on_its_end(book: PromotionBook) -> None:
    q = quote(book, "HOLIDAY25", "100.00", datetime(2027, 1, 6, tzinfo=UTC))
    assert q.applicable is False
    assert q.reason is not None
    assert "expired" in q.reason


def test_quote_spring15_not_yet_then_valid(book: PromotionBook) -> None:
    early = quote(book, "SPRING15", "80.00", NOW)
    assert early.applicable is False
    assert early.discount == D("0.00")
    assert early.reason is not None
    assert "not valid yet" in early.reason
    spring = quote(book, "SPRING15", "80.00", datetime(2027, 4, 1, 9, tzinfo=UTC))
    assert spring.applicable is True
    # 15% of 80.00
    assert spring.discount == D("12.00")


def test_quote_summer2025_has_expired(book: PromotionBook) -> None:
    q = quote(book, "SUMMER2025", "80.00", NOW)
    assert q.applicable is False
    assert q.reason is not None
    assert "expired" in q.reason


def test_cart_and_checkout_agree_on_the_discount(book: PromotionBook) -> None:
    cart = cart_of((snap(price="33.33", tax_rate="0.0500"), 3))  # 99.99
    q = quote(book, "WELCOME10", str(cart.totals.subtotal))
    applied = ok(logic.apply_promo(cart, q.terms, NOW, LIMITS))
    # 10% of 99.99 = 9.999 -> 10.00
    assert q.discount == applied.totals.discount == D("10.00")


def test_an_op_id_replays_the_same_change_and_refuses_another() -> None:
    add = {"product_id": "p-1", "variant_id": None, "quantity": 1, "op_id": "key-12345"}
    first = logic.op_entry("key-12345", "AddItem", add)
    ops = [first]
    assert logic.seen_op(ops, logic.op_entry("key-12345", "AddItem", dict(add))) == "replay"
    more = logic.op_entry("key-12345", "AddItem", {**add, "quantity": 3})
    assert logic.seen_op(ops, more) == "reused"
    other_method = logic.op_entry("key-12345", "RemoveItem", {"cart_item_id": "ci-1"})
    assert logic.seen_op(ops, other_method) == "reused"
    assert logic.seen_op(ops, logic.op_entry("key-99999", "AddItem", add)) == "new"
    assert logic.seen_op(["key-12345"], more) == "replay"  # kept before digests: replayed
    refused = logic.op_reused("key-12345")
    assert refused.error.details["reason"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "session", ["-QzR7cOv15RqXjnYiyDbga9rHDP9hv73", "_abcdefghijklmnop", "abc-_"]
)
def test_every_session_the_storefront_issues_names_a_mergeable_cart(session: str) -> None:
    """URL-safe sessions may start with `-` or `_` (1 in 32): their carts merge like any other
    (a CI run once failed because the merge command refused such an id)."""
    from apps.contracts.cart import HandOver, MergeCart

    cart_id = f"guest-{session}"
    assert logic.owner_of(cart_id) == (CartOwner.GUEST, session)
    assert MergeCart(source_cart_id=cart_id, op_id="op-1").source_cart_id == cart_id
    assert HandOver(target_cart_id=f"user-{session}").target_cart_id == f"user-{session}"
