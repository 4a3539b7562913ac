"""Benchmark `task bench:web`: how long the web app takes to answer each page type under
load (render time: the storefront API calls it makes plus Jinja2), and how many bytes a page
weighs, on a seeded catalog with the catalog caches warm.

    ./taskw bench:web                                   # 2,000 products, 10 s per page type
    ./taskw bench:web -- --products 10000 --seconds 20 --connections 16

Load comes from `wrk` (native, two threads) on loopback against the web app of a cluster
the benchmark starts (every app on its own sidecar, as `./taskw up` runs them), rotating over
many URLs per page type, after each of those URLs was asked once (the caches warm: the
target's condition; the web app then answers public reads from memory and refreshes them
in the background, which the load still pays for). Each page type is measured with a
guest's session cookie (what a shopper's browser sends); the staff analytics page with the
bootstrap admin's session. A product page's related products load after it (htmx, when
scrolled into view) and are not part of its figure. Target (issue 16): p95 < 100 ms at 16
connections.
"""

import argparse
import asyncio
import gzip
import os
import platform
import random
import re
import shutil
import sys
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from apps.catalog.seed import DEPARTMENTS
from bench.catalog import QUERIES, ROTATE, lua_list, wrk
from bench.common import cpu_per_unit, cpu_seconds, save_results, start_cluster
from tests.harness import ROOT


def session_cookie(base: str, email: str | None = None, password: str | None = None) -> str:
    """`sc_web=...` of a new visitor (signed in when `email` is given), as a browser holds
    it after a few pages: settled, so the load does not replay a first visit on every
    request (a new guest session, a welcome message shown again, the cookie written anew).
    The cookie is Secure, so it is taken from the Set-Cookie header, not a cookie jar."""
    with httpx.Client(base_url=base, timeout=30) as client:
        first = client.get("/signin")
        cookie = _cookie(first)
        if email is None:
            return _settled(client, cookie)
        token = re.search(r'name="csrf-token" content="([^"]+)"', first.text)
        assert token, "no CSRF token on /signin"
        answer = client.post(
            "/signin",
            data={"email": email, "password": password, "next": "/", "csrf_token": token[1]},
            headers={"Cookie": cookie},
        )
        if answer.status_code != 303:
            sys.exit(f"sign-in for the benchmark failed: {answer.status_code}")
        return _settled(client, _cookie(answer))


def _settled(client: httpx.Client, cookie: str) -> str:
    """The cookie once pages stop rewriting it (the cart page makes the guest session)."""
    for _ in range(5):
        answer = client.get("/cart", headers={"Cookie": cookie})
        newer = [h for h in answer.headers.get_list("set-cookie") if h.startswith("sc_web=")]
        if not newer:
            return cookie
        cookie = newer[0].split(";", 1)[0]
    sys.exit("the web app keeps rewriting the session cookie")


def _cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("sc_web="):
            return header.split(";", 1)[0]
    sys.exit("the web app set no session cookie")


