"""The shop pages' pure helpers (apps/web/shop_helpers.py): listing filters and sorts as
the API takes them, page links, "did you mean", checkout form <-> API, order wording and
the live stream's frames."""

import json
from decimal import Decimal

from apps.web import shop_helpers as h


def test_listing_filters_are_cleaned_and_sent_as_the_api_json() -> None:
    chosen, wire = h.listing_filters([" Aurora ", "Aurora", "", "Bolt"], "100", "20.5", True, "4")
    assert chosen == {
        "brand": ["Aurora", "Bolt"],
        "price_min": Decimal("20.50"),  # swapped: min above max
        "price_max": Decimal("100.00"),
        "in_stock": True,
        "rating_min": Decimal("4.00"),
    }
    assert json.loads(wire or "") == {
        "brand": ["Aurora", "Bolt"],
        "price_min": 20.5,
        "price_max": 100.0,
        "in_stock": True,
        "rating_min": 4.0,
    }
    # Nonsense is dropped, never a 422; nothing chosen sends no filter at all.
    assert h.listing_filters(["x"] * 0, "abc", "-3", False, "9") == ({}, None)
    assert h.listing_filters(None, "NaN", "1e99", False, "") == ({}, None)
    many, _ = h.listing_filters([f"b{i}" for i in range(15)])
    assert len(many["brand"]) == h.MAX_BRANDS


def test_sorts_offer_best_match_only_for_a_search() -> None:
    assert h.sort_params("", searching=True) == ("relevance", {"sort": "relevance"})
    assert h.sort_params("", searching=False) == (
        "popular",
        {"sort": "popularity", "order": "desc"},
    )
    assert h.sort_params("relevance", searching=False)[0] == "popular"
    assert h.sort_params("price-asc", searching=False) == (
        "price-asc",
        {"sort": "price", "order": "asc"},
    )
    assert h.sort_params("drop table", searching=True)[0] == "relevance"
    assert "relevance" not in dict(h.sort_options(searching=False))


def test_page_base_keeps_the_query_but_the_page() -> None:
    base = h.page_base(
        "/search", {"q": "red shoes", "brand": ["A&B", "C"], "page": 3, "in_stock": "", "x": None}
    )
    assert base == "/search?q=red+shoes&brand=A%26B&brand=C&"
    assert h.page_base("/products", {"page": 2}) == "/products?"


def test_price_ranges_read_as_words() -> None:
    money = lambda v: f"${Decimal(v):.2f}"  # noqa: E731
    assert h.price_range("25-50") == ("25", "50")
    assert h.price_range("500+") == ("500", "")
    assert h.range_label("0-25", money) == "Under $25.00"
    assert h.range_label("25-50", money) == "$25.00 to $50.00"
    assert h.range_label("500+", money) == "$500.00 and up"
    assert h.range_label("odd", money) == "odd"


def test_did_you_mean_fixes_the_word_the_results_hold() -> None:
    found = ["Sonora Deluxe Headphones M37 Sonora", "Bassline Pro Headphones D42 Bassline"]
    assert h.did_you_mean("heaphones", found) == "headphones"
    assert h.did_you_mean("sonora hedaphones", found) == "sonora headphones"  # transposed
    assert h.did_you_mean("headphones", found) is None  # nothing to fix
    assert h.did_you_mean("head", found) is None  # a prefix is what was meant
    assert h.did_you_mean("zzzzzzz", found) is None  # nothing close
    assert h.did_you_mean("Café", ["Cafe Latte"]) is None  # accents fold
    assert h.did_you_mean("", found) is None and h.did_you_mean("x", []) is None


def test_distance_counts_edits_and_stops_early() -> None:
    assert h.distance("kitten", "sitten") == 1
    assert h.distance("ab", "ba") == 1  # a transposition is one edit
    assert h.distance("abc", "abcdef", limit=2) == 3  # past the limit
    assert h.distance("same", "same") == 0


def test_categories_and_breadcrumbs() -> None:
    tree = [
        {
            "slug": "home",
            "name": "Home",
            "children": [{"slug": "home-lighting", "name": "Lighting", "parent_slug": "home"}],
        }
    ]
    index = h.category_index(tree)
    assert set(index) == {"home", "home-lighting"}
    assert [c["name"] for c in h.breadcrumbs("home-lighting", index)] == ["Home", "Lighting"]
    assert h.breadcrumbs("nope", index) == []


def test_banner_links_are_ours_or_web_addresses_only() -> None:
    assert h.safe_link("/categories/home") == "/categories/home"
    assert h.safe_link("https://example.com/sale") == "https://example.com/sale"
    for bad in ("javascript:alert(1)", "//evil.example", "data:text/html,x", "", None, "ftp://x"):
        assert h.safe_link(bad) is None
    grouped = h.banners_by_placement(
        {
            "banners": [
                {"placement": "homepage_hero", "priority": 1, "title": "a", "link_url": None},
                {"placement": "homepage_hero", "priority": 9, "title": "b", "link_url": "/x"},
                {"placement": "cart", "priority": 0, "title": "c", "link_url": "javascript:x"},
            ]
        }
    )
    assert [b["title"] for b in grouped["homepage_hero"]] == ["b", "a"]
    assert grouped["cart"][0]["link"] is None
    assert h.banners_by_placement(None) == {}


