"""Benchmark `task bench:catalog`: list, search and product-detail requests against a seeded
catalog, through the storefront and the sidecars (what a shopper gets) and straight to the
catalog app (no sidecar, no gateway), with the ratio between the two.

    ./taskw bench:catalog                          # 10,000 products, 10 s per scenario
    ./taskw bench:catalog -- --products 100000 --seconds 20

Load is closed-loop, bounded in time and count, loopback only; the requests rotate over many
categories, queries, filters and products so no single answer is measured.
"""

import argparse
import asyncio
import json
import platform
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from apps.catalog.seed import DEPARTMENTS
from bench.common import closed_loop, save_results, start_cluster, table

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    "laptop",
    "black jacket",
    "coffee",
    "yoga mat",
    "lapotp",
    "espresso machine",
    "running shoe",
    "board game",
    "serum",
    "vinyl",
    "oak desk",
    "wireless earbuds",
]


def paths(count: int, rng: random.Random) -> dict[str, list[str]]:
    leaves = [leaf.slug for _, (_, _, ls) in DEPARTMENTS.items() for leaf in ls]
    departments = list(DEPARTMENTS)
    ids = [f"prod-{i:06d}" for i in rng.sample(range(count), min(count, 500))]
    lists = []
    for i in range(200):
        category = rng.choice(departments if i % 2 else leaves)
        params: dict[str, Any] = {
            "category": category,
            "page": rng.randint(1, 3),
            "sort": rng.choice(["price", "popularity", "newest", "name"]),
        }
        if i % 3 == 0:
            params["filters"] = json.dumps({"in_stock": True, "price_max": rng.choice([50, 200])})
        lists.append(f"products?{urlencode(params)}")
    searches = [f"products/search?{urlencode({'q': q, 'page': 1})}" for q in QUERIES]
    return {"list": lists, "search": searches, "detail": [f"products/{pid}" for pid in ids]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    args = parser.parse_args()

    cluster = start_cluster(categories=False)
    results: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        cluster.seed("--products", str(args.products))
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        routes = paths(args.products, random.Random(7))
        storefront = f"{cluster.apps['storefront'].url}/api"
        direct = cluster.apps["catalog"].url
        for kind, rel in routes.items():
            for label, base in (
                ("storefront + sidecars", storefront),
                ("catalog app direct", direct),
            ):
                urls = [f"{base}/{r}" for r in rel]
                asyncio.run(closed_loop(urls, 2, args.concurrency, 1000))  # warm-up
                results[f"{kind} — {label}"] = asyncio.run(
                    closed_loop(urls, args.seconds, args.concurrency, args.max_requests)
                )
    finally:
        cluster.stop()
        cluster.remove()

    print(
        f"\nmachine: {platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.products} products; concurrency "
        f"{args.concurrency}, {args.seconds:.0f} s per scenario\n"
    )
    table(results)
    print()
    for kind in ("list", "search", "detail"):
        via, direct_r = (
            results[f"{kind} — storefront + sidecars"],
            results[f"{kind} — catalog app direct"],
        )
        print(
            f"{kind}: p95 {via['p95_ms']} ms vs {direct_r['p95_ms']} ms direct "
            f"({via['p95_ms'] / direct_r['p95_ms']:.2f}x); throughput "
            f"{via['rps'] / direct_r['rps']:.2f}x of direct"
        )
    save_results("catalog", args, results)


if __name__ == "__main__":
    main()
