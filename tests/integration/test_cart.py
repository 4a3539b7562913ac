"""CartActor on real sidecars and placement, driven through the storefront's `/api/cart`:
guest sessions, re-validation, promotions, merge on sign-in, turn-based concurrency,
expiry by reminder, restart durability, and failover between two cart instances."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx

from tests import factories
from tests.cluster import GUEST_CART_TTL_SECONDS
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer


def _product(
    cluster: Cluster, stock: tuple[int, int] = (10, 3), **overrides: Any
) -> dict[str, Any]:
    body = factories.product(**overrides)
    body["variants"][0]["stock"], body["variants"][1]["stock"] = stock
    with cluster.client("storefront") as api:
        resp = api.post("/api/staff/products", json=body)
        assert resp.status_code == 201, resp.text
    return body


def _guest(cluster: Cluster) -> httpx.Client:
    """A shopper's browser: keeps the session cookie the storefront sets."""
    return cluster.client("storefront", timeout=30)


def _user(cluster: Cluster, issuer: TokenIssuer, user_id: str | None = None) -> httpx.Client:
    client = cluster.client("storefront", timeout=30)
    client.headers.update(issuer.headers(user_id or factories.ref("u")))
    return client


def test_guest_cart_lines_totals_and_clear_errors(cluster: Cluster) -> None:
    p = _product(cluster)
    pid = p["product_id"]
    with _guest(cluster) as shopper:
        empty = shopper.get("/api/cart")
        assert empty.status_code == 200, empty.text
        session = empty.headers["X-Session-Id"]
        assert shopper.cookies.get("sc_session") == session
        assert empty.json()["items"] == [] and empty.json()["cart_id"] == f"guest-{session}"

        first = shopper.post("/api/cart/items", json={"product_id": pid, "quantity": 2})
        assert first.status_code == 200, first.text
        line = first.json()["items"][0]
        assert line["variant_id"] == f"{pid}-v1"  # the default variant
        assert (line["unit_price"], line["line_total"]) == ("999.00", "1998.00")
        again = shopper.post("/api/cart/items", json={"product_id": pid, "quantity": 1})
        assert [i["quantity"] for i in again.json()["items"]] == [3]
        black = shopper.post(
            "/api/cart/items", json={"product_id": pid, "variant_id": f"{pid}-v2", "quantity": 1}
        ).json()
        assert black["totals"]["subtotal"] == "4046.00"  # 3 x 999 + 1049
        tax = (Decimal("4046.00") * Decimal("0.0825")).quantize(Decimal("0.01"))
        assert Decimal(black["totals"]["tax_estimate"]) == tax
        assert black["totals"]["item_count"] == 4

        # Bad input changes nothing.
        before = shopper.get("/api/cart").json()
        unknown = shopper.post("/api/cart/items", json={"product_id": "p-nope", "quantity": 1})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"]["reason"] == "unknown_product"
        too_many = shopper.post(
            "/api/cart/items", json={"product_id": pid, "variant_id": f"{pid}-v2", "quantity": 3}
        )
        assert too_many.status_code == 409
        assert too_many.json()["error"]["details"]["available"] == 3
        for bad in (
            {"product_id": pid, "quantity": 0},
            {"quantity": 1},
            {"product_id": pid, "x": 1},
        ):
            invalid = shopper.post("/api/cart/items", json=bad)
            assert invalid.status_code == 400, bad
            assert invalid.json()["error"]["code"] == "INVALID_REQUEST"
        assert shopper.get("/api/cart").json()["version"] == before["version"]

        item_id = black["items"][1]["cart_item_id"]
        assert shopper.put(f"/api/cart/items/{item_id}", json={"quantity": 2}).status_code == 200
        gone = shopper.put("/api/cart/items/ci-0000000000000000", json={"quantity": 2})
        assert gone.status_code == 404
        removed = shopper.delete(f"/api/cart/items/{item_id}").json()
        assert [i["quantity"] for i in removed["items"]] == [3]

        cleared = shopper.delete("/api/cart")
        assert cleared.status_code == 200 and cleared.json()["items"] == []


