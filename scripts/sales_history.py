"""A generated year of sales for the analytics read model: the events the apps publish
(OrderCreated, OrderPaid, a partial refund on 5% of the orders, 3% never paid) plus shopper
activity (three sessions and about ten steps per order: see `_shoppers`), and the read
model's documents those events make under the subscription's own rules
(`apps.backoffice.analytics.domain`).

Used by `bench.analytics` and by `./taskw seed -- --sales-year N`, which writes the documents
to backoffice's state store through its sidecar. The seeded history is the analytics read
model's only: the orders app does not hold these orders (100,000 order actors would take an
hour to create on this machine); the seed prints the year's totals computed straight from the
events, and writes the events as JSON lines, so the reports can be checked against them.
"""

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from apps.backoffice.analytics import domain
from apps.backoffice.analytics.frames import day_number
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    OrderCreated,
    OrderEventData,
    OrderPaid,
    OrderStatus,
    OrderStatusChanged,
)
from apps.platform.state import store_key

#: (product id, unit price, category slug, name)
Item = tuple[str, Decimal, str, str]
#: Steps per stored activity batch (the storefront hands over at most this many at once).
BATCH_STEPS = 5000


def year_end() -> datetime:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _env(payload: Any) -> EventEnvelope:
    return EventEnvelope.of(payload, correlation_id="sales-history", source="orders")


def generate(
    orders: int, catalog: list[Item], seed: int, end: datetime | None = None
) -> tuple[list[EventEnvelope], list[dict[str, Any]]]:
    """The events of `orders` orders over the 364 days before `end`, shuffled (delivery is
    in no particular order), and the shoppers' steps."""
    rng = random.Random(seed)
    end = end or year_end()
    start = end - timedelta(days=364)
    events: list[EventEnvelope] = []
    activity: list[dict[str, Any]] = []
    for n in range(orders):
        at = start + timedelta(seconds=rng.randrange(364 * 24 * 3600))
        lines = []
        for product_id, price, _, name in rng.sample(catalog, rng.choice((1, 1, 2, 3, 4))):
            quantity = rng.choice((1, 1, 1, 2, 3))
            lines.append(
                {
                    "product_id": product_id,
                    "variant_id": f"{product_id}-v1",
                    "sku": f"SKU-{product_id}",
                    "name": name,
                    "quantity": quantity,
                    "unit_price": str(price),
                    "line_total": str(price * quantity),
                }
            )
        subtotal = sum((Decimal(line["line_total"]) for line in lines), Decimal("0"))
        tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
        totals = {"subtotal": subtotal, "tax": tax, "shipping": "4.99"}
        totals["total"] = subtotal + tax + Decimal("4.99")
        base = {
            "order_id": f"hist-{seed}-{n:07d}",
            "order_number": f"SC-H{seed}-{n:07d}",
            "email": f"shopper{rng.randrange(orders // 3 + 1)}@example.com",
            "user_id": None,
            "previous_status": None,
            "totals": totals,
            "items": lines,
            "created_at": at,
        }
        events.append(
            _env(OrderCreated(**base, status=OrderStatus.AWAITING_PAYMENT, version=1, at=at))
        )
        activity += _shoppers(rng, f"h{seed}s{n}", lines[0]["product_id"], catalog, at)
        if rng.random() < 0.03:
            continue  # never paid
        paid_at = at + timedelta(seconds=30)
        events.append(_env(OrderPaid(**base, status=OrderStatus.PAID, version=2, at=paid_at)))
        if rng.random() < 0.05:
            refund = (totals["total"] / 3).quantize(Decimal("0.01"))
            events.append(
                _env(
                    OrderStatusChanged(
                        **base,
                        status=OrderStatus.PARTIALLY_REFUNDED,
                        version=3,
                        at=paid_at + timedelta(days=3),
                        refunded_amount=refund,
                    )
                )
            )
    rng.shuffle(events)
    return events, activity


