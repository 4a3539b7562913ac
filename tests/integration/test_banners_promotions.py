"""Banners and staff's promo codes on the real cluster, through the gateway.

Banners: one scheduled a few seconds ahead is not active, becomes active in its window and
leaves it when the window closes (the public read is cached at most a couple of seconds);
staff create, read, replace and delete with ETags (stale 409, none 400, bad window 422);
customers are refused the staff routes, and so is a call reaching the back office without
staff's signed context.

Promo codes: a code staff create applies to a checkout quote, is counted once a checkout
with it is paid, is refused (quote and saga) while paused and accepted again once resumed;
an edit needs the current ETag; customers are refused, and so is a call reaching checkout
without staff's signed context.
"""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests import factories, webhooks
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

Json = dict[str, Any]


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def _active_ids(api: httpx.Client, placement: str | None = None) -> list[str]:
    r = api.get("/api/banners/active", params={"placement": placement} if placement else None)
    assert r.status_code == 200, r.text
    return [b["banner_id"] for b in r.json()["banners"]]


def _banner(**kw: Any) -> Json:
    return {
        "title": f"Winter sale {factories.ref('t')}",
        "subtitle": "Up to 30% off",
        "image_url": "https://cdn.example.com/banners/winter.jpg",
        "link_url": "/category/sale",
        "cta_text": "Shop now",
        "placement": "homepage_hero",
        "priority": 10,
        **kw,
    }