def test_promotions_through_checkout(cluster: Cluster) -> None:
    p = _product(cluster, price={"amount": "40.00", "currency": "USD", "tax_rate": "0"})
    with _guest(cluster) as shopper:
        shopper.post("/api/cart/items", json={"product_id": p["product_id"], "quantity": 2})
        short = shopper.post("/api/cart/promo", json={"code": "SAVE20"})
        assert short.status_code == 422
        assert "20.00 more" in short.json()["error"]["message"]
        unknown = shopper.post("/api/cart/promo", json={"code": "NOPE99"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"]["reason"] == "unknown_promo"
        expired = shopper.post("/api/cart/promo", json={"code": "SUMMER2025"})
        assert expired.status_code == 422

        ok = shopper.post("/api/cart/promo", json={"code": "welcome10"}).json()
        assert ok["promo_code"] == "WELCOME10"
        assert (ok["totals"]["discount"], ok["totals"]["total_estimate"]) == ("8.00", "72.00")
        assert shopper.delete("/api/cart/promo").json()["totals"]["discount"] == "0.00"


def test_price_change_and_archive_are_flagged_not_applied(cluster: Cluster) -> None:
    p = _product(cluster)
    pid = p["product_id"]
    with _guest(cluster) as shopper, cluster.client("storefront") as staff:
        shopper.post("/api/cart/items", json={"product_id": pid, "quantity": 1})
        changed = staff.patch(
            f"/api/staff/products/{pid}",
            json={"price": {"amount": "899.00", "currency": "USD", "tax_rate": "0.0825"}},
            headers={"If-Match": staff.get(f"/api/products/{pid}").headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        # The cart app reuses catalog's answer for up to CART_CATALOG_CACHE_SECONDS (2 s).
        cart = eventually(
            lambda: (c := shopper.get("/api/cart").json())["items"][0]["issues"] and c, timeout=10
        )
        line = cart["items"][0]
        assert line["unit_price"] == "999.00"  # the snapshot stays
        assert [(i["code"], i["current_price"]) for i in line["issues"]] == [
            ("price_changed", "899.00")
        ]
        assert cart["valid"] is False
        archive = staff.patch(
            f"/api/staff/products/{pid}",
            json={"status": "archived"},
            headers={"If-Match": changed.headers["ETag"]},
        )
        assert archive.status_code == 200, archive.text
        eventually(
            lambda: [i["code"] for i in shopper.get("/api/cart").json()["items"][0]["issues"]]
            == ["unavailable"],
            timeout=10,
        )


def test_merge_guest_cart_into_user_cart_on_sign_in(cluster: Cluster, issuer: TokenIssuer) -> None:
    a, b = _product(cluster), _product(cluster)
    user_id = factories.ref("u")
    with _user(cluster, issuer, user_id) as user:
        user.post("/api/cart/items", json={"product_id": a["product_id"], "quantity": 1})
    with _guest(cluster) as shopper:
        shopper.post("/api/cart/items", json={"product_id": a["product_id"], "quantity": 2})
        shopper.post("/api/cart/items", json={"product_id": b["product_id"], "quantity": 1})
        session = shopper.cookies["sc_session"]
        anonymous_merge = shopper.post("/api/cart/merge")
        assert anonymous_merge.status_code == 401

        shopper.headers.update(issuer.headers(user_id))
        merged = shopper.post("/api/cart/merge", headers={"Idempotency-Key": "merge-once-1"})
        assert merged.status_code == 200, merged.text
        body = merged.json()
        assert body["cart_id"] == f"user-{user_id}"
        assert {i["product_id"]: i["quantity"] for i in body["items"]} == {
            a["product_id"]: 3,
            b["product_id"]: 1,
        }
        # Merging again (a retry, or a second sign-in) adds nothing.
        again = shopper.post("/api/cart/merge", headers={"X-Session-Id": session})
        assert {i["quantity"] for i in again.json()["items"]} == {3, 1}
    with cluster.client("storefront") as other_device:
        guest_now = other_device.get("/api/cart", headers={"X-Session-Id": session}).json()
        assert guest_now["items"] == []


def test_a_hundred_concurrent_adds_on_one_cart_end_exact(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    p = _product(cluster, stock=(5000, 3))
    user_id = factories.ref("u")
    headers = issuer.headers(user_id)

    def add(_: int) -> int:
        with cluster.client("storefront", timeout=60) as api:
            body = {"product_id": p["product_id"], "quantity": 1}
            return api.post("/api/cart/items", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(add, range(100)))
    assert codes == [200] * 100
    with _user(cluster, issuer, user_id) as user:
        cart = user.get("/api/cart").json()
    assert [i["quantity"] for i in cart["items"]] == [100]
    assert cart["version"] == 100


def test_retried_change_with_the_same_key_applies_once(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    p = _product(cluster)
    with _user(cluster, issuer) as user:
        key = {"Idempotency-Key": f"add-{uuid.uuid4()}"}
        body = {"product_id": p["product_id"], "quantity": 2}
        first = user.post("/api/cart/items", json=body, headers=key).json()
        second = user.post("/api/cart/items", json=body, headers=key).json()
        reused = user.post("/api/cart/items", json={**body, "quantity": 3}, headers=key)
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["details"]["reason"] == "idempotency_key_reused"
        assert user.get("/api/cart").json()["items"][0]["quantity"] == 2  # nothing changed
    assert first["items"][0]["quantity"] == second["items"][0]["quantity"] == 2


def test_actor_api_with_plain_json(cluster: Cluster) -> None:
    """What a service in another language does: the Dapr HTTP actor API, JSON in and out."""
    p = _product(cluster)
    cart_id = f"guest-{uuid.uuid4().hex}"
    with cluster.sidecar("catalog") as dapr:
        url = f"/v1.0/actors/CartActor/{cart_id}/method"
        added = dapr.put(f"{url}/add_item", json={"product_id": p["product_id"], "quantity": 2})
        assert added.status_code == 200, added.text
        assert added.json()["ok"] is True
        bad = dapr.put(f"{url}/add_item", json={"product_id": p["product_id"], "quantity": -1})
        assert bad.json()["ok"] is False
        assert bad.json()["error"]["code"] == "INVALID_REQUEST"
        got = dapr.put(f"{url}/get").json()
        assert got["cart"]["totals"]["subtotal"] == "1998.00"


def test_strings_that_look_like_dates_or_durations_stay_strings(cluster: Cluster) -> None:
    """The SDK's default serializer turned `1h` into a timedelta and `2024-01-01 …` into a
    datetime, in messages and in state read back; the actors use plain JSON."""
    pid = f"{uuid.uuid4().int % 10**9}h"  # a whole Dapr duration
    p = _product(cluster, product_id=pid, name="2024-01-01 Anniversary Edition")
    with _guest(cluster) as shopper:
        added = shopper.post("/api/cart/items", json={"product_id": pid, "quantity": 1})
        assert added.status_code == 200, added.text
        line = added.json()["items"][0]
        assert (line["product_id"], line["name"]) == (pid, p["name"])
    cluster.restart_app("cart")  # state read back by a fresh actor instance
    with cluster.sidecar("catalog") as dapr:
        cart_id = f"guest-{uuid.uuid4().hex}"
        url = f"/v1.0/actors/CartActor/{cart_id}/method"
        assert dapr.put(f"{url}/add_item", json={"product_id": pid}).json()["ok"] is True
        got = dapr.put(f"{url}/get").json()["cart"]["items"][0]
        assert (got["product_id"], got["name"]) == (pid, p["name"])


def test_actor_methods_take_the_argument_list_other_sdks_send(cluster: Cluster) -> None:
    """The JavaScript and .NET proxies send `[payload]`: a one-element list is the payload."""
    p = _product(cluster)
    cart_id = f"guest-{uuid.uuid4().hex}"
    with cluster.sidecar("catalog") as dapr:
        url = f"/v1.0/actors/CartActor/{cart_id}/method"
        added = dapr.put(f"{url}/add_item", json=[{"product_id": p["product_id"], "quantity": 2}])
        assert added.json()["ok"] is True, added.text
        assert dapr.put(f"{url}/get", json=[]).json()["cart"]["totals"]["subtotal"] == "1998.00"
        two = dapr.put(f"{url}/add_item", json=[{"product_id": p["product_id"]}, {}])
        assert two.json()["ok"] is False  # not one payload: refused, nothing changed
        assert dapr.put(f"{url}/get").json()["cart"]["items"][0]["quantity"] == 2


def test_idle_guest_cart_expires_by_reminder_and_is_announced(cluster: Cluster) -> None:
    p = _product(cluster)
    with _guest(cluster) as shopper:
        shopper.post("/api/cart/items", json={"product_id": p["product_id"], "quantity": 1})
        cart_id = shopper.get("/api/cart").json()["cart_id"]
        time.sleep(GUEST_CART_TTL_SECONDS / 2)
        shopper.post("/api/cart/items", json={"product_id": p["product_id"], "quantity": 1})
        # Still alive past the first deadline: activity re-arms the expiry.
        time.sleep(GUEST_CART_TTL_SECONDS / 2 + 2)
        assert shopper.get("/api/cart").json()["totals"]["item_count"] == 2

        def expired() -> bool:
            cart = shopper.get("/api/cart").json()
            return cart["items"] == [] and cart["version"] == 0

        eventually(expired, timeout=GUEST_CART_TTL_SECONDS * 3, interval=1)
    assert eventually(lambda: cart_id in cluster.stream("user-events"), timeout=20)


def test_carts_survive_a_crash_of_the_cart_app(cluster: Cluster, issuer: TokenIssuer) -> None:
    p = _product(cluster)
    user_id = factories.ref("u")
    with _user(cluster, issuer, user_id) as user:
        user.post("/api/cart/items", json={"product_id": p["product_id"], "quantity": 4})
    cluster.restart_app("cart", crash=True)
    with _user(cluster, issuer, user_id) as user:
        cart = eventually(lambda: _ok(user.get("/api/cart")), timeout=60)
    assert [i["quantity"] for i in cart["items"]] == [4]


def test_two_cart_instances_share_carts_and_fail_over(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    p = _product(cluster, stock=(1000, 3))
    if "cart-2" not in cluster.apps:
        cluster.start_app("cart-2", app_id="cart", env={"CART_MAX_LINE_QUANTITY": "500"})
    users = [factories.ref("u") for _ in range(24)]
    for n, user_id in enumerate(users, start=1):
        with _user(cluster, issuer, user_id) as user:
            body = {"product_id": p["product_id"], "quantity": n}
            assert user.post("/api/cart/items", json=body).status_code == 200
    hosted = {name: _active_carts(cluster, name) for name in ("cart", "cart-2")}
    assert all(count > 0 for count in hosted.values()), hosted
    assert sum(hosted.values()) >= len(users)

    cluster.stop_app("cart-2", crash=True)
    for n, user_id in enumerate(users, start=1):
        with _user(cluster, issuer, user_id) as user:
            cart = eventually(lambda user=user: _ok(user.get("/api/cart")), timeout=60)
            assert [i["quantity"] for i in cart["items"]] == [n]
    del cluster.apps["cart-2"]


def _active_carts(cluster: Cluster, name: str) -> int:
    with cluster.sidecar(name) as dapr:
        meta = dapr.get("/v1.0/metadata").json()
    actors = meta.get("actorRuntime", {}).get("activeActors") or meta.get("actors") or []
    return sum(int(a.get("count", 0)) for a in actors if a.get("type") == "CartActor")


def _ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()