def _shoppers(
    rng: random.Random, tag: str, bought: str, catalog: list[Item], at: datetime
) -> list[dict[str, Any]]:
    """The steps around one order: its shopper (4 views, a cart add, the checkout start)
    and two who only browsed (2 views each; the second adds to the cart 40% of the time),
    so the funnel narrows as a shop's does."""

    def step(session: str, kind: str, product_id: str | None) -> dict[str, Any]:
        return {"session": f"g:{tag}{session}", "kind": kind, "product_id": product_id, "at": at}

    def browsed() -> str:
        return catalog[rng.randrange(len(catalog))][0]

    steps = [step("a", "product_view", bought) for _ in range(3)]
    steps += [step("a", "product_view", browsed()), step("a", "cart_add", bought)]
    steps.append(step("a", "checkout_start", None))
    steps += [step(who, "product_view", browsed()) for who in ("b", "b", "c", "c")]
    if rng.random() < 0.4:
        steps.append(step("c", "cart_add", browsed()))
    return steps


def records_of(events: list[EventEnvelope], categories: dict[str, str]) -> dict[str, Any]:
    """order id -> the read model's record, by the subscription's rules (any order, once)."""
    records: dict[str, Any] = {}
    for envelope in events:
        data = OrderEventData.model_validate(envelope.data)
        incoming = domain.from_order_event(data, envelope.event_type, categories)
        records[data.order_id] = domain.combine(records.get(data.order_id), incoming)
    return records


def batch_documents(activity: list[dict[str, Any]], prefix: str) -> Iterator[dict[str, Any]]:
    """The activity as the stored batch documents backoffice keeps (see
    `AnalyticsService.record_activity`)."""
    for at in range(0, len(activity), BATCH_STEPS):
        steps = [
            (e["session"], e["kind"], e["product_id"], e["at"].isoformat(), day_number(e["at"]))
            for e in activity[at : at + BATCH_STEPS]
        ]
        yield {
            "kind": domain.BATCH_KIND,
            "batch_id": f"{prefix}-{at // BATCH_STEPS:06d}",
            "events": steps,
        }


def expected_totals(
    events: list[EventEnvelope], start: date | None = None, end: date | None = None
) -> dict[str, str | int]:
    """The figures straight from the events (no read model): orders paid on a day (UTC)
    from `start` to `end` inclusive (default: all), their revenue, refunds and net, to
    compare with `/api/staff/analytics/sales`."""
    last: dict[str, dict[str, Any]] = {}
    paid_on: dict[str, date] = {}
    for envelope in events:
        data = envelope.data
        order_id = data["order_id"]
        if envelope.event_type != "OrderCreated":  # paid, then perhaps refunded
            day = datetime.fromisoformat(data["at"]).astimezone(UTC).date()
            paid_on[order_id] = min(day, paid_on.get(order_id, day))
        if order_id not in last or data["version"] > last[order_id]["version"]:
            last[order_id] = data
    paid = [
        o
        for o, day in paid_on.items()
        if (start is None or day >= start) and (end is None or day <= end)
    ]
    revenue = sum((Decimal(str(last[o]["totals"]["total"])) for o in paid), Decimal("0"))
    refunds = sum((Decimal(str(last[o].get("refunded_amount") or 0)) for o in paid), Decimal("0"))
    return {
        "orders": len(paid),
        "revenue": str(revenue),
        "refunds": str(refunds),
        "net": str(revenue - refunds),
    }


def write_documents(
    http: httpx.Client, sidecar: str, store: str, docs: list[tuple[str, Any]]
) -> None:
    """Bulk-write `docs` through backoffice's sidecar, in bodies under daprd's 4 MB limit."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for n, (key, value) in enumerate(docs):
        chunk.append({"key": store_key(key), "value": value})
        size += len(json.dumps(value))
        if size > 1_000_000 or n == len(docs) - 1:
            http.post(f"{sidecar}/v1.0/state/{store}", json=chunk).raise_for_status()
            chunk, size = [], 0


def save_events(events: list[EventEnvelope], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for envelope in events:
            out.write(envelope.model_dump_json() + "\n")
