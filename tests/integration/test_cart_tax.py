"""Issue 20 #5: the cart shows the tax checkout will charge once it knows where the order
ships (one tax function for both), and says its figure is an estimate until then."""

import httpx
import pytest

from tests import factories
from tests.harness import Cluster
from tests.tokens import TokenIssuer


@pytest.mark.parametrize(
    ("country", "state", "postal_code"),
    [("US", "CA", "94105"), ("US", "TX", "73301"), ("US", "OR", "97201"), ("GB", "", "SW1A 1AA")],
)
def test_cart_tax_with_a_destination_is_the_checkout_tax(
    cluster: Cluster, issuer: TokenIssuer, country: str, state: str, postal_code: str
) -> None:
    with cluster.client("storefront") as api:
        product = factories.product()
        product["price"]["amount"] = "84.99"
        staff = issuer.headers(factories.ref("s"), "staff")
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        variant = product["variants"][0]["variant_id"]
        line = {"product_id": product["product_id"], "variant_id": variant, "quantity": 3}
        added = api.post("/api/cart/items", json=line)
        assert added.status_code in (200, 201), added.text
        session = {"X-Session-Id": added.headers["X-Session-Id"]}
        assert added.json()["totals"]["tax_basis"] == "estimate"
        assert api.post("/api/cart/promo", json={"code": "SAVE20"}, headers=session).is_success

        there = {"country": country, "state": state}
        cart = api.put("/api/cart/destination", json=there, headers=session)
        assert cart.status_code == 200, cart.text
        totals = cart.json()["totals"]
        assert totals["tax_basis"] == "destination"

        address = factories.address(country=country, state=state, postal_code=postal_code)
        body = {
            "email": factories.email(),
            "shipping_address": address,
            "shipping_method": "express",
        }
        quote = api.post("/api/checkout/validate", json=body, headers=session)
        assert quote.status_code == 200, quote.text
        charged = quote.json()["priced"]["totals"]
        assert totals["subtotal"] == charged["subtotal"] == "254.97"
        assert totals["discount"] == charged["discount"] == "20.00"
        assert totals["tax_estimate"] == charged["tax"]


def test_a_destination_nobody_ships_to_is_refused(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as api:
        r = api.put("/api/cart/destination", json={"country": "ZZ"})
        assert r.status_code == 422, r.text
        assert api.put("/api/cart/destination", json={"country": "usa"}).status_code == 400
