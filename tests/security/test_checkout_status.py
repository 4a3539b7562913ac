"""Issue 12 #5: a checkout's status is the order's owner's business. Anonymous callers and
other users get the same 404 as for a checkout that does not exist; order ids are keyed
hashes, not derivable from the shopper's email and Idempotency-Key."""

import uuid

import httpx

from tests import factories
from tests.harness import Cluster
from tests.tokens import TokenIssuer

IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0f4c8e-7f8a-4a53-9a43-2d1e0c3b9a10")  # the old scheme


def _product(api: httpx.Client) -> dict[str, object]:
    product = factories.product()
    assert api.post("/api/staff/products", json=product).status_code == 201
    variant = product["variants"][0]["variant_id"]
    return {"product_id": product["product_id"], "variant_id": variant, "quantity": 1}


def test_only_the_owner_sees_a_checkout(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        body = factories.checkout(_product(api))
        key = factories.ref("idem")
        placed = api.post("/api/orders", json=body, headers={"Idempotency-Key": key})
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]
        # the id is not the old public derivation of (email, key)
        guessed = uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{body['email'].lower()}\n{key}")
        assert order_id != str(guessed)

        mine = api.get(f"/api/checkout/{order_id}", params={"email": body["email"]})
        assert mine.status_code == 200, mine.text
        assert mine.json()["order_id"] == order_id
        shouting = api.get(f"/api/checkout/{order_id}", params={"email": body["email"].upper()})
        assert shouting.status_code == 200

        missing = api.get(f"/api/checkout/{uuid.uuid4()}", params={"email": body["email"]})
        assert missing.status_code == 404
        other_user = {"Authorization": f"Bearer {issuer.token('user-other', 'customer')}"}
        for refused in (
            api.get(f"/api/checkout/{order_id}"),
            api.get(f"/api/checkout/{order_id}", params={"email": factories.email()}),
            api.get(f"/api/checkout/{order_id}", headers=other_user),
        ):
            assert refused.status_code == 404, refused.text
            assert refused.json()["error"]["code"] == missing.json()["error"]["code"]
            assert "payment_intent" not in refused.text and "SC-" not in refused.text
        # staff see any checkout on their own route
        assert api.get(f"/api/staff/checkouts/{order_id}").status_code == 200


def test_a_signed_in_shopper_sees_their_checkout_without_an_email(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    user = f"user-{uuid.uuid4().hex[:10]}"
    auth = {"Authorization": f"Bearer {issuer.token(user, 'customer')}"}
    with cluster.client("storefront") as api:
        body = factories.checkout(_product(api))
        placed = api.post(
            "/api/orders", json=body, headers={"Idempotency-Key": factories.ref("k"), **auth}
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]
        assert api.get(f"/api/checkout/{order_id}", headers=auth).status_code == 200
        assert api.get(f"/api/checkout/{order_id}").status_code == 404
