"""Sends a correctly signed Stripe webhook event about an order's PaymentIntent to a
running system, through the storefront, exactly as Stripe would (the webhook secret of
components/local/secrets.json). For trying the payment paths on `./taskw up`:

    ./taskw webhook -- <order_id> failed          # payment_intent.payment_failed
    ./taskw webhook -- <order_id> succeeded       # payment_intent.succeeded
    ./taskw webhook -- <order_id> succeeded --event-id evt_same   # twice: applied once
    ./taskw webhook -- <order_id> succeeded --stale               # refused: 400

(With `./taskw up` a `pm_card_visa` payment settles by itself; order with
`"payment_method": "pm_card_authenticationRequired"` to keep it waiting for your event.)
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import yaml

from apps.payments.adapters import sign
from scripts import sidecar_token

ROOT = Path(__file__).resolve().parents[1]
KINDS = {
    "succeeded": "payment_intent.succeeded",
    "failed": "payment_intent.payment_failed",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("order_id")
    parser.add_argument("outcome", choices=sorted(KINDS))
    parser.add_argument("--event-id", default=None, help="reuse an id to see deduplication")
    parser.add_argument("--stale", action="store_true", help="sign with a 10-minute-old time")
    parser.add_argument("--storefront", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)

    apps = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    sidecar = next(a["daprHTTPPort"] for a in apps if a["appID"] == "storefront")
    got = httpx.get(
        f"http://127.0.0.1:{sidecar}/v1.0/invoke/payments/method/payments/{args.order_id}",
        timeout=10,
        headers=sidecar_token.headers(sidecar_token.local_token()),
    )
    if got.status_code != 200:
        print(f"no payment for {args.order_id} yet: {got.status_code} {got.text}")
        return 1
    payment = got.json()
    intent: dict[str, object] = {
        "id": payment["payment_intent_id"],
        "object": "payment_intent",
        "metadata": {"order_id": args.order_id},
    }
    if args.outcome == "failed":
        intent["last_payment_error"] = {
            "code": "card_declined",
            "message": "Your card was declined.",
        }
    event = {
        "id": args.event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": KINDS[args.outcome],
        "data": {"object": intent},
    }
    payload = json.dumps(event).encode()
    secret = json.loads((ROOT / "components" / "local" / "secrets.payments.json").read_text())[
        "stripe-webhook-secret"
    ]
    stamp = int(time.time()) - (600 if args.stale else 0)
    r = httpx.post(
        f"{args.storefront}/api/payments/webhook",
        content=payload,
        headers={
            "Stripe-Signature": sign(payload, secret, stamp),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    print(r.status_code, r.text)
    return 0 if r.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
