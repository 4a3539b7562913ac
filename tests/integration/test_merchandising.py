"""Merchandising on the real cluster, through the gateway: a low-stock alert from the
catalog's LowStock appears in the restock list with the forecast and a reorder quantity and
clears after a restock; a price suggestion applied changes the catalog price once (a second
apply is a 409, the apply is in the audit log with both prices); a suggestion whose product
changed meanwhile is a 409 and the price stays; an order fraud scoring holds for review is
in the queue with its drivers and leaves it after the decision; customers get 403."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from apps.catalog import seed as catalog_seed
from tests import factories
from tests.cluster import FRAUD_TEST_BANDS
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

Json = dict[str, Any]

#: Products of the catalog's own generator, whose SKUs the forecast and pricing models
#: know (one variant each: its price is the product's).
SEEDED = {p.product_id: p for p in catalog_seed.products(count=12)}
RESTOCK_SEED = SEEDED["prod-000010"]
APPLY_SEED = SEEDED["prod-000003"]
CHANGED_SEED = SEEDED["prod-000006"]


def _add_seeded(api: httpx.Client, seeded: Any, stock: int) -> Json:
    """A catalog product selling the seeded SKU at the seeded price."""
    pid = factories.ref("p")
    product = factories.product(
        product_id=pid,
        price={"amount": f"{seeded.price.amount:.2f}", "currency": "USD", "tax_rate": "0.0825"},
        variants=[{"variant_id": f"{pid}-v1", "sku": seeded.variants[0].sku, "stock": stock}],
    )
    r = api.post("/api/staff/products", json=product)
    sku = seeded.variants[0].sku
    if r.status_code == 409 and r.json()["error"]["details"].get("sku") == sku:
        # The catalog was seeded earlier in this session (the seed's own products hold
        # these SKUs): sell through the seeded product itself, at the stock asked for.
        got = api.get(f"/api/staff/products/{seeded.product_id}")
        assert got.status_code == 200, got.text
        _adjust(api, sku, on_hand=stock)
        return dict(got.json())
    assert r.status_code == 201, r.text
    return product


def _restock_row(api: httpx.Client, sku: str, **params: Any) -> Json | None:
    r = api.get("/api/staff/merchandising/restock", params={"sku": sku, **params})
    assert r.status_code == 200, r.text
    rows = [i for i in r.json()["items"] if i["sku"] == sku]
    return rows[0] if rows else None


def _adjust(api: httpx.Client, sku: str, **body: Any) -> Json:
    r = api.post(f"/api/staff/inventory/{sku}/adjust", json={"reason": "count", **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_low_stock_alert_appears_with_a_reorder_suggestion_and_clears_after_restock(
    cluster: Cluster,
) -> None:
    with cluster.client("storefront", timeout=30) as api:
        product = _add_seeded(api, RESTOCK_SEED, stock=40)
        sku = product["variants"][0]["sku"]
        _adjust(api, sku, low_stock_threshold=10)
        _adjust(api, sku, on_hand=30)  # a level above the threshold: listed, no alert

        def listed_quiet() -> Json:
            row = _restock_row(api, sku)
            assert row is not None and row["on_hand"] == 30 and row["alert"] is None
            return row

        eventually(listed_quiet, timeout=30)
        _adjust(api, sku, on_hand=4)  # below the threshold: the catalog's LowStock

        def alerted() -> Json:
            row = _restock_row(api, sku, alerts_only=True, horizon_days=7, lead_time_days=5)
            assert row is not None and row["alert"] is not None, row
            return row

        row = eventually(alerted, timeout=30)
        assert row["alert"]["low_stock_threshold"] == 10 and row["alert"]["available"] == 4
        assert (row["on_hand"], row["reserved"], row["available"]) == (4, 0, 4)
        assert row["product_id"] == product["product_id"]
        forecast = row["forecast"]
        assert forecast is not None, row["forecast_problem"]
        assert forecast["horizon_days"] == 7 and forecast["lead_time_days"] == 5
        assert forecast["total_expected"] > 0 and forecast["reorder_point"] > 0
        expected = 0
        if forecast["reorder_point"] >= 4:
            expected = max(0, -(-(forecast["reorder_point"] + forecast["total_expected"] - 4) // 1))
        assert row["suggested_reorder_quantity"] == int(expected)

        _adjust(api, sku, delta=96)  # restocked: 100 on hand

        def cleared() -> bool:
            row = _restock_row(api, sku)
            assert row is not None and row["alert"] is None and row["on_hand"] == 100
            assert _restock_row(api, sku, alerts_only=True) is None
            return True

        eventually(cleared, timeout=30)

        # a SKU the forecast has no history of says so instead of guessing
        plain = factories.product()
        assert api.post("/api/staff/products", json=plain).status_code == 201
        plain_sku = plain["variants"][0]["sku"]
        _adjust(api, plain_sku, on_hand=2)

        def no_history() -> bool:
            row = _restock_row(api, plain_sku)
            assert row is not None and row["alert"] is not None
            assert row["forecast"] is None and row["suggested_reorder_quantity"] is None
            assert "history" in (row["forecast_problem"] or "")
            return True

        eventually(no_history, timeout=30)
        bad = api.get("/api/staff/merchandising/restock", params={"horizon_days": 99})
        assert bad.status_code in (400, 422), bad.text


def test_the_restock_list_covers_every_sku_even_stock_no_event_reported(
    cluster: Cluster,
) -> None:
    """SKUs created with their stock and never changed (no inventory event, like a seeded
    shop's): every one is listed, and those at or below the threshold are alerts."""
    prefix = factories.ref("RS").upper()
    stocks = [{"1": 2, "2": 50}, {"3": 5, "4": 0}]
    products = []
    with cluster.client("storefront", timeout=30) as api:
        for stock in stocks:
            pid = factories.ref("p")
            variants = [
                {"variant_id": f"{pid}-v{n}", "sku": f"{prefix}-{n}", "stock": units}
                for n, units in stock.items()
            ]
            product = factories.product(product_id=pid, variants=variants)
            r = api.post("/api/staff/products", json=product)
            assert r.status_code == 201, r.text
            products.append(product)

        def listed() -> Json:
            r = api.get("/api/staff/merchandising/restock", params={"sku": prefix, "limit": 50})
            assert r.status_code == 200, r.text
            page = dict(r.json())
            assert page["total"] == 4, page
            return page

        page = eventually(listed, timeout=30)
        rows = page["items"]
        # alerts first, the lowest available first; then the rest
        assert [r["sku"] for r in rows] == [f"{prefix}-{n}" for n in ("4", "1", "3", "2")]
        assert [r["available"] for r in rows] == [0, 2, 5, 50]
        for row in rows[:3]:
            assert row["alert"] is not None, row
            assert row["alert"]["source"] == "stock_level"
            assert row["alert"]["available"] == row["available"]
            assert row["alert"]["low_stock_threshold"] == 5 == row["low_stock_threshold"]
        assert rows[3]["alert"] is None and rows[3]["on_hand"] == 50
        assert rows[0]["product_id"] == products[1]["product_id"]

        alerts = api.get(
            "/api/staff/merchandising/restock", params={"sku": prefix, "alerts_only": True}
        ).json()
        assert alerts["total"] == 3 and {r["sku"] for r in alerts["items"]} == {
            f"{prefix}-{n}" for n in ("1", "3", "4")
        }
        first = api.get(
            "/api/staff/merchandising/restock",
            params={"product_id": products[0]["product_id"]},
        ).json()
        assert [r["sku"] for r in first["items"]] == [f"{prefix}-1", f"{prefix}-2"]
        second_page = api.get(
            "/api/staff/merchandising/restock",
            params={"sku": prefix, "limit": 3, "page": 2},
        ).json()
        assert second_page["total"] == 4 and [r["sku"] for r in second_page["items"]] == [
            f"{prefix}-2"
        ]


def _suggest(api: httpx.Client, product: Json, **headers: str) -> Json:
    r = api.post(
        "/api/staff/merchandising/prices",
        json={"product_id": product["product_id"], "max_change": 0.1},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _price(api: httpx.Client, product_id: str) -> str:
    r = api.get(f"/api/products/{product_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["price"]["amount"])


def test_a_price_suggestion_is_applied_once_through_the_catalog(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    admin = issuer.headers(factories.ref("admin"), "admin")
    with cluster.client("storefront", timeout=30) as api:
        product = _add_seeded(api, APPLY_SEED, stock=20)
        pid = product["product_id"]
        key = {"Idempotency-Key": factories.ref("idem-suggest")}
        suggestion = _suggest(api, product, **key)
        assert _suggest(api, product, **key)["suggestion_id"] == suggestion["suggestion_id"]
        sid = suggestion["suggestion_id"]
        assert suggestion["status"] == "pending" and suggestion["current_price"] == "65.99"
        assert suggestion["suggested_price"] != suggestion["current_price"]
        assert suggestion["reason"] and suggestion["drivers"]["binding"] is not None
        assert suggestion["model_version"].startswith("pricing-")
        listed = api.get(
            "/api/staff/merchandising/prices", params={"product_id": pid, "status": "pending"}
        ).json()
        assert [s["suggestion_id"] for s in listed["items"]] == [sid]

        apply_key = {"Idempotency-Key": factories.ref("idem-apply")}
        applied = api.post(f"/api/staff/merchandising/prices/{sid}/apply", headers=apply_key)
        assert applied.status_code == 200, applied.text
        body = applied.json()
        assert body["status"] == "applied" and body["previous_price"] == "65.99"
        assert body["applied_price"] == suggestion["suggested_price"]

        def shown() -> bool:  # the public read (the catalog's read model) follows the store
            assert _price(api, pid) == suggestion["suggested_price"]
            return True

        eventually(shown, timeout=15)
        # the same request again answers the first result; any other second decision is 409
        again = api.post(f"/api/staff/merchandising/prices/{sid}/apply", headers=apply_key)
        assert again.status_code == 200 and again.json()["decided_at"] == body["decided_at"]
        second = api.post(f"/api/staff/merchandising/prices/{sid}/apply")
        assert second.status_code == 409, second.text
        assert api.post(f"/api/staff/merchandising/prices/{sid}/dismiss").status_code == 409
        assert _price(api, pid) == suggestion["suggested_price"]
        missing = api.post("/api/staff/merchandising/prices/psg-nothere/apply")
        assert missing.status_code == 404

        # the gateway logged the apply with the price before and after
        def audited() -> Json:
            r = api.get(
                "/api/admin/audit-logs",
                params={"entity_id": sid, "action": "merchandising.apply"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            ok = [e for e in r.json()["items"] if e["status"] == 200]
            assert ok, r.json()
            return dict(ok[0])

        entry = eventually(audited, timeout=30)
        result = entry["changes"]["result"]
        assert result["previous_price"] == "65.99"
        assert result["applied_price"] == suggestion["suggested_price"]


def test_a_suggestion_for_a_product_changed_since_is_refused(cluster: Cluster) -> None:
    with cluster.client("storefront", timeout=30) as api:
        product = _add_seeded(api, CHANGED_SEED, stock=20)
        pid = product["product_id"]
        suggestion = _suggest(api, product)
        sid = suggestion["suggestion_id"]
        # someone edits the product after the suggestion was made
        got = api.get(f"/api/staff/products/{pid}")
        etag = got.headers["etag"]
        edit = api.patch(
            f"/api/staff/products/{pid}",
            json={"description": "Edited meanwhile"},
            headers={"If-Match": etag},
        )
        assert edit.status_code == 200, edit.text
        refused = api.post(f"/api/staff/merchandising/prices/{sid}/apply")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["details"]["reason"] == "product_changed"
        assert _price(api, pid) == f"{CHANGED_SEED.price.amount:.2f}"
        left = api.get(f"/api/staff/merchandising/prices/{sid}").json()
        assert left["status"] == "pending" and left["applied_price"] is None
        # it can still be dismissed, once
        dismissed = api.post(
            f"/api/staff/merchandising/prices/{sid}/dismiss", json={"note": "stale"}
        )
        assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
        assert api.post(f"/api/staff/merchandising/prices/{sid}/apply").status_code == 409


@contextmanager
def _review_everything(cluster: Cluster) -> Iterator[None]:
    """Fraud with a review band from 0.001 (no order is rejected outright), then as before."""
    cluster.stop_app("fraud")
    cluster.start_app(
        "fraud", env={"FRAUD_REVIEW_THRESHOLD": "0.001", "FRAUD_REJECT_THRESHOLD": "0.999"}
    )
    try:
        yield
    finally:
        cluster.stop_app("fraud")
        cluster.start_app("fraud", env=FRAUD_TEST_BANDS)


def _reviews(api: httpx.Client, **params: Any) -> list[Json]:
    r = api.get("/api/staff/fraud/reviews", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_an_order_held_for_review_is_queued_with_its_drivers_until_decided(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    with _review_everything(cluster), cluster.client("storefront", timeout=30) as api:
        kettle = factories.product(
            category_slug="home-cookware",
            price={"amount": "24.00", "currency": "USD", "tax_rate": "0.0825"},
        )
        assert api.post("/api/staff/products", json=kettle).status_code == 201
        line = {
            "product_id": kettle["product_id"],
            "variant_id": kettle["variants"][0]["variant_id"],
            "quantity": 2,
        }
        body = factories.checkout(line)
        placed = api.post(
            "/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")}
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        def queued() -> Json:
            mine = [i for i in _reviews(api, state="pending") if i["order_id"] == order_id]
            assert mine, "not queued yet"
            return mine[0]

        item = eventually(queued, timeout=60)
        # the queue is the back office's stored index, not its memory
        cluster.restart_app("backoffice")
        assert eventually(queued, timeout=30)["held_at"] == item["held_at"]
        assert item["state"] == "pending" and item["email"] == body["email"]
        assert 0 < item["probability"] < 1 and item["model_version"]
        assert item["drivers"] and {"feature", "value", "contribution"} <= set(item["drivers"][0])
        assert float(item["amount"]) >= 48  # the order's total (two 24.00 kettles and more)
        # pending ones come first
        everything = _reviews(api)
        states = [i["state"] for i in everything]
        assert states == sorted(states, key=lambda s: s != "pending")

        r = api.post(
            f"/api/staff/checkouts/{order_id}/review",
            json={"decision": "reject", "note": "card testing pattern"},
        )
        assert r.status_code == 200, r.text

        def decided() -> bool:
            assert order_id not in {i["order_id"] for i in _reviews(api, state="pending")}
            done = [i for i in _reviews(api, state="rejected") if i["order_id"] == order_id]
            assert done and done[0]["order_status"] == "cancelled" and done[0]["decided_at"]
            return True

        eventually(decided, timeout=60)


def test_a_hold_delivered_after_the_order_moved_on_is_not_left_pending(
    cluster: Cluster,
) -> None:
    """The decision can overtake the hold's delivery: the back office asks orders where the
    order is when it stores the hold, so the review is not stuck as pending."""
    with cluster.client("storefront", timeout=30) as api:
        kettle = factories.product(
            category_slug="home-cookware",
            price={"amount": "24.00", "currency": "USD", "tax_rate": "0.0825"},
        )
        assert api.post("/api/staff/products", json=kettle).status_code == 201
        line = {
            "product_id": kettle["product_id"],
            "variant_id": kettle["variants"][0]["variant_id"],
            "quantity": 1,
        }
        body = factories.checkout(line)
        placed = api.post(
            "/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")}
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        def moved_on() -> str:
            r = api.get(f"/api/orders/{order_id}", params={"email": body["email"]})
            assert r.status_code == 200 and r.json()["status"] != "pending", r.text
            return str(r.json()["status"])

        status = eventually(moved_on, timeout=60)
        late = {
            "event_id": f"{order_id}:fraud-review",
            "event_type": "FraudReviewRequested",
            "correlation_id": order_id,
            "source": "checkout",
            "data": {
                "order_id": order_id,
                "email": body["email"],
                "amount": "25.98",
                "currency": "USD",
                "probability": 0.31,
                "model_version": "fraud-test",
                "top_features": [{"feature": "hour", "value": 3.0, "contribution": 0.05}],
                "at": "2026-01-01T00:00:00+00:00",
            },
        }
        cluster.publish("order-events", late, via="orders")

        def ended() -> Json:
            mine = [i for i in _reviews(api) if i["order_id"] == order_id]
            assert mine and mine[0]["state"] != "pending", mine
            return mine[0]

        item = eventually(ended, timeout=30)
        assert item["state"] == ("rejected" if status == "cancelled" else "approved")
        assert item["drivers"][0]["feature"] == "hour"


def test_customers_are_refused_merchandising(cluster: Cluster, issuer: TokenIssuer) -> None:
    customer = issuer.headers(factories.ref("u"), "customer")
    with cluster.client("storefront") as api:
        for method, path in (
            ("GET", "/api/staff/merchandising/restock"),
            ("GET", "/api/staff/merchandising/prices"),
            ("POST", "/api/staff/merchandising/prices/psg-x/apply"),
            ("POST", "/api/staff/merchandising/prices/psg-x/dismiss"),
            ("GET", "/api/staff/fraud/reviews"),
        ):
            r = api.request(method, path, headers=customer)
            assert r.status_code == 403, (path, r.text)
        r = api.post(
            "/api/staff/merchandising/prices", json={"product_id": "p-1"}, headers=customer
        )
        assert r.status_code == 403
    # ... and a call that reached the back office without staff's signed context
    with cluster.client("backoffice") as backoffice:
        assert backoffice.get("/staff/merchandising/restock").status_code == 403
        assert backoffice.get("/staff/fraud/reviews").status_code == 403
    openapi = httpx.get(f"{cluster.apps['storefront'].url}/openapi.json").json()
    for path in (
        "/api/staff/merchandising/restock",
        "/api/staff/merchandising/prices",
        "/api/staff/merchandising/prices/{suggestion_id}/apply",
        "/api/staff/merchandising/prices/{suggestion_id}/dismiss",
        "/api/staff/fraud/reviews",
    ):
        assert path in openapi["paths"], path
