"""Benchmark: actor method calls through the Dapr actor API vs direct state-store access
to the same data, on a cluster started by the test harness (free ports).

    ./taskw bench:actors
    ./taskw bench:actors -- --seconds 20 --concurrency 16 --carts 64

Calls go the way another service makes them: plain JSON to its own sidecar
(`PUT /v1.0/actors/{type}/{id}/method/{m}`), which finds the hosting instance through
placement. Scenarios:
- OrderActor `get`: actor turn + state (cached in the actor after activation), no other I/O;
- CartActor `get`: plus one catalog invocation (re-validation of the lines);
- CartActor `add_item`: plus the catalog invocation and an actor-state transaction;
- direct state read / write of the same cart document through the sidecar's state API.
Prints p50/p95/p99, calls/s and the ratios; writes bench-results/actors.json.
"""

import argparse
import asyncio
import os
import platform
from typing import Any

import httpx

from bench.common import closed_loop_calls, save_results, start_cluster, table
from tests import factories


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--carts", type=int, default=64, help="distinct actors per scenario")
    args = parser.parse_args()

    cluster = start_cluster(env={"cart": {"CART_MAX_LINE_QUANTITY": "1000"}})
    results: dict[str, Any] = {}
    try:
        products = []
        with cluster.client("storefront") as api:
            for _ in range(3):
                body = factories.product()
                body["variants"][0]["stock"] = 10_000_000
                api.post("/api/staff/products", json=body).raise_for_status()
                products.append(body["product_id"])
        caller = cluster.apps["storefront"].dapr_url  # another app's sidecar
        carts = [f"user-bench-{n}" for n in range(args.carts)]
        actor = f"{caller}/v1.0/actors"
        cart_docs: list[Any] = []
        with httpx.Client(timeout=30, headers=cluster.sidecar_headers) as http:
            for cart in carts:
                for pid in products:
                    r = http.put(
                        f"{actor}/CartActor/{cart}/method/add_item",
                        json={"product_id": pid, "quantity": 1},
                    )
                    r.raise_for_status()
                cart_docs.append(r.json()["cart"])
            orders = []
            for _ in range(args.carts):
                body = factories.order()
                r = http.post(f"{caller}/v1.0/invoke/orders/method/orders", json=body)
                r.raise_for_status()
                orders.append(body["order_id"])
        state = f"{cluster.apps['cart'].dapr_url}/v1.0/state/statestore"
        with httpx.Client(timeout=30, headers=cluster.sidecar_headers) as http:
            http.post(
                state,
                json=[{"key": f"bench-cart-{n}", "value": d} for n, d in enumerate(cart_docs)],
            ).raise_for_status()

        scenarios: dict[str, list[tuple[str, str, Any]]] = {
            "state read, same cart document (GET /v1.0/state)": [
                ("GET", f"{state}/bench-cart-{n}", None) for n in range(args.carts)
            ],
            "state write, same cart document (POST /v1.0/state)": [
                ("POST", state, [{"key": f"bench-cart-{n}", "value": d}])
                for n, d in enumerate(cart_docs)
            ],
            "OrderActor get (actor API)": [
                ("PUT", f"{actor}/OrderActor/{o}/method/get", None) for o in orders
            ],
            "CartActor get (actor API, re-validates with catalog)": [
                ("PUT", f"{actor}/CartActor/{c}/method/get", None) for c in carts
            ],
            "CartActor add_item (actor API, catalog + state transaction)": [
                (
                    "PUT",
                    f"{actor}/CartActor/{c}/method/add_item",
                    {"product_id": products[n % len(products)], "quantity": 1},
                )
                for n, c in enumerate(carts)
            ],
        }
        for name, calls in scenarios.items():
            asyncio.run(closed_loop_calls(calls, 2, args.concurrency, 1000))  # warm-up
            results[name] = asyncio.run(
                closed_loop_calls(calls, args.seconds, args.concurrency, args.max_requests)
            )
            print(f"{name}: {results[name]}", flush=True)  # shown even if teardown stalls
        save_results("actors", args, results)
    finally:
        cluster.stop()
        cluster.remove()

    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; concurrency {args.concurrency}, "
        f"{args.seconds:.0f} s per scenario, {args.carts} actors\n"
    )
    table(results)
    read, write, order_get, cart_get, cart_add = results.values()

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
        return f"p95 {a['p95_ms'] / b['p95_ms']:.2f}x, calls/s {a['rps'] / b['rps']:.2f}x"

    print(
        "\nratios vs direct state access of the same data:\n"
        f"- OrderActor get / state read: {ratio(order_get, read)}\n"
        f"- CartActor get / state read: {ratio(cart_get, read)}\n"
        f"- CartActor add_item / state write: {ratio(cart_add, write)}"
    )


if __name__ == "__main__":
    main()
