"""Test data with random references: no two tests share a product, order or email."""

import uuid
from datetime import UTC, datetime
from typing import Any


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def product(**overrides: Any) -> dict[str, Any]:
    pid = overrides.pop("product_id", ref("p"))
    body: dict[str, Any] = {
        "product_id": pid,
        "category_slug": "electronics-laptops",
        "sku": f"SKU-{pid}",
        "name": "Aurora Laptop 14",
        "slug": f"aurora-laptop-{pid.lower()}",
        "description": "A light laptop",
        "brand": "Aurora",
        "price": {"amount": "999.00", "currency": "USD", "tax_rate": "0.0825"},
        "variants": [
            {
                "variant_id": f"{pid}-v1",
                "sku": f"SKU-{pid}-S",
                "attributes": {"color": "Silver"},
                "stock": 10,
            },
            {
                "variant_id": f"{pid}-v2",
                "sku": f"SKU-{pid}-B",
                "attributes": {"color": "Black"},
                "price_adjustment": "50.00",
                "stock": 3,
            },
        ],
        "status": "active",
    }
    body.update(overrides)
    return body


def email() -> str:
    return f"{ref('shopper')}@example.com"


def address(**overrides: Any) -> dict[str, Any]:
    """A US shipping address (seed 004 fields) in California."""
    return {
        "name": "Ada Shopper",
        "line1": "1 Market St",
        "line2": "",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "country": "US",
        "phone": "+1 415 555 0100",
        **overrides,
    }


def checkout(*items: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A `POST /api/orders` body: a guest checking out `items` (or their cart if none)."""
    body: dict[str, Any] = {
        "email": email(),
        "shipping_address": address(),
        "shipping_method": "standard",
        "payment_method": "pm_card_visa",
    }
    if items:
        body["items"] = list(items)
    body.update(overrides)
    return body


def order(**overrides: Any) -> dict[str, Any]:
    """A `POST /orders` body for the orders app (as checkout sends it)."""
    oid = overrides.pop("order_id", ref("o"))
    body: dict[str, Any] = {
        "order_id": oid,
        "email": email(),
        "items": [
            {
                "product_id": "p-x",
                "variant_id": "p-x-v1",
                "sku": "SKU-X",
                "name": "Thing",
                "quantity": 2,
                "unit_price": "10.00",
                "line_total": "20.00",
            }
        ],
        "totals": {"subtotal": "20.00", "tax": "1.65", "total": "21.65", "currency": "USD"},
        "correlation_id": ref("corr"),
    }
    body.update(overrides)
    return body


def transition(to: str, **overrides: Any) -> dict[str, Any]:
    return {"to": to, "transition_id": ref("t"), "reason": "test", **overrides}


def order_paid(user_id: str | None = None, **line: Any) -> dict[str, Any]:
    """An OrderPaid event envelope (as orders publishes it) with one line overridden by
    `line` (e.g. `sku=...`, `product_id=...`, `quantity=3`)."""
    from apps.contracts.events import EventEnvelope
    from apps.contracts.orders import OrderPaid

    body = order()
    paid = OrderPaid.model_validate(
        {
            "order_id": body["order_id"],
            "order_number": "SC-2026-999999",
            "email": body["email"],
            "user_id": user_id,
            "status": "paid",
            "previous_status": "awaiting_payment",
            "totals": body["totals"],
            "items": [{**body["items"][0], **line}],
            "version": 3,
            "at": datetime.now(UTC).isoformat(),
        }
    )
    envelope = EventEnvelope.of(
        paid, correlation_id=ref("corr"), source="orders", event_id=ref("paid")
    )
    return envelope.model_dump(mode="json")