def test_variants_stock_and_quantities() -> None:
    variant = {"sku": "S-1", "attributes": {"color": "Black", "size": "M"}, "price_adjustment": "5"}
    assert h.variant_label(variant) == "Black, M"
    assert h.variant_label({"sku": "S-2"}) == "S-2"
    assert h.variant_price("10.00", variant) == Decimal("15.00")
    assert h.stock_note(0) == ("Out of stock", "bad")
    assert h.stock_note(3) == ("Only 3 left", "warn")
    assert h.stock_note(40) == ("In stock", "ok")
    assert h.clamp_quantity("7") == 7 and h.clamp_quantity("x") == 1
    assert h.clamp_quantity("0", 0) == 0 and h.clamp_quantity("999") == 100


def test_checkout_form_to_the_api_and_its_address_problems_back() -> None:
    form = {
        "shipping_address.name": " Ada ",
        "shipping_address.line1": "1 Market St",
        "shipping_address.city": "San Francisco",
        "shipping_address.state": "ca",
        "shipping_address.postal_code": "94105",
        "shipping_address.country": "us",
        "shipping_method": "teleport",
        "promo_code": " WELCOME10 ",
        "payment_method": "pm_card_visa",
    }
    address = h.address_from(form)
    assert address["name"] == "Ada" and address["country"] == "US" and address["state"] == "CA"
    body = h.order_body(form, "ada@example.com", address, with_payment=True)
    assert body["shipping_method"] == "standard" and body["promo_code"] == "WELCOME10"
    assert body["payment_method"] == "pm_card_visa" and "items" not in body
    assert "payment_method" not in h.order_body(form, "a@example.com", address, False)
    problems = {
        "valid": False,
        "errors": [
            {"field": "postal_code", "message": "not a postal code of United States"},
            {"field": "address", "message": "cannot be found"},
        ],
    }
    assert h.address_errors(problems) == {
        "shipping_address.postal_code": "Not a postal code of United States",
        "shipping_address.line1": "Cannot be found",
    }


def test_three_d_secure_is_read_from_the_checkout_state() -> None:
    waiting = {
        "status": "running",
        "payment": {
            "status": "requires_action",
            "next_action": {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"stripe_js": "/api/payments/o-1/authenticate"},
            },
        },
    }
    payment = h.three_d_secure(waiting)
    assert payment is not None and h.local_challenge(payment)
    real = {
        "status": "requires_action",
        "next_action": {"use_stripe_sdk": {"stripe_js": "https://js.stripe.com/x"}},
    }
    assert not h.local_challenge(real)
    assert h.three_d_secure({"status": "completed", "payment": None}) is None
    assert h.three_d_secure(None) is None


def test_order_statuses_in_words_and_steps() -> None:
    assert h.status_label("awaiting_payment") == "Waiting for payment"
    assert h.status_label("something_new") == "Something new"
    assert (h.status_tone("paid"), h.status_tone("cancelled"), h.status_tone("pending")) == (
        "ok",
        "bad",
        "warn",
    )
    steps = h.order_steps("shipped")
    assert [s["state"] for s in steps] == ["done", "done", "done", "current", "todo"]
    assert h.order_steps("awaiting_payment")[0]["state"] == "current"
    assert all(s["state"] == "todo" for s in h.order_steps("cancelled"))


def _frames(raw: list[bytes]) -> list[tuple[str, dict[str, object]]]:
    out = []
    for frame in raw:
        lines = frame.decode().strip().split("\n")
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = next(line[6:] for line in lines if line.startswith("data: "))
        out.append((name, json.loads(data)))
    return out


def test_live_state_sends_what_moved_once() -> None:
    order = {"order_id": "o-1", "order_number": "SC-2026-000001", "status": "paid", "version": 3}
    tracking = {"timeline": [], "shipments": []}
    seen = h.LiveState.of(order, tracking)
    assert seen.snapshot(tracking)["status"] == "paid"
    assert seen.changes(order, tracking)[0] == []  # nothing moved

    shipped = {**order, "status": "shipped", "version": 5}
    parcel = {
        "shipment_id": "shp-1",
        "carrier": "simpost",
        "tracking_number": "SIM1",
        "status": "in_transit",
        "events": [{"status": "in_transit", "location": "Hub", "description": "On its way"}],
    }
    frames, seen = seen.changes(shipped, {"shipments": [parcel]})
    assert _frames(frames) == [
        (
            "order",
            {
                "order_id": "o-1",
                "order_number": "SC-2026-000001",
                "status": "shipped",
                "previous_status": "paid",
                "version": 5,
            },
        ),
        (
            "shipment",
            {
                "order_id": "o-1",
                "shipment_id": "shp-1",
                "carrier": "simpost",
                "tracking_number": "SIM1",
                "status": "in_transit",
                "previous_status": None,
                "location": "Hub",
                "description": "On its way",
            },
        ),
    ]
    # An older read (another replica behind) never takes the browser back.
    frames, kept = seen.changes(order, tracking)
    assert frames == [] and kept is seen and kept.status == "shipped"


def test_sse_frames_are_one_json_line_and_ids_cannot_break_them() -> None:
    frame = h.sse_frame("order", {"text": "two\nlines"}, "id-1")
    assert frame == b'id: id-1\nevent: order\ndata: {"text":"two\\nlines"}\n\n'
    assert not h.sse_frame("x", {}, "bad\nid").startswith(b"id:")
    assert h.sse_retry(3000) == b"retry: 3000\n\n"
