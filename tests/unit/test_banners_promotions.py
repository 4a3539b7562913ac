"""Banners' rules (window, order, edits) and staff's promo code rules (terms, pause,
status, use) — pure."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from apps.backoffice import banners as rules
from apps.backoffice.banners_api import banner_id_for
from apps.checkout.promotions import (
    PromotionBook,
    checked_terms,
    created,
    edited,
    etag_of,
    paused,
    quote_terms,
    shipped,
    status_of,
    usage_problem,
    view,
)
from apps.contracts.banners import BannerIn, BannerPlacement, BannerStatus, HttpsUrl, LinkUrl
from apps.contracts.cart import PromoQuoteRequest
from apps.contracts.errors import Conflict, InvalidRequest, UnprocessableError
from apps.contracts.promotions import (
    PromotionIn,
    PromotionSource,
    PromotionStatus,
    PromotionTermsIn,
    promo_discount,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def banner_in(**kw: Any) -> BannerIn:
    body: dict[str, Any] = {"title": "Winter sale", "image_url": "https://cdn.example.com/w.jpg"}
    return BannerIn.model_validate({**body, **kw})


def banner(banner_id: str = "bnr-00000001", **kw: Any) -> rules.Banner:
    return rules.created(banner_in(**kw), banner_id, "staff-1", NOW - HOUR)


# -- banners ------------------------------------------------------------------------------------
def test_a_banner_is_live_within_its_window_only() -> None:
    b = banner(starts_at=NOW, ends_at=NOW + HOUR)
    assert rules.status_of(b, NOW - timedelta(seconds=1)) == BannerStatus.SCHEDULED
    assert rules.status_of(b, NOW) == BannerStatus.LIVE  # the start is inclusive
    assert rules.status_of(b, NOW + HOUR - timedelta(seconds=1)) == BannerStatus.LIVE
    assert rules.status_of(b, NOW + HOUR) == BannerStatus.EXPIRED  # the end is not
    assert rules.status_of(banner(), NOW) == BannerStatus.LIVE  # no window: always
    disabled = banner(active=False, starts_at=NOW - HOUR)
    assert rules.status_of(disabled, NOW) == BannerStatus.DISABLED
    assert rules.live([b, disabled], NOW - timedelta(seconds=1)) == []


def test_live_banners_come_highest_priority_first_then_earlier_start_then_id() -> None:
    low = banner("bnr-0000000a", priority=1)
    high = banner("bnr-0000000b", priority=9, starts_at=NOW - HOUR)
    high_earlier = banner("bnr-0000000c", priority=9, starts_at=NOW - 2 * HOUR)
    high_no_start = banner("bnr-0000000d", priority=9)
    strip = banner("bnr-0000000e", priority=50, placement="homepage_strip")
    future = banner("bnr-0000000f", priority=100, starts_at=NOW + HOUR)
    shown = rules.live([low, high, high_earlier, strip, future, high_no_start], NOW)
    assert [b.banner_id for b in shown] == [
        "bnr-0000000e",
        "bnr-0000000d",
        "bnr-0000000c",
        "bnr-0000000b",
        "bnr-0000000a",
    ]
    heroes = rules.live([low, high, strip], NOW, BannerPlacement.HOMEPAGE_HERO)
    assert [b.banner_id for b in heroes] == ["bnr-0000000b", "bnr-0000000a"]
    assert "created_by" not in heroes[0].model_dump()


def test_a_window_must_end_after_it_starts_and_name_its_offset() -> None:
    with pytest.raises(UnprocessableError):
        rules.checked(banner_in(starts_at=NOW, ends_at=NOW))
    with pytest.raises(UnprocessableError):
        rules.checked(banner_in(starts_at=NOW, ends_at=NOW - HOUR))
    with pytest.raises(UnprocessableError):
        rules.checked(banner_in(starts_at="2026-12-02T10:00:00"))
    assert rules.checked(banner_in(starts_at=NOW, ends_at=NOW + HOUR)).ends_at == NOW + HOUR


@pytest.mark.parametrize(
    "field,value",
    [
        ("image_url", "http://cdn.example.com/a.jpg"),
        ("image_url", "javascript:alert(1)"),
        ("image_url", "https://user@evil.example/a.jpg"),
        ("link_url", "//evil.example/x"),
        ("link_url", "javascript:alert(1)"),
        ("title", "   "),
        ("title", "x" * 121),
        ("priority", 1001),
        ("placement", "sidebar"),
    ],
)
def test_banner_input_is_bounded(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        banner_in(**{field: value})


def test_links_may_be_site_paths_or_https() -> None:
    assert banner_in(link_url="/category/sale").link_url == "/category/sale"
    assert banner_in(link_url="https://shop.example.com/x").link_url
    assert banner_in(title="  Sale  ").title == "Sale"


def test_an_edit_names_the_current_version() -> None:
    b = banner()
    with pytest.raises(InvalidRequest):
        rules.replaced(b, banner_in(title="New"), None, "s2", NOW)
    with pytest.raises(Conflict):
        rules.replaced(b, banner_in(title="New"), '"bnr-00000001.7"', "s2", NOW)
    new = rules.replaced(b, banner_in(title="New"), rules.etag_of(b), "s2", NOW)
    assert (new.version, new.title, new.created_by, new.updated_by) == (2, "New", "staff-1", "s2")
    assert rules.etag_of(new) != rules.etag_of(b)
    with pytest.raises(Conflict):
        rules.ensure_current(new, rules.etag_of(b))


def test_a_retried_create_names_the_same_banner() -> None:
    assert banner_id_for("s1", "key-12345678") == banner_id_for("s1", "key-12345678")
    assert banner_id_for("s1", "key-12345678") != banner_id_for("s2", "key-12345678")
    assert banner_id_for("s1", None) != banner_id_for("s1", None)


# -- promo codes ----------------------------------------------------------------------------------
def terms_in(**kw: Any) -> PromotionTermsIn:
    return PromotionTermsIn.model_validate({"kind": "percent", "value": "10", **kw})


def promo_in(**kw: Any) -> PromotionIn:
    return PromotionIn.model_validate({"code": "winter-26", "kind": "fixed", "value": "5", **kw})


def test_a_created_code_is_kept_in_capitals_and_a_duplicate_is_a_conflict() -> None:
    made = created(promo_in(usage_limit=3), None, "staff-1", NOW)[0]
    assert made.terms.code == "WINTER-26" and made.source == PromotionSource.STAFF
    assert (made.version, made.updated_by) == (1, "staff-1")
    with pytest.raises(Conflict):
        created(promo_in(), made, "staff-1", NOW)
    with pytest.raises(Conflict):  # made without a key: a keyed create is not its retry
        created(promo_in(), made, "staff-1", NOW, "key-12345678")
    first, fresh = created(promo_in(), None, "staff-1", NOW, "key-12345678")
    again, fresh_again = created(promo_in(), first, "staff-1", NOW, "key-12345678")
    assert fresh and not fresh_again and again == first  # its retry answers it
    with pytest.raises(Conflict):
        created(promo_in(), first, "staff-2", NOW, "key-12345678")  # someone else's key
    seeded = shipped(PromotionBook.load(), "welcome10")
    assert seeded is not None and seeded.version == 0 and seeded.source == PromotionSource.SEED
    with pytest.raises(Conflict):
        created(promo_in(code="WELCOME10"), seeded, "staff-1", NOW)


@pytest.mark.parametrize(
    "kw",
    [
        {"kind": "percent", "value": "100.01"},
        {"kind": "fixed", "value": "100000.01"},
        {"starts_at": NOW, "ends_at": NOW},
        {"starts_at": "2026-12-02T10:00:00"},
        {"usage_limit": 2, "per_customer_limit": 3},
    ],
)
def test_terms_breaking_a_rule_are_unprocessable(kw: dict[str, Any]) -> None:
    with pytest.raises(UnprocessableError):
        checked_terms("X10", terms_in(**kw), False)


@pytest.mark.parametrize(
    "kw",
    [{"value": "0"}, {"value": "-1"}, {"kind": "free"}, {"usage_limit": 0}, {"value": "1.001"}],
)
def test_terms_out_of_shape_are_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        terms_in(**kw)
    with pytest.raises(ValidationError):
        promo_in(code="a b")


def test_pause_and_resume_change_the_code_once() -> None:
    made = created(promo_in(), None, "s1", NOW)[0]
    stopped = paused(made, True, "s2", NOW)
    assert stopped is not None and stopped.terms.paused and stopped.version == 2
    assert paused(stopped, True, "s2", NOW) is None  # a retry changes nothing
    again = paused(stopped, False, "s3", NOW)
    assert again is not None and not again.terms.paused and again.version == 3


def test_an_edit_needs_the_current_etag_and_keeps_the_pause() -> None:
    made = paused(created(promo_in(), None, "s1", NOW)[0], True, "s1", NOW)
    assert made is not None
    with pytest.raises(Conflict):
        edited(made, terms_in(value="20"), '"WINTER-26.1"', "s2", NOW)
    new = edited(made, terms_in(value="20"), etag_of(made), "s2", NOW)
    assert new.terms.value == Decimal("20") and new.terms.paused and new.version == 3
    assert new.terms.code == "WINTER-26"


def test_a_paused_code_is_refused_everywhere_it_is_judged() -> None:
    made = paused(created(promo_in(), None, "s1", NOW)[0], True, "s1", NOW)
    assert made is not None
    discount, why = promo_discount(made.terms, Decimal("50.00"), NOW)
    assert discount == 0 and why == "Promo code WINTER-26 is paused"
    req = PromoQuoteRequest(code="winter-26", subtotal=Decimal("50.00"))
    quoted = quote_terms(made.terms, req, NOW, None)
    assert not quoted.applicable and quoted.reason == "Promo code WINTER-26 is paused"
    assert usage_problem(made.terms, {}, "a@example.com") == "Promo code WINTER-26 is paused"
    assert usage_problem(made.terms, {"o1": "a@example.com"}, "a@example.com", "o1") is None
    resumed = paused(made, False, "s1", NOW)
    assert resumed is not None
    assert quote_terms(resumed.terms, req, NOW, None).discount == Decimal("5.00")


def test_status_and_what_remains() -> None:
    made = created(promo_in(usage_limit=3, starts_at=NOW, ends_at=NOW + HOUR), None, "s", NOW)[0]
    assert status_of(made, 0, NOW - HOUR) == PromotionStatus.SCHEDULED
    assert status_of(made, 1, NOW) == PromotionStatus.ACTIVE
    assert status_of(made, 3, NOW) == PromotionStatus.USED_UP
    assert status_of(made, 0, NOW + HOUR) == PromotionStatus.EXPIRED
    stopped = paused(made, True, "s", NOW)
    assert stopped is not None and status_of(stopped, 0, NOW) == PromotionStatus.PAUSED
    shown = view(made, 2, NOW)
    assert (shown.used, shown.remaining, shown.version) == (2, 1, 1)
    assert view(made, 5, NOW).remaining == 0
    unlimited = created(promo_in(code="OPEN1"), None, "s", NOW)[0]
    assert view(unlimited, 7, NOW).remaining is None


def test_an_expired_shipped_code_is_refused() -> None:
    seeded = shipped(PromotionBook.load(), "SUMMER2025")
    assert seeded is not None and status_of(seeded, 0, NOW) == PromotionStatus.EXPIRED
    req = PromoQuoteRequest(code="SUMMER2025", subtotal=Decimal("50.00"))
    assert quote_terms(seeded.terms, req, NOW, None).reason == "Promo code SUMMER2025 has expired"
    with pytest.raises(UnprocessableError):
        quote_terms(None, req, NOW, None)


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (HttpsUrl, "https://cdn.example.com/a.png", True),
        (HttpsUrl, "https://cdn.example.com/a\x00.png", False),
        (HttpsUrl, "https://cdn\x00.example.com/a.png", False),
        (LinkUrl, "/category/sale", True),
        (LinkUrl, "/category/sa\x00le", False),
        (LinkUrl, "https://example.com/\x00", False),
    ],
)
def test_banner_urls_never_hold_nul(kind: Any, value: str, ok: bool) -> None:
    """The URL patterns say what the gateway enforces (no NUL), so the OpenAPI document
    never calls a request valid that the gateway refuses with 400."""
    adapter = TypeAdapter(kind)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
    assert "\\u0000" in adapter.json_schema()["pattern"]