def product_ids(api: str, count: int = 500) -> list[str]:
    """Ids of products on sale (the seed also makes drafts and archived ones: 404 pages)."""
    ids: list[str] = []
    with httpx.Client(base_url=api, timeout=30) as client:
        for page in range(1, count // 100 + 1):
            found = client.get("/api/products", params={"limit": 100, "page": page}).json()
            ids += [p["product_id"] for p in found["items"]]
    return ids


def page_paths(ids: list[str], rng: random.Random) -> dict[str, list[str]]:
    leaves = [leaf.slug for _, (_, _, ls) in DEPARTMENTS.items() for leaf in ls]
    listings = []
    for _ in range(200):
        params = {"page": rng.randint(1, 3), "sort": rng.choice(["price", "popularity", "newest"])}
        listings.append(f"categories/{rng.choice(leaves + list(DEPARTMENTS))}?{urlencode(params)}")
    return {
        "home": [""],
        "category listing": listings,
        "product": [f"products/{pid}" for pid in ids],
        "search": [f"search?{urlencode({'q': q})}" for q in QUERIES],
        "cart": ["cart"],
        "staff analytics": ["staff"],
    }


def warm(base: str, paths: list[str], cookie: str, concurrency: int = 8) -> float:
    """Ask every page of the scenario once (the catalog caches warm, as the issue's target
    says); seconds it took."""

    async def run() -> None:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:

            async def one(path: str) -> None:
                async with gate:
                    await client.get(f"/{path}", headers={"Cookie": cookie})

            await asyncio.gather(*(one(p) for p in paths))

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def weigh(base: str, path: str, cookie: str) -> dict[str, Any]:
    """Bytes of one page as sent (gzip) and as HTML, with its status."""
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.get(f"/{path}", headers={"Cookie": cookie, "Accept-Encoding": "identity"})
    return {
        "status": r.status_code,
        "html_bytes": len(r.content),
        "gzip_bytes": len(gzip.compress(r.content, 5)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--pages",
        default="",
        help="only these page types, comma-separated (e.g. 'product,staff analytics')",
    )
    args = parser.parse_args()
    only = {p.strip() for p in args.pages.split(",") if p.strip()}
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run ./taskw setup")

    cluster = start_cluster(categories=False)
    results: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        cluster.seed("--products", str(args.products))
        print(f"seeded {args.products} products in {time.perf_counter() - started:.1f} s")
        time.sleep(2)
        base = cluster.apps["web"].url
        password = (ROOT / "components" / "local" / "secrets.identity.json").read_text()
        admin = re.search(r'"identity-admin-password":\s*"([^"]+)"', password)
        assert admin
        guest = session_cookie(base)
        staff = session_cookie(base, "admin@smartcommerce.example", admin[1])
        ids = product_ids(cluster.apps["storefront"].url)
        for kind, paths in page_paths(ids, random.Random(11)).items():
            if only and kind not in only:
                continue
            cookie = staff if kind == "staff analytics" else guest
            headers = {"Cookie": cookie, "Accept-Encoding": "gzip"}
            script = ROTATE.replace("{PATHS}", lua_list(paths))
            took = warm(base, paths, cookie)
            print(f"{kind}: {len(paths)} pages warmed in {took:.1f} s")
            wrk(script, base, "/", 2, args.connections, headers)  # warm-up: connections
            before = cpu_seconds(cluster)
            result = wrk(script, base, "/", args.seconds, args.connections, headers)
            result["cpu_ms_per_page"] = cpu_per_unit(
                before, cpu_seconds(cluster), result["requests"]
            )
            result.update(weigh(base, paths[0], cookie))
            results[kind] = result
    finally:
        cluster.stop()
        cluster.remove()

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.products} products; wrk -t2 "
        f"-c{args.connections}, {args.seconds:.0f} s per page type; the whole system on "
        "this machine\n"
    )
    print(
        "| page type | requests | non-2xx | pages/s | p50 ms | p95 ms | p99 ms | HTML bytes "
        "| gzip bytes |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['requests']} | {r['non_2xx'] + r['socket_errors']} | {r['rps']} | "
            f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['html_bytes']} | "
            f"{r['gzip_bytes']} |"
        )
    print("\nCPU-milliseconds per page, by part of the system (from /proc during the load):\n")
    for name, r in results.items():
        parts = r["cpu_ms_per_page"]
        shown = ", ".join(f"{k} {v:.1f}" for k, v in list(parts.items())[:7])
        print(f"- {name}: {sum(parts.values()):.1f} in all; {shown}")
    worst = max(results.values(), key=lambda r: r["p95_ms"])
    print(f"\nslowest p95: {worst['p95_ms']} ms (target < 100 ms at 16 connections)")
    save_results("web", args, results)


if __name__ == "__main__":
    main()
