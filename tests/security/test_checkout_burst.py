"""Issue 12 #2: a burst of bad checkouts (10 clients x 5 quotes of 100 unknown products)
must not take checkout down. Each quote is one batched catalog read now; the answers are
quotes that name the unknown products, and checkout serves shoppers afterwards."""

import asyncio
import time
import uuid

import httpx

from tests import factories
from tests.harness import Cluster, eventually


def _unknown_lines(n: int) -> list[dict[str, object]]:
    return [{"product_id": f"p-unknown-{uuid.uuid4().hex[:16]}", "quantity": 1} for _ in range(n)]


def _quote(lines: list[dict[str, object]]) -> dict[str, object]:
    """A `POST /api/checkout/validate` body (an order's, less the payment method)."""
    body = factories.checkout(*lines)
    del body["payment_method"]
    return body


def test_a_burst_of_unknown_products_is_answered_and_checkout_recovers(cluster: Cluster) -> None:
    url = cluster.apps["storefront"].url

    async def shopper(client: httpx.AsyncClient) -> list[str]:
        answers = []
        for _ in range(5):
            body = _quote(_unknown_lines(100))
            r = await client.post("/api/checkout/validate", json=body)
            answers.append("200" if r.status_code == 200 else f"{r.status_code} {r.text[:300]}")
        return answers

    async def burst() -> list[str]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            answers = await asyncio.gather(*(shopper(client) for _ in range(10)))
        return [code for codes in answers for code in codes]

    started = time.monotonic()
    codes = asyncio.run(burst())
    took = time.monotonic() - started
    assert codes == ["200"] * 50, codes
    print(f"\n[burst] 50 quotes of 100 unknown products in {took:.1f} s")

    with cluster.client("storefront") as api, cluster.invoker("checkout") as checkout:
        assert checkout.get("/health/live").status_code == 200
        quote = api.post("/api/checkout/validate", json=_quote(_unknown_lines(1)))
        assert quote.status_code == 200, quote.text
        assert quote.json()["valid"] is False
        assert quote.json()["problems"], quote.json()
        # a real order still goes through the saga: placed, stock held, payment asked for
        product = factories.product()
        product["variants"][0]["stock"] = 5
        assert api.post("/api/staff/products", json=product).status_code == 201
        variant = product["variants"][0]["variant_id"]
        line = {"product_id": product["product_id"], "variant_id": variant, "quantity": 1}
        body = factories.checkout(line)
        placed = api.post(
            "/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")}
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        def waiting_for_payment() -> bool:
            with cluster.invoker("payments") as payments:
                payment = payments.get(f"/payments/{order_id}")
            assert payment.status_code == 200, payment.text
            return True

        eventually(waiting_for_payment, timeout=60)
