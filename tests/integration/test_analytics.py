"""Sales analytics on real sidecars and stores: the figures move by exactly what the orders
placed here paid (to the cent), a refund reduces net, the funnel counts the steps a shopper
reported, the export opens in pandas with the report's totals, and customers are refused.

Reports cover yesterday to tomorrow (UTC), so a test running across midnight still sees its
orders; each test compares the figures after with those before it, the difference being
what it did itself.
"""

import io
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pandas as pd
import pytest

from apps.storefront.activity import FLUSH_SECONDS
from tests import factories
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer
from tests.webhooks import paid_order

pytestmark = pytest.mark.integration

Json = dict[str, Any]
TODAY = datetime.now(UTC).date()
PERIOD = {
    "start_date": (TODAY - timedelta(days=1)).isoformat(),
    "end_date": (TODAY + timedelta(days=1)).isoformat(),
}
ROUTES = [
    "/api/staff/analytics/sales",
    "/api/staff/analytics/products/top",
    "/api/staff/analytics/categories",
    "/api/staff/analytics/conversion",
    "/api/staff/analytics/overview",
    "/api/staff/reports/sales/export?format=csv",
    "/api/staff/reports/sales/export?format=xlsx",
]


def _get(api: httpx.Client, path: str, **params: Any) -> Json:
    r = api.get(path, params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _totals(api: httpx.Client) -> Json:
    return dict(_get(api, "/api/staff/analytics/sales")["totals"])


def _money(figures: Json, name: str) -> Decimal:
    return Decimal(figures[name])


def _order_total(api: httpx.Client, order_id: str) -> Decimal:
    r = api.get(f"/api/staff/orders/{order_id}")
    assert r.status_code == 200, r.text
    return Decimal(r.json()["totals"]["total"])


def test_sales_equal_a_recomputation_and_a_refund_reduces_net(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        before = _totals(api)
        placed = [paid_order(cluster, api, quantity=q, ship=False) for q in (1, 3)]
        paid = {oid: _order_total(api, oid) for oid, _, _ in placed}

        def counted() -> Json:
            now = _totals(api)
            assert now["orders"] == before["orders"] + 2, now
            return now

        after = eventually(counted, timeout=60)
        revenue = _money(after, "revenue") - _money(before, "revenue")
        assert revenue == sum(paid.values())
        assert after["items_sold"] - before["items_sold"] == 4
        assert after["new_customers"] - before["new_customers"] == 2  # two new guest emails
        aov = (_money(after, "revenue") / after["orders"]).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert _money(after, "aov") == aov
        # Each day of the series adds up to the totals.
        series = _get(api, "/api/staff/analytics/sales")["series"]
        assert sum(Decimal(p["revenue"]) for p in series) == _money(after, "revenue")

        # Top products and categories carry these orders' lines.
        top = _get(api, "/api/staff/analytics/products/top", limit=100, sort_by="sales")
        units = {p["product_id"]: p["units"] for p in top["items"]}
        for (_, _, product), quantity in zip(placed, (1, 3), strict=True):
            assert units[product["product_id"]] == quantity
        cats = {c["category"]: c for c in _get(api, "/api/staff/analytics/categories")["items"]}
        assert "electronics-laptops" in cats

        # A partial refund by staff: refunds up, net down, revenue unchanged.
        order_id = placed[1][0]
        staff = {"Authorization": f"Bearer {cluster.staff_token()}"}
        r = api.post(
            "/api/payments/refund",
            json={"order_id": order_id, "amount": "12.34", "reason": "damaged"},
            headers={**staff, "Idempotency-Key": factories.ref("refund")},
        )
        assert r.status_code == 200, r.text

        def refunded() -> Json:
            now = _totals(api)
            assert _money(now, "refunds") - _money(after, "refunds") == Decimal("12.34"), now
            return now

        final = eventually(refunded, timeout=60)
        assert final["revenue"] == after["revenue"]
        assert _money(final, "net") == _money(after, "net") - Decimal("12.34")
        assert _money(final, "net") == _money(final, "revenue") - _money(final, "refunds")


def _funnel(api: httpx.Client) -> dict[str, int]:
    return {s["step"]: s["count"] for s in _get(api, "/api/staff/analytics/conversion")["steps"]}


def _settled_funnel(api: httpx.Client) -> dict[str, int]:
    """The funnel once steps earlier tests made (cart adds, checkouts: the storefront records
    those itself) have been handed over: two readings a flush interval apart agree."""
    last = _funnel(api)
    for _ in range(8):
        time.sleep(FLUSH_SECONDS + 1)
        now = _funnel(api)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the funnel kept moving: {last}")


def test_conversion_counts_the_funnel(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        before = _settled_funnel(api)
        product = factories.ref("p")
        # A guest: views, adds to cart, starts checkout (a session is issued on first report).
        r = api.post(
            "/api/activity", json={"events": [{"kind": "product_view", "product_id": product}]}
        )
        assert r.status_code == 202, r.text
        session = r.headers["X-Session-Id"]
        r = api.post(
            "/api/activity",
            json={
                "events": [
                    {"kind": "product_view", "product_id": product},
                    {"kind": "cart_add", "product_id": product},
                    {"kind": "checkout_start"},
                ]
            },
            headers={"X-Session-Id": session},
        )
        assert r.status_code == 202 and r.json()["session"] == f"g:{session}", r.text
        # A signed-in customer who only looks.
        customer = issuer.headers(factories.ref("u"), "customer")
        r = api.post(
            "/api/activity",
            json={"events": [{"kind": "product_view", "product_id": product}]},
            headers=customer,
        )
        assert r.status_code == 202, r.text
        want = {
            **before,
            "sessions": before["sessions"] + 2,
            "product_views": before["product_views"] + 2,
            "cart": before["cart"] + 1,
            "checkout": before["checkout"] + 1,
        }

        def flushed() -> bool:
            steps = _get(api, "/api/staff/analytics/conversion")["steps"]
            assert {s["step"]: s["count"] for s in steps} == want
            return True

        eventually(flushed, timeout=45)  # the storefront flushes every few seconds
        top = _get(api, "/api/staff/analytics/products/top", limit=100, sort_by="views")
        assert {p["product_id"]: p["views"] for p in top["items"]}[product] == 3


def test_cart_adds_and_checkout_starts_are_counted_by_the_server(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    """No client reports anything: the storefront counts the cart adds the cart accepted and
    the checkout the saga accepted (once, though the shopper retries it)."""
    with (
        cluster.client("storefront") as api,
        httpx.Client(base_url=cluster.apps["storefront"].url, timeout=30) as shopper,
    ):
        product = factories.product()
        assert api.post("/api/staff/products", json=product).status_code == 201
        line = {"product_id": product["product_id"], "quantity": 1}
        before = _settled_funnel(api)
        # a guest adds twice, then checks out (and retries the same checkout)
        r = shopper.post("/api/cart/items", json=line)
        assert r.status_code == 200, r.text
        session = {"X-Session-Id": r.headers["X-Session-Id"]}
        assert shopper.post("/api/cart/items", json=line, headers=session).status_code == 200
        refused = shopper.post(
            "/api/cart/items", json={**line, "product_id": factories.ref("p")}, headers=session
        )
        assert refused.status_code == 422, refused.text  # not added: not counted
        order = factories.checkout(
            {**line, "variant_id": product["variants"][0]["variant_id"]}, email=factories.email()
        )
        key = {**session, "Idempotency-Key": factories.ref("idem")}
        for _ in range(2):
            placed = shopper.post("/api/orders", json=order, headers=key)
            assert placed.status_code == 202, placed.text
        # a signed-in customer adds once
        customer = issuer.headers(factories.ref("u"), "customer")
        r = shopper.post("/api/cart/items", json=line, headers=customer)
        assert r.status_code == 200, r.text
        want = {
            **before,
            "sessions": before["sessions"] + 2,
            "cart": before["cart"] + 2,
            "checkout": before["checkout"] + 1,
        }

        def counted() -> bool:
            assert _funnel(api) == want
            return True

        eventually(counted, timeout=45)


def test_export_opens_in_pandas_with_the_same_totals(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        before = _totals(api)
        paid_order(cluster, api, ship=False)

        def counted() -> Json:
            now = _totals(api)
            assert now["orders"] == before["orders"] + 1, now
            return now

        totals = eventually(counted, timeout=60)
        csv = api.get("/api/staff/reports/sales/export", params={**PERIOD, "format": "csv"})
        assert csv.status_code == 200, csv.text
        assert csv.headers["content-type"].startswith("text/csv")
        xlsx = api.get("/api/staff/reports/sales/export", params={**PERIOD, "format": "xlsx"})
        assert xlsx.status_code == 200, xlsx.text
        assert "attachment" in xlsx.headers["content-disposition"]
        for opened in (
            pd.read_csv(io.BytesIO(csv.content)),
            pd.read_excel(io.BytesIO(xlsx.content), sheet_name="sales"),
        ):
            assert len(opened) == 3  # yesterday, today, tomorrow
            assert int(opened["orders"].sum()) == totals["orders"]
            for column in ("revenue", "refunds", "net"):
                assert Decimal(f"{opened[column].sum():.2f}") == _money(totals, column)


def test_the_overview_is_the_four_reports_in_one_answer(cluster: Cluster) -> None:
    asked = {"granularity": "week", "limit": 3, "sort_by": "revenue"}
    with cluster.client("storefront") as api:
        before = _totals(api)
        first = api.get("/api/staff/analytics/overview", params={**PERIOD, **asked})
        assert first.status_code == 200 and first.headers["etag"], first.text
        assert first.headers["cache-control"] == "private, max-age=2"  # for its user only
        again = api.get(
            "/api/staff/analytics/overview",
            params={**PERIOD, **asked},
            headers={"If-None-Match": first.headers["etag"]},
        )
        assert again.status_code == 304 and again.content == b"", again.text
        other = api.get(
            "/api/staff/analytics/overview",
            params={**PERIOD, **asked, "limit": 4},
            headers={"If-None-Match": first.headers["etag"]},
        )
        assert other.status_code == 200 and other.headers["etag"] != first.headers["etag"]
        paid_order(cluster, api, ship=False)
        eventually(lambda: _totals(api)["orders"] == before["orders"] + 1, timeout=60)
        changed = api.get(
            "/api/staff/analytics/overview",
            params={**PERIOD, **asked},
            headers={"If-None-Match": first.headers["etag"]},
        )
        assert changed.status_code == 200, changed.text  # a sale: the old tag no longer holds
        assert changed.headers["etag"] != first.headers["etag"]
        overview = _get(api, "/api/staff/analytics/overview", **asked)
        assert overview["sales"] == _get(api, "/api/staff/analytics/sales", granularity="week")
        assert overview["top_products"] == _get(
            api, "/api/staff/analytics/products/top", limit=3, sort_by="revenue"
        )
        assert overview["categories"] == _get(api, "/api/staff/analytics/categories")
        assert overview["conversion"] == _get(api, "/api/staff/analytics/conversion")
        assert overview["sales"]["totals"]["orders"] == before["orders"] + 1
        assert len(overview["top_products"]["items"]) <= 3
        for bad in (
            {"start_date": "2026-03-02", "end_date": "2026-03-01"},
            {"granularity": "hour"},
            {"limit": 0},
            {"sort_by": "price"},
        ):
            r = api.get("/api/staff/analytics/overview", params=bad)
            assert r.status_code in (400, 422), (bad, r.text)
            assert r.json()["error"]["code"], r.text


def test_a_customer_gets_403_on_every_analytics_route(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    customer = issuer.headers(factories.ref("u"), "customer")
    with cluster.client("storefront") as api:
        for path in ROUTES:
            r = api.get(path, headers=customer)
            assert r.status_code == 403, (path, r.text)
            anonymous = api.get(path, headers={"Authorization": ""})
            assert anonymous.status_code in (401, 403), (path, anonymous.text)
    # And the app itself refuses a call without the gateway's staff context.
    with cluster.invoker("backoffice") as backoffice:
        r = backoffice.get("analytics/sales")
        assert r.status_code == 403, r.text
