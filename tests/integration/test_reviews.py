"""Reviews on real sidecars: one per user per product, moderation, aggregates on the
product and in the read model (rating filter and sort)."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests import factories
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer


def _catalog(cluster: Cluster) -> httpx.Client:
    """Until identity exists, customer writes are made as the gateway will: through Dapr,
    with the verified user id in the body."""
    return cluster.invoker("catalog", timeout=30)


def test_review_lifecycle_and_aggregates(cluster: Cluster) -> None:
    product = factories.product(category_slug="books-fiction", name="Ashen Lighthouse Novel")
    with cluster.client("storefront") as api, _catalog(cluster) as catalog:
        assert api.post("/api/staff/products", json=product).status_code == 201
        pid = product["product_id"]
        path = f"/products/{pid}/reviews"

        def write(user: str, rating: int) -> httpx.Response:
            return catalog.post(
                path,
                json={
                    "user_id": user,
                    "rating": rating,
                    "title": "Verdict",
                    "body": "Read it twice.",
                },
            )

        # The same user racing with two reviews: exactly one is stored.
        with ThreadPoolExecutor(4) as pool:
            statuses = sorted(r.status_code for r in pool.map(lambda _: write("u-1", 5), range(4)))
        assert statuses == [201, 409, 409, 409]
        second = write("u-2", 2).json()
        assert write("u-3", 9).status_code == 400
        assert (
            catalog.post(
                "/products/nope/reviews",
                json={"user_id": "u-9", "rating": 3, "title": "t", "body": "b"},
            ).status_code
            == 404
        )

        listed = api.get(f"/api/products/{pid}/reviews").json()
        assert listed["total"] == 0  # pending reviews are not shown

        queue = api.get("/api/staff/reviews").json()
        mine = [r for r in queue if r["product_id"] == pid]
        assert len(mine) == 2
        for r in mine:
            moderated = api.post(
                f"/api/staff/reviews/{r['review_id']}/moderate", json={"status": "published"}
            )
            assert moderated.status_code == 200
        again = api.post(
            f"/api/staff/reviews/{mine[0]['review_id']}/moderate", json={"status": "pending"}
        )
        assert again.status_code == 409

        listed = api.get(f"/api/products/{pid}/reviews", params={"sort": "rating_desc"}).json()
        assert listed["total"] == 2 and [r["rating"] for r in listed["items"]] == [5, 2]
        assert listed["average"] == "3.50" and listed["histogram"]["2"] == 1

        rated = api.get(
            "/api/products/search",
            params={"q": "ashen lighthouse", "filters": json.dumps({"rating_min": 3})},
        ).json()
        assert [(i["product_id"], i["rating"], i["review_count"]) for i in rated["items"]] == [
            (pid, "3.50", 2)
        ]

        # The author edits: back to moderation, out of the figures; someone else cannot.
        assert (
            catalog.put(
                f"/reviews/{second['review_id']}", json={"user_id": "u-1", "title": "Hijack"}
            ).status_code
            == 404
        )
        edited = catalog.put(
            f"/reviews/{second['review_id']}", json={"user_id": "u-2", "rating": 3}
        )
        assert edited.status_code == 200 and edited.json()["status"] == "pending"
        assert api.get(f"/api/products/{pid}/reviews").json()["count"] == 1

        assert api.delete(f"/api/staff/reviews/{second['review_id']}").status_code == 204
        assert write("u-2", 4).status_code == 201  # the author may review again


def test_a_buyers_review_is_a_verified_purchase(cluster: Cluster) -> None:
    product = factories.product()
    pid = product["product_id"]
    variant = product["variants"][0]
    order = factories.order(
        user_id="u-buyer",
        items=[
            {
                "product_id": pid,
                "variant_id": variant["variant_id"],
                "sku": variant["sku"],
                "name": product["name"],
                "quantity": 1,
                "unit_price": "999.00",
                "line_total": "999.00",
            }
        ],
    )
    base = f"{cluster.apps['storefront'].dapr_url}/v1.0/invoke/orders/method"
    with (
        cluster.client("storefront") as api,
        _catalog(cluster) as catalog,
        httpx.Client(base_url=base, timeout=20, headers=cluster.sidecar_headers) as orders,
    ):
        assert api.post("/api/staff/products", json=product).status_code == 201
        assert orders.post("/orders", json=order).status_code == 201
        for to in ("awaiting_payment", "paid"):
            orders.post(
                f"/orders/{order['order_id']}/transitions", json=factories.transition(to)
            ).raise_for_status()
        eventually(lambda: api.get(f"/api/products/{pid}").json()["analytics"]["purchases"] == 1)
        review = {"rating": 5, "title": "Bought it", "body": "As described."}
        bought = catalog.post(f"/products/{pid}/reviews", json={**review, "user_id": "u-buyer"})
        browsed = catalog.post(f"/products/{pid}/reviews", json={**review, "user_id": "u-other"})
    assert bought.json()["verified_purchase"] is True
    assert browsed.json()["verified_purchase"] is False


def test_customers_write_edit_and_delete_their_own_reviews(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    product = factories.product(category_slug="books-fiction")
    author, other = factories.ref("u"), factories.ref("u")
    review = {"rating": 4, "title": "Good", "body": "Solid read."}
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product).status_code == 201
        path = f"/api/products/{product['product_id']}/reviews"
        assert api.post(path, json=review).status_code == 401  # anonymous
        forged = api.post(path, json={**review, "user_id": other}, headers=issuer.headers(author))
        assert forged.status_code == 400  # the author comes from the token only
        created = api.post(path, json=review, headers=issuer.headers(author))
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["user_id"], body["status"]) == (author, "pending")
        assert api.post(path, json=review, headers=issuer.headers(author)).status_code == 409
        rid = body["review_id"]
        edit = {"rating": 5}
        assert (
            api.put(f"/api/reviews/{rid}", json=edit, headers=issuer.headers(other)).status_code
            == 404
        )
        edited = api.put(f"/api/reviews/{rid}", json=edit, headers=issuer.headers(author))
        assert edited.status_code == 200 and edited.json()["rating"] == 5
        mine = issuer.headers(author)
        nulled = api.put(f"/api/reviews/{rid}", json={"body": None}, headers=mine)
        assert nulled.status_code == 400  # left out means unchanged; null is not a body
        assert api.put(f"/api/reviews/{rid}", json={}, headers=mine).status_code == 422
        assert api.get("/api/staff/reviews").status_code == 200  # the queue still reads
        assert api.delete(f"/api/reviews/{rid}", headers=issuer.headers(other)).status_code == 404
        assert api.delete(f"/api/reviews/{rid}", headers=issuer.headers(author)).status_code == 204