def test_a_scheduled_banner_goes_live_in_its_window_only(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        later = api.post("/api/staff/banners", json=_banner(starts_at=_at(6), ends_at=_at(14)))
        assert later.status_code == 201, later.text
        scheduled = later.json()
        bid = scheduled["banner_id"]
        assert scheduled["status"] == "scheduled" and later.headers["ETag"]
        first = api.post("/api/staff/banners", json=_banner(priority=900))
        assert first.status_code == 201, first.text
        top = first.json()["banner_id"]

        assert bid not in _active_ids(api) and top in _active_ids(api, "homepage_hero")
        assert top not in _active_ids(api, "homepage_strip")

        def live() -> list[str]:
            shown = _active_ids(api, "homepage_hero")
            assert bid in shown
            return shown

        shown = eventually(live, timeout=15, interval=0.5)
        assert shown.index(top) < shown.index(bid)  # higher priority first
        assert api.get(f"/api/staff/banners/{bid}").json()["status"] == "live"

        def gone() -> bool:
            assert bid not in _active_ids(api)
            return True

        eventually(gone, timeout=20, interval=0.5)
        assert api.get(f"/api/staff/banners/{bid}").json()["status"] == "expired"
        listed = api.get("/api/staff/banners", params={"status": "expired"}).json()
        assert bid in [b["banner_id"] for b in listed["banners"]]


def test_staff_manage_banners_with_etags(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        key = {"Idempotency-Key": factories.ref("idem-banner")}
        created = api.post("/api/staff/banners", json=_banner(), headers=key)
        assert created.status_code == 201, created.text
        again = api.post("/api/staff/banners", json=_banner(), headers=key)
        assert again.json()["banner_id"] == created.json()["banner_id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        bid, etag = created.json()["banner_id"], created.headers["ETag"]
        assert created.headers["Location"] == f"/api/staff/banners/{bid}"

        bad = [
            _banner(starts_at=_at(60), ends_at=_at(30)),
            _banner(starts_at="2026-12-01T10:00:00"),
        ]
        for body in bad:
            r = api.post("/api/staff/banners", json=body)
            assert r.status_code == 422, r.text
        for body in (_banner(image_url="http://x.example/a.jpg"), _banner(link_url="//x.test")):
            assert api.post("/api/staff/banners", json=body).status_code == 400

        changed = _banner(title="Changed", active=False)
        assert api.put(f"/api/staff/banners/{bid}", json=changed).status_code == 400
        stale = api.put(
            f"/api/staff/banners/{bid}", json=changed, headers={"If-Match": f'"{bid}.9"'}
        )
        assert stale.status_code == 409, stale.text
        window = _banner(starts_at=_at(60), ends_at=_at(30))
        r = api.put(f"/api/staff/banners/{bid}", json=window, headers={"If-Match": etag})
        assert r.status_code == 422, r.text
        r = api.put(f"/api/staff/banners/{bid}", json=changed, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        assert (r.json()["title"], r.json()["status"], r.json()["version"]) == (
            "Changed",
            "disabled",
            2,
        )
        new_etag = r.headers["ETag"]
        assert new_etag != etag
        assert api.get(f"/api/staff/banners/{bid}").headers["ETag"] == new_etag
        assert bid not in _active_ids(api)  # a disabled banner is never shown

        # Customers and anonymous callers are refused the staff routes; the public read is open.
        customer = issuer.headers(factories.ref("u"))
        assert api.get("/api/staff/banners", headers=customer).status_code == 403
        assert api.post("/api/staff/banners", json=_banner(), headers=customer).status_code == 403
        assert (
            api.put(
                f"/api/staff/banners/{bid}", json=changed, headers={**customer, "If-Match": etag}
            ).status_code
            == 403
        )
        assert api.delete(f"/api/staff/banners/{bid}", headers=customer).status_code == 403
        assert api.get("/api/banners/active", headers=customer).status_code == 200
        with cluster.client("backoffice") as backoffice:
            assert backoffice.get("/staff/banners").status_code == 403
            assert backoffice.post("/staff/banners", json=_banner()).status_code == 403

        gone = api.delete(f"/api/staff/banners/{bid}", headers={"If-Match": etag})
        assert gone.status_code == 409
        gone = api.delete(f"/api/staff/banners/{bid}", headers={"If-Match": new_etag})
        assert gone.status_code == 204, gone.text
        assert api.get(f"/api/staff/banners/{bid}").status_code == 404


# -- promo codes ------------------------------------------------------------------------------
def _product(api: httpx.Client) -> Json:
    product = factories.product()
    product["variants"][0]["stock"] = 20
    r = api.post("/api/staff/products", json=product)
    assert r.status_code == 201, r.text
    return product


def _quote(api: httpx.Client, product: Json, code: str, email: str) -> Json:
    line = {"product_id": product["product_id"], "quantity": 1}
    details = factories.checkout(line, email=email, promo_code=code)
    details.pop("payment_method")
    r = api.post("/api/checkout/validate", json=details)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _promo(api: httpx.Client, code: str) -> httpx.Response:
    r = api.get(f"/api/staff/promotions/{code}")
    assert r.status_code == 200, r.text
    return r


def test_a_staff_code_applies_is_counted_paused_and_resumed(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    code = f"T{secrets.token_hex(4).upper()}"
    with cluster.client("storefront") as api:
        terms = {
            "code": code.lower(),
            "description": "5 off",
            "kind": "fixed",
            "value": "5.00",
            "usage_limit": 10,
            "per_customer_limit": 2,
        }
        key = {"Idempotency-Key": factories.ref("idem-promo")}
        created = api.post("/api/staff/promotions", json=terms, headers=key)
        assert created.status_code == 201, created.text
        retried = api.post("/api/staff/promotions", json=terms, headers=key)
        assert retried.status_code == 201, retried.text  # its retry: the first answer
        assert retried.headers.get("Idempotent-Replayed") == "true"
        assert retried.headers["ETag"] == created.headers["ETag"]
        shown = created.json()
        assert shown["terms"]["code"] == code and shown["source"] == "staff"
        assert (shown["used"], shown["remaining"], shown["status"]) == (0, 10, "active")
        assert created.headers["Location"] == f"/api/staff/promotions/{code}"
        for dup in (code.lower(), "welcome10"):
            r = api.post("/api/staff/promotions", json={"code": dup, "kind": "fixed", "value": "1"})
            assert r.status_code == 409, r.text
        for bad in (
            {"code": f"{code}X", "kind": "percent", "value": "150"},
            {
                "code": f"{code}Y",
                "kind": "fixed",
                "value": "1",
                "starts_at": _at(60),
                "ends_at": _at(1),
            },
        ):
            assert api.post("/api/staff/promotions", json=bad).status_code == 422
        listed = api.get("/api/staff/promotions").json()["promotions"]
        by_code = {p["terms"]["code"]: p for p in listed}
        assert by_code[code]["source"] == "staff" and by_code["WELCOME10"]["source"] == "seed"
        assert by_code["SUMMER2025"]["status"] == "expired"

        # The code applies to a quote, and a paid checkout with it is counted.
        product = _product(api)
        email = factories.email()
        quote = _quote(api, product, code, email)
        assert quote["valid"] is True, quote
        assert quote["priced"]["totals"]["discount"] == "5.00"
        line = {"product_id": product["product_id"], "quantity": 1}
        placed = api.post(
            "/api/orders",
            json=factories.checkout(line, email=email, promo_code=code),
            headers={"Idempotency-Key": factories.ref("idem")},
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]
        webhooks.pay(cluster, order_id)

        def counted() -> bool:
            got = _promo(api, code).json()
            assert (got["used"], got["remaining"]) == (1, 9), got
            return True

        eventually(counted, timeout=60)

        # Paused: refused by the quotes and by the saga; resumed: accepted again.
        paused = api.post(f"/api/staff/promotions/{code}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
        assert (
            api.post(f"/api/staff/promotions/{code}/pause").json()["version"]
            == (paused.json()["version"])
        )  # pausing again changes nothing
        refused = _quote(api, product, code, factories.email())
        assert refused["valid"] is False
        assert refused["problems"][0]["code"] == "promo_not_applicable"
        assert refused["problems"][0]["message"] == f"Promo code {code} is paused"
        promo = api.post("/api/checkout/promo", json={"code": code, "subtotal": "50.00"}).json()
        assert promo["applicable"] is False and "paused" in promo["reason"]
        added = api.post("/api/cart/items", json=line)
        assert added.status_code in (200, 201), added.text
        session = {"X-Session-Id": added.headers["X-Session-Id"]}
        in_cart = api.post("/api/cart/promo", json={"code": code}, headers=session)
        assert in_cart.status_code == 422, in_cart.text
        assert in_cart.json()["error"]["message"] == f"Promo code {code} is paused"
        body = factories.checkout(line, promo_code=code)
        r = api.post("/api/orders", json=body, headers={"Idempotency-Key": factories.ref("i")})
        assert r.status_code == 202, r.text
        rejected_id = r.json()["order_id"]

        def ended() -> Json:
            state = api.get(f"/api/staff/checkouts/{rejected_id}").json()
            assert state["status"] in ("completed", "failed"), state
            return dict(state)

        result = eventually(ended, timeout=60)["result"]
        assert result["outcome"] == "rejected", result
        assert "paused" in result["reason"]["message"]

        resumed = api.post(f"/api/staff/promotions/{code}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "active"
        assert _quote(api, product, code, factories.email())["valid"] is True
        in_cart = api.post("/api/cart/promo", json={"code": code}, headers=session)
        assert in_cart.status_code == 200 and in_cart.json()["promo_code"] == code, in_cart.text

        # An edit needs the current ETag.
        new_terms = {"kind": "fixed", "value": "7.00", "usage_limit": 10}
        assert api.put(f"/api/staff/promotions/{code}", json=new_terms).status_code == 400
        stale = api.put(
            f"/api/staff/promotions/{code}",
            json=new_terms,
            headers={"If-Match": created.headers["ETag"]},
        )
        assert stale.status_code == 409, stale.text
        etag = _promo(api, code).headers["ETag"]
        edited = api.put(
            f"/api/staff/promotions/{code}", json=new_terms, headers={"If-Match": etag}
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["terms"]["value"] == "7.00" and edited.json()["used"] == 1
        quote = _quote(api, product, code, factories.email())
        assert quote["priced"]["totals"]["discount"] == "7.00"

        # Customers are refused; so is a call reaching checkout without staff's context.
        customer = issuer.headers(factories.ref("u"))
        assert api.get("/api/staff/promotions", headers=customer).status_code == 403
        assert api.post(f"/api/staff/promotions/{code}/pause", headers=customer).status_code == 403
        with cluster.client("checkout") as checkout:
            assert checkout.get("/staff/promotions").status_code == 403
            assert checkout.post(f"/staff/promotions/{code}/pause").status_code == 403
        assert _promo(api, code).json()["status"] == "active"
