"""Signed Stripe webhook events for tests: the same signature the payments app checks in
production (the webhook secret of the local secret store)."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from apps.payments.adapters import sign
from tests.harness import Cluster

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
