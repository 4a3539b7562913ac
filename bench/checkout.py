"""Benchmark: checkouts end to end through the storefront (the Dapr Workflow saga), and the
same steps run as direct async calls without the workflow engine, on a cluster started by
the test harness with payments in local mode (it sends itself the signed success webhook
stripe-mock cannot send, so every checkout completes with no manual step).

    ./taskw bench:checkout                         # 4 shoppers, 20 s per variant
    ./taskw bench:checkout -- --concurrency 8 --seconds 30

Each shopper is a closed loop: POST /api/orders, then GET /api/checkout/{id}?wait=4 (a long
poll: answered when the saga ends; `--poll-ms 25` polls every 25 ms instead) until it has
ended, start the next one. Latency is POST to paid; afterwards each paid saga's
outcome says where its time went (per step: the activity, and the engine around it). The
direct variant makes the saga's calls from checkout's sidecar (product, order, reservation
alongside the fraud score, awaiting_payment, PaymentIntent, wait for the payment to
succeed, paid, commit, OrderPlaced) with nothing durable in between: it shows what the
workflow engine costs (`--saga-only` skips it). Prints
checkouts/s, p50/p95/p99 and the ratios, the CPU per checkout by process (and what lies
outside the Python apps), each sidecar's calls per checkout by kind from its metrics, and
what an order event no app handles costs (`--ignored-events N`, 0 skips); writes
bench-results/checkout.json.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import time
import uuid
from typing import Any

import httpx

from apps.checkout.activities import order_placed
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import Order
from bench.common import (
    SERVICES,
    calls_per_unit,
    cpu_per_unit,
    cpu_seconds,
    pct,
    save_results,
    sidecar_calls,
    sidecars_apart,
    start_cluster,
    summary,
    table,
)
from tests import factories
from tests.harness import Cluster

POLL_SECONDS = 0.025


async def saga_loop(
    cluster: Cluster,
    product: dict[str, Any],
    seconds: float,
    n: int,
    paid: list[str] | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> Any:
    latencies: list[float] = []
    errors: list[str] = []
    paid = paid if paid is not None else []
    line = {"product_id": product["product_id"], "quantity": 1}
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=cluster.apps["storefront"].url, timeout=30) as api:

        async def shopper() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = await api.post(
                    "/api/orders",
                    json=(body := factories.checkout(line)),
                    headers={"Idempotency-Key": factories.ref("bench")},
                )
                if r.status_code != 202:
                    errors.append(f"POST {r.status_code}")
                    continue
                order_id = r.json()["order_id"]
                # A long poll (`wait`) by default; `--poll-ms N` polls every N ms instead.
                params = {"email": body["email"], **({} if poll_seconds else {"wait": 4})}
                while True:
                    state = (await api.get(f"/api/checkout/{order_id}", params=params)).json()
                    if state["status"] not in ("running", "pending"):
                        break
                    await asyncio.sleep(poll_seconds)
                outcome = (state.get("result") or {}).get("outcome")
                if outcome == "paid":
                    latencies.append((time.perf_counter() - t0) * 1000)
                    paid.append(order_id)
                else:
                    errors.append(str(outcome or state["status"]))

        started = time.perf_counter()
        await asyncio.gather(*(shopper() for _ in range(n)))
        elapsed = time.perf_counter() - started
    return summary(latencies, len(errors), elapsed), errors[:5]


async def direct_loop(cluster: Cluster, product: dict[str, Any], seconds: float, n: int) -> Any:
    """The saga's steps as plain awaited calls from checkout's sidecar (no durability)."""
    latencies: list[float] = []
    errors: list[str] = []
    variant = product["variants"][0]
    deadline = time.perf_counter() + seconds
    base = f"{cluster.apps['checkout'].dapr_url}/v1.0"
    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers=cluster.sidecar_headers
    ) as dapr:

        async def call(app: str, path: str, body: Any = None, method: str = "POST") -> Any:
            r = await dapr.request(method, f"/invoke/{app}/method/{path}", json=body)
            if r.status_code >= 300:
                raise RuntimeError(f"{app}/{path}: {r.status_code} {r.text[:120]}")
            return r.json() if r.content else None

        async def one() -> None:
            order_id, email = str(uuid.uuid4()), factories.email()
            p = await call("catalog", f"products/{product['product_id']}", method="GET")
            amount = p["price"]["amount"]
            totals = {"subtotal": amount, "tax": "0.00", "total": amount, "currency": "USD"}
            await call(
                "orders",
                "orders",
                {
                    "order_id": order_id,
                    "email": email,
                    "items": [
                        {
                            "product_id": p["product_id"],
                            "variant_id": variant["variant_id"],
                            "sku": variant["sku"],
                            "name": p["name"],
                            "quantity": 1,
                            "unit_price": amount,
                            "line_total": amount,
                        }
                    ],
                    "totals": totals,
                    "correlation_id": order_id,
                },
            )
            await asyncio.gather(
                call(
                    "catalog",
                    "inventory/reservations",
                    {"order_id": order_id, "lines": [{"sku": variant["sku"], "quantity": 1}]},
                ),
                call("fraud", "score", _fraud_context(float(amount), email)),
            )
            await call(
                "orders", f"orders/{order_id}/transitions", _to(order_id, "awaiting_payment")
            )
            payment = await call(
                "payments",
                "payments",
                {
                    "order_id": order_id,
                    "amount": amount,
                    "currency": "USD",
                    "payment_method": "pm_card_visa",
                    "email": email,
                },
            )
            while payment["status"] == "processing":
                await asyncio.sleep(POLL_SECONDS)
                payment = await call("payments", f"payments/{order_id}", method="GET")
            paid = await call("orders", f"orders/{order_id}/transitions", _to(order_id, "paid"))
            await call("catalog", f"inventory/reservations/{order_id}/commit")
            envelope = order_placed(Order.model_validate(paid), order_id)
            r = await dapr.post(
                "/publish/pubsub/order-events",
                content=envelope.model_dump_json(),
                headers={"Content-Type": "application/json"},
                params={"metadata.cloudevent.id": envelope.event_id},
            )
            if r.status_code != 204:
                raise RuntimeError(f"publish: {r.status_code}")

        async def shopper() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await one()
                except RuntimeError as exc:
                    errors.append(str(exc))
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(shopper() for _ in range(n)))
        elapsed = time.perf_counter() - started
    return summary(latencies, len(errors), elapsed), errors[:5]


def step_timings(cluster: Cluster, order_ids: list[str]) -> list[dict[str, Any]]:
    """Where the paid checkouts' time went, from each saga's outcome (`steps`): per step,
    the median time its activity took and the median time from the previous step's end
    to its own (the difference is the workflow engine's: scheduling, the history write,
    the worker's stream). Read after the load, so it costs the measurement nothing."""
    per_step: dict[str, dict[str, list[float]]] = {}
    totals: list[float] = []
    with cluster.invoker("checkout") as checkout:
        for order_id in order_ids:
            steps = checkout.get(f"/checkouts/{order_id}").json()["result"]["steps"]
            previous = 0.0
            for step in steps:
                gap = max(step["done_at_ms"] - previous, 0.0)
                seen = per_step.setdefault(step["step"], {"activity": [], "gap": []})
                seen["activity"].append(step["activity_ms"])
                seen["gap"].append(gap)
                previous = step["done_at_ms"]
            totals.append(previous)
    rows = [
        {
            "step": name,
            "activity_p50_ms": round(statistics.median(v["activity"]), 1),
            "since_previous_p50_ms": round(statistics.median(v["gap"]), 1),
            "activity_p95_ms": round(pct(v["activity"], 95), 1),
            "since_previous_p95_ms": round(pct(v["gap"], 95), 1),
        }
        for name, v in per_step.items()
    ]
    if totals:
        rows.append(
            {
                "step": "first run to last step (saga)",
                "activity_p50_ms": None,
                "since_previous_p50_ms": round(statistics.median(totals), 1),
                "activity_p95_ms": None,
                "since_previous_p95_ms": round(pct(totals, 95), 1),
            }
        )
    return rows


def _to(order_id: str, status: str) -> dict[str, str]:
    return {"to": status, "transition_id": f"{order_id}:{status}", "reason": "bench"}


def _fraud_context(amount: float, email: str) -> dict[str, Any]:
    return {
        "amount": amount,
        "item_count": 1,
        "share_electronics": 0.0,
        "share_gift_cards": 0.0,
        "account_age_days": 0,
        "orders_last_24h": 0,
        "orders_last_7d": 0,
        "avg_order_amount": 0,
        "email": email,
        "shipping_country": "US",
        "billing_country": "US",
        "hour": 14,
        "payment_method_age_days": 0,
        "is_guest": True,
    }


PROBE_TYPE = "BenchProbeNobodyHandles"


async def ignored_events(cluster: Cluster, n: int) -> dict[str, Any]:
    """Publish `n` order-events of a type no app handles and wait until every subscriber has
    answered each one: what a delivery costs when the subscriber only has to say "not mine"
    (every order event reaches eight apps and the storefront's live feed; most handle few of
    its types). Returns deliveries per event and CPU-ms per event and per delivery."""
    topic = "order-events"

    def delivered() -> float:
        return sum(counts.get("deliveries", 0.0) for counts in sidecar_calls(cluster).values())

    # What the idle system spends (health probes, heartbeats, polls) is taken off the figure.
    time.sleep(2)
    idle_from, idle_start = cpu_seconds(cluster), time.monotonic()
    time.sleep(5)
    idle_rate = (sum(cpu_seconds(cluster).values()) - sum(idle_from.values())) / (
        time.monotonic() - idle_start
    )
    start_deliveries, before = delivered(), cpu_seconds(cluster, by_sidecar=True)
    started = time.monotonic()
    url = f"{cluster.apps['checkout'].dapr_url}/v1.0/publish/pubsub/{topic}"
    async with httpx.AsyncClient(timeout=30, headers=cluster.sidecar_headers) as dapr:
        for i in range(n):
            envelope = EventEnvelope(
                event_type=PROBE_TYPE, correlation_id=f"probe-{i}", source="bench", data={}
            )
            r = await dapr.post(url, json=envelope.model_dump(mode="json"))
            r.raise_for_status()
    # Done when the count has not moved for 2 s (each subscriber has answered every event).
    deadline, last, still_since = time.monotonic() + 60, -1.0, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - still_since < 2:
        got = delivered() - start_deliveries
        if got != last:
            last, still_since = got, time.monotonic()
        time.sleep(0.2)
    subscribers = last / n
    spent = cpu_per_unit(before, cpu_seconds(cluster, by_sidecar=True), n)
    total = sum(spent.values()) - idle_rate * (time.monotonic() - started) * 1000 / n
    return {
        "events": n,
        "deliveries_per_event": round(subscribers, 2),
        "cpu_ms_per_event": round(total, 2),
        "cpu_ms_per_delivery": round(total / subscribers, 2) if subscribers else None,
        "idle_cpu_ms_per_s": round(idle_rate * 1000, 1),
        "cpu_ms_per_event_by_part": dict(list(sidecars_apart(spent)[0].items())[:8]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--saga-only", action="store_true", help="skip the direct-calls variant")
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=0,
        help="poll the checkout status every N ms (default 0: long polls, `?wait=4`)",
    )
    parser.add_argument(
        "--keep-logs",
        default="",
        help="copy every app's and sidecar's log of the run to this folder before it is removed",
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="the apps' log level (INFO: a line a request)"
    )
    parser.add_argument(
        "--ignored-events",
        type=int,
        default=300,
        help="after the saga, publish N order-events no app handles and report what a "
        "delivery costs (0: skip)",
    )
    args = parser.parse_args()

    print("[bench] starting a cluster (payments in local mode) ...", flush=True)
    # Paid orders are not released to the warehouse during the run: fulfilment (shipments,
    # carrier scans, their events) is not part of a checkout and would blur its figures.
    cluster = start_cluster(
        args.log_level,
        env={
            "payments": {"PAYMENTS_SIMULATE_WEBHOOKS": "true"},
            "orders": {"ORDERS_FULFILMENT_HOLD_SECONDS": "86400"},
        },
    )
    results: dict[str, Any] = {}
    try:
        product = factories.product(category_slug="home-cookware", name="Bench Kettle")
        product["price"] = {"amount": "49.00", "currency": "USD", "tax_rate": "0.0825"}
        product["variants"][0]["stock"] = 1_000_000
        with cluster.client("storefront") as api:
            r = api.post("/api/staff/products", json=product)
            assert r.status_code == 201, r.text
        asyncio.run(saga_loop(cluster, product, 3, 2))  # warm-up
        paid: list[str] = []
        name = "checkout saga (Dapr Workflow), POST to paid"
        before, calls_before = cpu_seconds(cluster, by_sidecar=True), sidecar_calls(cluster)
        figures, errors = asyncio.run(
            saga_loop(cluster, product, args.seconds, args.concurrency, paid, args.poll_ms / 1000)
        )
        done = figures["requests"] - figures["errors"]
        spent = cpu_per_unit(before, cpu_seconds(cluster, by_sidecar=True), done)
        figures["sidecar_calls_per_checkout"] = calls_per_unit(
            calls_before, sidecar_calls(cluster), done
        )
        figures["cpu_ms_per_checkout"], figures["sidecar_cpu_ms_per_checkout"] = sidecars_apart(
            spent
        )
        results[name] = figures
        print(f"[bench] {name}: {figures}" + (f" errors e.g. {errors}" if errors else ""))
        steps = step_timings(cluster, paid)
        if args.ignored_events:
            results["ignored order-events"] = asyncio.run(
                ignored_events(cluster, args.ignored_events)
            )
            print(f"[bench] ignored order-events: {results['ignored order-events']}")
        if not args.saga_only:
            name = "same steps as direct async calls (no workflow engine)"
            figures, errors = asyncio.run(
                direct_loop(cluster, product, args.seconds, args.concurrency)
            )
            results[name] = figures
            print(f"[bench] {name}: {figures}" + (f" errors e.g. {errors}" if errors else ""))
    finally:
        cluster.stop()
        if args.keep_logs:
            shutil.copytree(cluster.logs, args.keep_logs, dirs_exist_ok=True)
            print(f"[bench] logs kept in {args.keep_logs}")
        cluster.remove()

    print(f"\n{args.concurrency} concurrent shoppers, {args.seconds:.0f} s per variant\n")
    table({k: v for k, v in results.items() if "requests" in v})
    probe = results.get("ignored order-events")
    if probe:
        print(
            f"\nAn order event no app handles ({probe['events']} published): "
            f"{probe['deliveries_per_event']:g} deliveries, {probe['cpu_ms_per_event']} CPU-ms "
            f"({probe['cpu_ms_per_delivery']} a delivery; "
            + ", ".join(f"{k} {v:.1f}" for k, v in probe["cpu_ms_per_event_by_part"].items())
            + f" before the idle system's {probe['idle_cpu_ms_per_s']} CPU-ms/s is taken off)"
        )
    cpu = results.get("checkout saga (Dapr Workflow), POST to paid", {}).get("cpu_ms_per_checkout")
    if cpu:
        parts = ", ".join(f"{k} {v:.0f}" for k, v in list(cpu.items())[:10])
        total = sum(cpu.values())
        print(f"\nCPU-ms per paid checkout (saga, from /proc): {total:.0f} in all; {parts}")
        each = results["checkout saga (Dapr Workflow), POST to paid"]["sidecar_cpu_ms_per_checkout"]
        print("of which sidecars: " + ", ".join(f"{k} {v:.0f}" for k, v in each.items()))
        runtime = sum(v for k, v in cpu.items() if k == "sidecars" or k in SERVICES)
        cores = os.cpu_count() or 1
        print(
            f"outside the Python apps (sidecars, scheduler, placement, PostgreSQL, Redis, "
            f"stripe-mock, mailpit): {runtime:.0f} CPU-ms per checkout, so {cores} cores give at "
            f"most {cores * 1000 / runtime:.1f} checkouts/s even if the apps cost nothing"
        )
        calls = results["checkout saga (Dapr Workflow), POST to paid"]["sidecar_calls_per_checkout"]
        print("\nSidecar calls per paid checkout (from each sidecar's metrics), by kind:")
        for kind, per_app in calls.items():
            print(f"- {kind}: " + ", ".join(f"{k} {v:g}" for k, v in per_app.items()))
    print("\nWhere a paid checkout's time goes (saga outcome `steps`; over every paid one):\n")
    print("| step | activity p50 ms | p95 | since previous step p50 ms | p95 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in steps:
        took = "" if row["activity_p50_ms"] is None else row["activity_p50_ms"]
        took95 = "" if row["activity_p95_ms"] is None else row["activity_p95_ms"]
        print(
            f"| {row['step']} | {took} | {took95} | {row['since_previous_p50_ms']} | "
            f"{row['since_previous_p95_ms']} |"
        )
    loops = [v for v in results.values() if "requests" in v]
    if len(loops) == 2:
        saga, direct = loops
    if len(loops) == 2 and saga["requests"] and direct["requests"]:
        print(
            f"\nworkflow vs direct: throughput {saga['rps'] / direct['rps']:.2f}x, "
            f"p50 {saga['p50_ms'] / direct['p50_ms']:.2f}x, "
            f"p95 {saga['p95_ms'] / direct['p95_ms']:.2f}x"
        )
    print(f"saved {save_results('checkout', args, {**results, 'steps': steps})}")


if __name__ == "__main__":
    main()
