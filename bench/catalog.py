"""Benchmark `task bench:catalog`: list, search and product-detail requests against a seeded
catalog, through the storefront and the sidecars (what a shopper gets) and straight to the
catalog app (no sidecar, no gateway), with the ratio between the two.

    ./taskw bench:catalog                          # 10,000 products, 10 s per scenario
    ./taskw bench:catalog -- --products 100000 --seconds 20 --connections 32

Load comes from `wrk` (native, two threads, so the client does not eat the CPU it measures),
on loopback, rotating over many URLs per scenario so no single answer is measured:

- `list (cacheable)`: 200 list pages (categories, sorts, filters, pages 1-3) asked again and
  again, as shoppers browsing the same shop do: the gateway's read cache (2 s) and the
  catalog's per-version listings answer most of them;
- `list (every request a miss)`: each request has a price filter never asked before, so
  neither the gateway's cache nor the catalog's listing cache can answer it;
- `search` (12 queries, typos among them) and `detail` (500 product pages).
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from apps.catalog.seed import DEPARTMENTS
from bench.common import save_results, start_cluster

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

ROTATE = """
local paths = {PATHS}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", PREFIX .. paths[(i + math.random(#paths)) % #paths + 1])
end
"""
#: A price filter no request asked before (thread id, counter and a random number in it).
MISSES = """
local departments = {DEPARTMENTS}
local sorts = {"price", "popularity", "newest", "name"}
local n = 0
request = function()
  n = n + 1
  local cents = math.random(1000, 99999) * 100 + n % 100
  local filters = string.format('{"price_max":%d.%02d}', math.floor(cents / 100), cents % 100)
  local path = string.format("products?category=%s&sort=%s&page=%d&filters=%s",
    departments[math.random(#departments)], sorts[math.random(#sorts)], math.random(3),
    filters:gsub('[{}":,]', function(c) return string.format("%%%02X", string.byte(c)) end))
  return wrk.format("GET", PREFIX .. path)
end
"""
REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"duration_s":%.3f,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f}\\n', summary.requests,
    summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(i) for i in items) + "}"


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
    return {
        "list (cacheable)": lists,
        "search": searches,
        "detail": [f"products/{pid}" for pid in ids],
    }


def wrk(
    script: str, base: str, prefix: str, seconds: float, connections: int, headers: dict[str, str]
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    lua = folder / "scenario.lua"
    lua.write_text(script.replace("PREFIX", json.dumps(prefix)) + REPORT)
    cmd = [shutil.which("wrk") or "wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s"]
    cmd += ["--timeout", "10s", "-s", str(lua)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, base], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    result = dict(json.loads(line[4:]))
    result["rps"] = round(result["requests"] / result["duration_s"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run ./taskw setup")

    cluster = start_cluster(categories=False)
    results: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        cluster.seed("--products", str(args.products))
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        time.sleep(2)
        routes = paths(args.products, random.Random(7))
        scenarios = {kind: ROTATE.replace("{PATHS}", lua_list(p)) for kind, p in routes.items()}
        scenarios["list (every request a miss)"] = MISSES.replace(
            "{DEPARTMENTS}", lua_list(list(DEPARTMENTS))
        )
        targets = {
            "storefront + sidecars": (cluster.apps["storefront"].url, "/api/", {}),
            "catalog app direct": (
                cluster.apps["catalog"].url,
                "/",
                {"dapr-api-token": cluster.app_token},
            ),
        }
        for kind, script in scenarios.items():
            for label, (base, prefix, headers) in targets.items():
                wrk(script, base, prefix, 2, args.connections, headers)  # warm-up
                results[f"{kind} — {label}"] = wrk(
                    script, base, prefix, args.seconds, args.connections, headers
                )
    finally:
        cluster.stop()
        cluster.remove()

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.products} products; wrk -t2 "
        f"-c{args.connections}, {args.seconds:.0f} s per scenario\n"
    )
    print("| scenario | requests | non-2xx | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['requests']} | {r['non_2xx'] + r['socket_errors']} | {r['rps']} | "
            f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} |"
        )
    print()
    for kind in scenarios:
        via = results[f"{kind} — storefront + sidecars"]
        direct = results[f"{kind} — catalog app direct"]
        print(
            f"{kind}: storefront {via['rps']} req/s (p95 {via['p95_ms']} ms), catalog direct "
            f"{direct['rps']} req/s (p95 {direct['p95_ms']} ms): {via['rps'] / direct['rps']:.2f}x"
        )
    save_results("catalog", args, results)


if __name__ == "__main__":
    main()
