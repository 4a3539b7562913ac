"""Signed Stripe webhook events for tests: the same signature the payments app checks in
production (the webhook secret of the local secret store)."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from apps.payments.adapters import sign
from tests import factories
from tests.harness import Cluster, eventually

SECRETS = Path(__file__).resolve().parents[1] / "components" / "local" / "secrets.payments.json"
SECRET = json.loads(SECRETS.read_text())["stripe-webhook-secret"]


def send(
    cluster: Cluster, kind: str, payment: dict[str, Any], event_id: str | None = None, **obj: Any
) -> httpx.Response:
    """POST a signed `kind` event about `payment`'s PaymentIntent to the storefront."""
    event = {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": kind,
        "data": {"object": {"id": payment["payment_intent_id"], "object": "payment_intent", **obj}},
    }
    payload = json.dumps(event).encode()
    with cluster.client("storefront") as api:
        return api.post(
            "/api/payments/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload, SECRET), "Content-Type": "application/json"},
        )


def payment_of(cluster: Cluster, order_id: str, timeout: float = 60) -> dict[str, Any]:
    """The order's payment once the saga created it (read through a sidecar, as apps do)."""

    def created() -> dict[str, Any]:
        with cluster.invoker("payments") as payments:
            got = payments.get(f"/payments/{order_id}")
        assert got.status_code == 200, got.text
        return dict(got.json())

    return dict(eventually(created, timeout=timeout))


def pay(cluster: Cluster, order_id: str) -> dict[str, Any]:
    """Settle the order's payment as Stripe would: a signed `payment_intent.succeeded`."""
    payment = payment_of(cluster, order_id)
    r = send(cluster, "payment_intent.succeeded", payment)
    assert r.status_code == 200, r.text
    return payment


def release(cluster: Cluster, order_id: str, timeout: float = 60) -> dict[str, Any]:
    """Staff send the order to the warehouse once it is paid (the test cluster holds paid
    orders for an hour, so only tests that ship an order see it move on)."""
    with cluster.client("storefront") as api:

        def released() -> dict[str, Any]:
            r = api.post(f"/api/staff/orders/{order_id}/release")
            assert r.status_code == 200, r.text
            return dict(r.json())

        return dict(eventually(released, timeout=timeout))


def paid_order(
    cluster: Cluster, api: httpx.Client, quantity: int = 1, stock: int = 10, ship: bool = True
) -> tuple[str, str, dict[str, Any]]:
    """A guest's checkout of `quantity` units of a new product, paid and (`ship`) released to
    the warehouse: (order id, email, product). `api` is a staff client of the storefront."""
    product = factories.product()
    product["variants"][0]["stock"] = stock
    created = api.post("/api/staff/products", json=product)
    assert created.status_code == 201, created.text
    line = {
        "product_id": product["product_id"],
        "variant_id": product["variants"][0]["variant_id"],
        "quantity": quantity,
    }
    email = factories.email()
    placed = api.post(
        "/api/orders",
        json=factories.checkout(line, email=email),
        headers={"Idempotency-Key": factories.ref("idem")},
    )
    assert placed.status_code == 202, placed.text
    order_id = str(placed.json()["order_id"])
    pay(cluster, order_id)
    if ship:
        release(cluster, order_id)
    return order_id, email, product
