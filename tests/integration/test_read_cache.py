"""Issue 13: anonymous catalog reads served from the gateway's memory with a strong ETag
(304 on If-None-Match) and a bounded staleness: a write through this replica shows at once,
a change made elsewhere within the documented bound."""

import time

from tests import factories
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

BOUND_SECONDS = 2.0  # STOREFRONT_CATALOG_CACHE_SECONDS' default


def test_catalog_reads_are_cached_with_etags_and_bounded_staleness(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    with cluster.client("storefront") as api:
        product = factories.product()
        staff = issuer.headers(factories.ref("s"), "staff")
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        path = f"/api/products/{product['product_id']}"
        first = api.get(path)
        assert first.status_code == 200
        etag = first.headers["ETag"]
        assert etag.startswith('"') and "max-age=2" in first.headers["Cache-Control"]
        again = api.get(path)
        assert again.headers["ETag"] == etag and again.content == first.content
        unchanged = api.get(path, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert api.get(path, headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
        assert api.get(path, headers={"If-None-Match": '"other"'}).status_code == 200

        # a staff change through this gateway is visible on the next read
        current = api.get(f"/api/staff/products/{product['product_id']}", headers=staff)
        changed = api.patch(
            f"/api/staff/products/{product['product_id']}",
            json={"price": {"amount": "899.00"}},
            headers={**staff, "If-Match": current.headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        after = api.get(path, headers={"If-None-Match": etag})
        assert after.status_code == 200 and after.json()["price"]["amount"] == "899.00"

        # a change made elsewhere (straight to the catalog) shows within the bound
        latest = api.get(f"/api/staff/products/{product['product_id']}", headers=staff)
        with cluster.invoker("catalog") as catalog:
            elsewhere = catalog.patch(
                f"/products/{product['product_id']}",
                json={"price": {"amount": "799.00"}},
                headers={"If-Match": latest.headers["ETag"]},
            )
        assert elsewhere.status_code == 200, elsewhere.text
        changed_at = time.monotonic()
        eventually(lambda: api.get(path).json()["price"]["amount"] == "799.00", timeout=10)
        assert time.monotonic() - changed_at <= BOUND_SECONDS + 1.0

        # errors are never cached, and signed-in callers get the same public answer
        assert api.get("/api/products/p-nope").status_code == 404
        signed_in = {"Authorization": f"Bearer {issuer.token('user-x', 'customer')}"}
        assert api.get(path, headers=signed_in).json()["price"]["amount"] == "799.00"
