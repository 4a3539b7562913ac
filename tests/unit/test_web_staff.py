"""The staff pages' pure parts: the server-drawn SVG charts (well-formed, named for screen
readers, scaled to round ticks, escaped) and the helpers between the forms and the API
(query strings, UTC times, product/stock/banner/promotion bodies, readable field errors)."""

import xml.etree.ElementTree as ET

import pytest

from apps.web.staff_catalog import flat_categories
from apps.web.staff_charts import (
    Point,
    bar_list_chart,
    column_chart,
    compact,
    describe_ranking,
    describe_series,
    nice_ticks,
    points,
    to_float,
)
from apps.web.staff_forms import (
    badge,
    banner_body,
    banner_form,
    humane,
    local_input,
    product_create,
    product_form,
    product_update,
    promotion_body,
    promotion_form,
    query,
    stock_adjustment,
    utc_iso,
    words,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


# -- charts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0.0, 1.0]),
        (-5, [0.0, 1.0]),
        (float("nan"), [0.0, 1.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (100, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
        (147_415.45, [0.0, 50_000.0, 100_000.0, 150_000.0]),
        (0.3, [0.0, 0.1, 0.2, 0.3]),
    ],
)
def test_nice_ticks_start_at_zero_cover_the_top_in_round_steps(
    top: float, ticks: list[float]
) -> None:
    found = nice_ticks(top)
    assert found == pytest.approx(ticks)
    if top > 0:
        assert found[-1] >= top and found[-2] < top


def test_compact_axis_labels() -> None:
    assert [compact(v) for v in (0, 5, 0.5, 1200, 150_000, 3_400_000, 2e9, -1500)] == [
        "0",
        "5",
        "0.5",
        "1.2k",
        "150k",
        "3.4M",
        "2B",
        "-1.5k",
    ]


def test_numbers_from_the_api() -> None:
    assert to_float("147415.45") == 147415.45
    assert to_float(3) == 3.0
    assert to_float(None) == 0.0 and to_float("") == 0.0 and to_float("n/a") == 0.0
    assert to_float("Infinity") == 0.0
    rows = [{"period": "2026-03-01", "revenue": "10.50"}, {"period": "2026-03-02"}]
    assert points(rows, "period", "revenue") == [
        Point("2026-03-01", 10.5),
        Point("2026-03-02", 0.0),
    ]


def test_a_column_chart_is_a_named_image_with_a_bar_and_a_title_per_period() -> None:
    data = [Point(f"2026-03-{d:02d}", float(d * 10)) for d in range(1, 31)]
    svg = _parse(
        column_chart(
            data,
            chart_id="chart-orders",
            title="Paid orders by day",
            desc="Orders for 30 days",
            fmt=lambda v: f"{v:.0f} orders",
        )
    )
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-orders-title chart-orders-desc"
    assert svg.find(f"{SVG}title").text == "Paid orders by day"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}title").get("id") == "chart-orders-title"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "Orders for 30 days"  # type: ignore[union-attr]
    bars = svg.findall(f".//{SVG}rect")
    assert len(bars) == 30
    titles = [b.find(f"{SVG}title").text for b in bars]  # type: ignore[union-attr]
    assert titles[0] == "2026-03-01: 10 orders" and titles[-1] == "2026-03-30: 300 orders"
    heights = [float(b.get("height", "0")) for b in bars]
    assert heights == sorted(heights) and heights[0] > 0  # taller with the value
    # The tallest bar reaches the top tick (300 -> ticks 0..300), not beyond the plot.
    y_axis = [t.text for t in svg.findall(f".//{SVG}g[@class='axis y-axis']/{SVG}text")]
    assert y_axis[0] == "0" and y_axis[-1] == "300"
    # 30 dates do not fit side by side: the x axis shows some, first one included.
    x_axis = [t.text for t in svg.findall(f".//{SVG}g[@class='axis x-axis']/{SVG}text")]
    assert x_axis[0] == "2026-03-01" and 2 <= len(x_axis) < 30
    # The decorations are hidden from screen readers (the titles and the table tell it).
    for group in svg.findall(f".//{SVG}g"):
        if "axis" in (group.get("class") or ""):
            assert group.get("aria-hidden") == "true"


def test_a_line_chart_has_a_point_per_period() -> None:
    data = [Point("2026-01", 100.0), Point("2026-02", 50.0), Point("2026-03", 75.0)]
    svg = _parse(column_chart(data, chart_id="rev", title="Revenue", desc="d", line=True))
    line = svg.find(f".//{SVG}polyline")
    assert line is not None and len(line.get("points", "").split()) == 3
    dots = svg.findall(f".//{SVG}circle")
    assert [d.find(f"{SVG}title").text for d in dots] == [  # type: ignore[union-attr]
        "2026-01: 100",
        "2026-02: 50",
        "2026-03: 75",
    ]
    ys = [float(d.get("cy", "0")) for d in dots]
    assert ys[1] > ys[2] > ys[0]  # lower value, lower on the page (larger y)
    assert not svg.findall(f".//{SVG}rect")


def test_labels_are_escaped_and_nothing_is_a_message_not_an_error() -> None:
    data = [Point('<script>alert("x")</script> & Co', 5.0)]
    markup = str(bar_list_chart(data, chart_id="top", title="Top <b>", desc="a & b"))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    svg = _parse(markup)
    assert svg.find(f"{SVG}title").text == "Top <b>"  # type: ignore[union-attr]
    empty = _parse(column_chart([], chart_id="e", title="Revenue", desc="No revenue."))
    texts = [t.text for t in empty.findall(f".//{SVG}text")]
    assert texts == ["No data for this period"]
    assert not empty.findall(f".//{SVG}rect")
    assert "No data" in str(bar_list_chart([], chart_id="e2", title="t", desc="d"))


def test_a_bar_list_ranks_items_with_their_value_at_the_bar_end() -> None:
    data = [Point("Laptops", 600.0), Point("Cameras", 300.0), Point("Zero", 0.0)]
    svg = _parse(bar_list_chart(data, chart_id="cat", title="Categories", desc="d", width=560))
    bars = svg.findall(f".//{SVG}rect")
    widths = [float(b.get("width", "0")) for b in bars]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 0
    assert svg.get("viewBox") == f"0 0 560 {28 * 3 + 34}"
    texts = [t.text for t in svg.findall(f".//{SVG}g[@class='series']/{SVG}text")]
    assert texts[:2] == ["Laptops", "600"]


def test_long_names_are_shortened_on_the_axis_but_whole_in_the_title() -> None:
    name = "Northaus Max Armchair P30 with a very long extra description"
    svg = _parse(bar_list_chart([Point(name, 1.0)], chart_id="t", title="t", desc="d"))
    label = svg.findall(f".//{SVG}g[@class='series']/{SVG}text")[0].text or ""
    assert label.endswith("…") and len(label) == 28
    assert svg.find(f".//{SVG}rect/{SVG}title").text == f"{name}: 1"  # type: ignore[union-attr]


def test_descriptions_summarise_the_data() -> None:
    data = [Point("Mon", 3.0), Point("Tue", 9.0), Point("Wed", 1.0)]
    said = describe_series(data, "paid orders")
    assert said == (
        "Paid orders for 3 periods from Mon to Wed: total 13, highest 9 on Tue, lowest 1 on Wed."
    )
    assert describe_series([], "revenue") == "No revenue in this period."
    assert describe_ranking(data, "products") == "3 products, led by Mon with 3."
    assert describe_ranking([], "products") == "No products in this period."


# -- forms -----------------------------------------------------------------------------------
def test_query_strings_for_filters_and_pagers() -> None:
    assert query("/staff/orders") == "/staff/orders?"
    assert query("/staff/orders", status="paid", q="") == "/staff/orders?status=paid&"
    assert query("/x", a="b c", n=2, off=False) == "/x?a=b+c&n=2&"


def test_badges_and_words() -> None:
    assert badge("delivered") == "ok" and badge("pending_staff") == "warn"
    assert badge("cancelled") == "bad" and badge("label_created") == "" and badge(None) == ""
    assert words("out_for_delivery") == "Out for delivery" and words(None) == ""


def test_times_between_datetime_local_inputs_and_the_api() -> None:
    assert utc_iso("2026-12-01T10:30") == "2026-12-01T10:30:00Z"
    assert utc_iso("2026-12-01T10:30+02:00") == "2026-12-01T08:30:00Z"
    assert utc_iso("") is None and utc_iso(None) is None
    assert utc_iso("tomorrow") == "tomorrow"  # the API names the field
    assert local_input("2026-12-01T08:30:00Z") == "2026-12-01T08:30"
    assert local_input("2026-12-01T10:30:00+02:00") == "2026-12-01T08:30"
    assert local_input(None) == "" and local_input("garbage") == ""


PRODUCT = {
    "product_id": "p-1",
    "name": "Aurora",
    "slug": "aurora",
    "category_slug": "electronics-laptops",
    "brand": "Aurora",
    "description": "Light",
    "long_description": "",
    "price": {"amount": "999.00", "currency": "USD", "compare_at": None, "tax_rate": "0.0825"},
    "status": "active",
}


def test_the_product_form_round_trips_to_a_patch_body() -> None:
    form = product_form(PRODUCT)
    assert form["price.amount"] == "999.00" and form["price.compare_at"] == ""
    form["name"] = "  Aurora 2  "
    body = product_update(form)
    assert body == {
        "name": "Aurora 2",
        "slug": "aurora",
        "category_slug": "electronics-laptops",
        "brand": "Aurora",
        "description": "Light",
        "long_description": "",
        "price": {"amount": "999.00", "currency": "USD", "tax_rate": "0.0825", "compare_at": None},
        "status": "active",
    }


def test_a_new_product_gets_its_first_variant() -> None:
    form = {**product_form(PRODUCT), "sku": "AUR-1", "variants.0.stock": "7"}
    body = product_create(form)
    assert "product_id" not in body
    assert body["sku"] == "AUR-1"
    assert body["variants"] == [{"variant_id": "AUR-1-v1", "sku": "AUR-1-1", "stock": 7}]
    named = product_create({**form, "product_id": "p-9", "variants.0.sku": "AUR-X"})
    assert named["product_id"] == "p-9"
    assert named["variants"][0] == {"variant_id": "p-9-v1", "sku": "AUR-X", "stock": 7}
    # A value that is not a number goes to the API as it is (its error names the field).
    assert product_create({**form, "variants.0.stock": "many"})["variants"][0]["stock"] == "many"


def test_stock_adjustments() -> None:
    assert stock_adjustment({"quantity": "-3", "reason": " recount "}) == {
        "reason": "recount",
        "delta": -3,
    }
    assert stock_adjustment({"mode": "on_hand", "quantity": "40", "reason": "count"}) == {
        "reason": "count",
        "on_hand": 40,
    }
    assert stock_adjustment({"low_stock_threshold": "5", "reason": "r"}) == {
        "reason": "r",
        "low_stock_threshold": 5,
    }


def test_banner_form_and_body() -> None:
    banner = {
        "title": "Sale",
        "subtitle": "",
        "image_url": "https://img.example/sale.jpg",
        "link_url": None,
        "cta_text": "Shop",
        "placement": "cart",
        "priority": 3,
        "starts_at": "2026-12-01T10:00:00Z",
        "ends_at": None,
        "active": False,
    }
    form = banner_form(banner)
    assert form["starts_at"] == "2026-12-01T10:00" and form["ends_at"] == ""
    assert form["active"] == "" and form["link_url"] == ""
    body = banner_body({**form, "active": "on"})
    assert body == {
        "title": "Sale",
        "subtitle": "",
        "image_url": "https://img.example/sale.jpg",
        "cta_text": "Shop",
        "placement": "cart",
        "link_url": None,
        "priority": 3,
        "starts_at": "2026-12-01T10:00:00Z",
        "ends_at": None,
        "active": True,
    }
    assert banner_body({})["placement"] == "homepage_hero"
    assert banner_body({})["active"] is False


def test_promotion_form_and_bodies() -> None:
    promo = {
        "terms": {
            "code": "SAVE20",
            "description": "20 off",
            "kind": "fixed",
            "value": "20.00",
            "min_subtotal": "100.00",
            "starts_at": None,
            "ends_at": "2027-01-01T00:00:00Z",
            "usage_limit": 1000,
            "per_customer_limit": None,
        }
    }
    form = promotion_form(promo)
    assert form["ends_at"] == "2027-01-01T00:00" and form["per_customer_limit"] == ""
    terms = promotion_body(form, new=False)
    assert terms == {
        "description": "20 off",
        "kind": "fixed",
        "value": "20.00",
        "min_subtotal": "100.00",
        "starts_at": None,
        "ends_at": "2027-01-01T00:00:00Z",
        "usage_limit": 1000,
        "per_customer_limit": None,
    }
    created = promotion_body({**form, "code": "spring-10", "paused": "on"}, new=True)
    assert created["code"] == "SPRING-10" and created["paused"] is True
    assert "code" not in terms


def test_pattern_errors_are_said_in_words() -> None:
    errors = {
        "slug": "String should match pattern '^[a-z0-9]+(?:-[a-z0-9]+)*$'",
        "name": "Field required",
        "odd": "String should match pattern 'x'",
    }
    said = humane(errors)
    assert said["slug"].startswith("Use lower-case letters")
    assert said["name"] == "Field required"
    assert said["odd"] == "This is not in the expected format."


def test_the_category_tree_as_options() -> None:
    tree = [
        {
            "slug": "electronics",
            "name": "Electronics",
            "children": [{"slug": "electronics-laptops", "name": "Laptops", "children": []}],
        },
        "junk",
    ]
    assert flat_categories(tree) == [
        {"slug": "electronics", "name": "Electronics"},
        {"slug": "electronics-laptops", "name": "Electronics / Laptops"},
    ]
    assert flat_categories(None) == []
