"""Benchmark: catalog and storefront reads and product writes through real
sidecars, on a cluster started by the test harness (free ports; `./taskw up` untouched).

    ./taskw bench            # defaults below
    ./taskw bench -- --seconds 20 --concurrency 16

Prints p50/p95/p99 latency and throughput per scenario, the ratios between them, and writes
bench-results/latest.json. Load is closed-loop (each worker waits for its answer), bounded in
time and count, on loopback only; the load generator shares the machine's 2 cores.
"""

import argparse
import asyncio
import platform
import time
from pathlib import Path
from typing import Any

from bench.common import closed_loop, save_results, start_cluster, summary, table
from tests import factories
from tests.harness import Cluster

ROOT = Path(__file__).resolve().parents[1]


def writes(cluster: Cluster, product_id: str, count: int) -> dict[str, Any]:
    """Sequential compare-and-set updates through the storefront (each needs the last ETag)."""
    latencies = []
    with cluster.client("storefront") as api:
        etag = api.get(f"/api/products/{product_id}").headers["ETag"]
        started = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            r = api.patch(
                f"/api/staff/products/{product_id}",
                json={"name": f"Bench {i}"},
                headers={"If-Match": etag},
            )
            r.raise_for_status()
            etag = r.headers["ETag"]
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    return summary(latencies, 0, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()

    cluster = start_cluster()
    try:
        body = factories.product()
        body["variants"][0]["stock"] = 1_000_000
        with cluster.client("storefront") as api:
            api.post("/api/staff/products", json=body).raise_for_status()
        pid = body["product_id"]
        catalog_sidecar = cluster.apps["catalog"].dapr_url
        storefront = cluster.apps["storefront"].url
        scenarios = {
            "state read (catalog sidecar -> PostgreSQL)": (
                f"{catalog_sidecar}/v1.0/state/statestore/product:{pid}"
            ),
            "catalog read (sidecar -> catalog app -> state)": (
                f"{catalog_sidecar}/v1.0/invoke/catalog/method/products/{pid}"
            ),
            "storefront API read (GET /api/products/{id})": f"{storefront}/api/products/{pid}",
        }
        results: dict[str, Any] = {}
        for name, url in scenarios.items():
            asyncio.run(closed_loop(url, 2, args.concurrency, 2000))  # warm-up
            results[name] = asyncio.run(
                closed_loop(url, args.seconds, args.concurrency, args.max_requests)
            )
        results["storefront product update (PATCH, If-Match, sequential)"] = writes(
            cluster, pid, args.writes
        )
    finally:
        cluster.stop()
        cluster.remove()

    names = list(results)
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}; "
        f"concurrency {args.concurrency}, {args.seconds:.0f} s per read scenario\n"
    )
    table(results)
    state, cat, front = (results[n] for n in names[:3])
    print(
        f"\nratios (p95): catalog/state {cat['p95_ms'] / state['p95_ms']:.2f}x, "
        f"storefront/catalog {front['p95_ms'] / cat['p95_ms']:.2f}x; "
        f"throughput storefront/catalog {front['rps'] / cat['rps']:.2f}x"
    )
    save_results("reads", args, results)


if __name__ == "__main__":
    main()
