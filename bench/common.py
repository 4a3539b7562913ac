"""Shared pieces of the benchmarks: a bounded closed-loop load generator and a cluster."""

import asyncio
import json
import os
import statistics
import time
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx

from tests.harness import Cluster

ROOT = Path(__file__).resolve().parents[1]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def closed_loop(
    url: str | list[str], seconds: float, concurrency: int, max_requests: int
) -> dict[str, Any]:
    """Each of `concurrency` workers GETs the next URL (round robin) and waits for the
    answer, until `seconds` pass or `max_requests` are made."""
    urls = [url] if isinstance(url, str) else url
    return await closed_loop_calls(
        [("GET", u, None) for u in urls], seconds, concurrency, max_requests
    )


async def closed_loop_calls(
    calls: list[tuple[str, str, Any]], seconds: float, concurrency: int, max_requests: int
) -> dict[str, Any]:
    """Like `closed_loop`, for (method, url, json body) calls taken round robin."""
    pending = cycle(calls)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits, headers=sidecar_headers()) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                method, url, body = next(pending)
                t0 = time.perf_counter()
                r = await client.request(method, url, json=body)
                ok = r.status_code in (200, 204) and not _refused(r)
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, errors, elapsed)


def _refused(r: httpx.Response) -> bool:
    """Actor replies carry business refusals inside a 200 (`{"ok": false}`)."""
    if not r.content or not r.headers.get("content-type", "").startswith("application/json"):
        return False
    body = r.json()
    return isinstance(body, dict) and body.get("ok") is False


def summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p95_ms": round(pct(latencies, 95), 2) if latencies else None,
        "p99_ms": round(pct(latencies, 99), 2) if latencies else None,
    }


def sidecar_headers() -> dict[str, str]:
    """The sidecars' API token for benchmark calls made straight to a sidecar."""
    token = os.environ.get("DAPR_API_TOKEN", "")
    return {"dapr-api-token": token} if token else {}


def start_cluster(
    log_level: str = "WARNING",
    env: dict[str, dict[str, str]] | None = None,
    categories: bool = True,
) -> Cluster:
    """Every app of dapr.yaml on free ports; with `categories`, the seed's category tree
    (no products)."""
    cluster = Cluster.create()
    # The benchmark process is a local tool of this cluster: it (and the seed script it
    # calls) sends the sidecars' API token, as tools on a `./taskw up` install do.
    os.environ["DAPR_API_TOKEN"] = cluster.dapr_api_token
    cluster.start_infrastructure()
    # One load generator, one address: the per-address limits would stop the benchmark.
    limits = {
        "STOREFRONT_RATE_LIMIT_IP_PER_MINUTE": "100000000",
        "STOREFRONT_RATE_LIMIT_USER_PER_MINUTE": "100000000",
        "STOREFRONT_RATE_LIMIT_AUTH_IP_PER_MINUTE": "100000000",
    }
    for app_id in cluster.app_specs():
        extra = limits if app_id == "storefront" else {}
        app_env = {"SC_LOG_LEVEL": log_level, **extra, **(env or {}).get(app_id, {})}
        cluster.start_app(app_id, env=app_env, wait=False)
    for app_id in cluster.app_specs():
        cluster.wait_ready(app_id)
    cluster.use_bootstrap_admin_as_staff()  # staff calls are made as the bootstrap admin
    if categories:
        cluster.seed("--products", "0")
    return cluster


#: Processes of the system counted by `cpu_seconds` besides the apps and their sidecars.
SERVICES = ("postgres", "redis-server", "placement", "scheduler", "stripe-mock", "mailpit")


def cpu_seconds(cluster: Cluster, by_sidecar: bool = False) -> dict[str, float]:
    """CPU-seconds (user + system) used so far by each part of the system, read from
    `/proc`: each app (with any children), all sidecars together (each as `daprd:<app>`
    with `by_sidecar`), and the stores and control plane by name (every such process on
    the machine: run with nothing else up). The load generator is not counted."""
    tick = os.sysconf("SC_CLK_TCK")
    labels: dict[int, str] = {}
    for app_id, proc in cluster.apps.items():
        if proc.app is not None:
            labels[proc.app.pid] = app_id
        if proc.daprd is not None:
            labels[proc.daprd.pid] = f"daprd:{app_id}" if by_sidecar else "sidecars"
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
        if pid not in labels and name in SERVICES:
            labels[pid] = name
    totals: dict[str, float] = {}
    for pid, seconds in used.items():
        node, hops = pid, 0
        while node not in labels and node in parents and hops < 8:
            node, hops = parents[node], hops + 1
        label = labels.get(node)
        if label is not None:
            totals[label] = totals.get(label, 0.0) + seconds
    return totals


#: Counters of each sidecar's Prometheus metrics that `sidecar_calls` adds up, by what they
#: count: calls of the app to its sidecar's API, calls of the sidecar to its app (invocations,
#: actor turns, event deliveries), gRPC calls between sidecars (invocation, actors, workflow),
#: state store operations, events delivered and published.
CALL_COUNTERS = {
    "dapr_http_server_request_count": "app->sidecar",
    "dapr_http_client_completed_count": "sidecar->app",
    "dapr_grpc_io_server_completed_rpcs": "grpc in",
    "dapr_component_state_count": "state ops",
    "dapr_component_pubsub_ingress_count": "deliveries",
    "dapr_component_pubsub_egress_count": "publishes",
}


def sidecar_calls(cluster: Cluster) -> dict[str, dict[str, float]]:
    """Each sidecar's call counts so far, by kind (`CALL_COUNTERS`), read from its metrics
    port; health probes and the sidecar's own metadata/health calls are left out."""
    counts: dict[str, dict[str, float]] = {}
    for app_id, proc in cluster.apps.items():
        if proc.daprd is None:
            continue
        try:
            text = httpx.get(f"http://127.0.0.1:{proc.metrics_port}/metrics", timeout=5).text
        except httpx.HTTPError:
            continue
        mine = counts.setdefault(app_id, {})
        for line in text.splitlines():
            name, _, rest = line.partition("{")
            kind = CALL_COUNTERS.get(name)
            if kind is None or "healthz" in rest or "/health/" in rest:
                continue
            mine[kind] = mine.get(kind, 0.0) + float(rest.rsplit(" ", 1)[1])
    return counts


def calls_per_unit(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], units: int
) -> dict[str, dict[str, float]]:
    """`sidecar_calls` spent per unit of work: {kind: {app: calls}} (apps with none left out),
    each kind's apps largest first, with the kind's total as `all`."""
    if units <= 0:
        return {}
    out: dict[str, dict[str, float]] = {}
    for kind in CALL_COUNTERS.values():
        per_app = {
            app: round((counts.get(kind, 0.0) - before.get(app, {}).get(kind, 0.0)) / units, 1)
            for app, counts in after.items()
        }
        per_app = {k: v for k, v in sorted(per_app.items(), key=lambda kv: -kv[1]) if v > 0}
        out[kind] = {"all": round(sum(per_app.values()), 1), **per_app}
    return out


def cpu_per_unit(before: dict[str, float], after: dict[str, float], units: int) -> dict[str, float]:
    """CPU-milliseconds per unit of work (a page, a checkout) by part, largest first."""
    if units <= 0:
        return {}
    spent = {k: (after.get(k, 0.0) - before.get(k, 0.0)) * 1000 / units for k in after}
    return dict(
        sorted(((k, round(v, 2)) for k, v in spent.items() if v > 0), key=lambda kv: -kv[1])
    )


def sidecars_apart(spent: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """`cpu_per_unit` of `cpu_seconds(..., by_sidecar=True)` as (the parts with the
    sidecars summed as `sidecars`, largest first; each sidecar's own share)."""
    each = {k.removeprefix("daprd:"): v for k, v in spent.items() if k.startswith("daprd:")}
    parts = {k: v for k, v in spent.items() if not k.startswith("daprd:")}
    parts["sidecars"] = round(sum(each.values()), 2)
    return dict(sorted(parts.items(), key=lambda kv: -kv[1])), each


def table(results: dict[str, dict[str, Any]]) -> None:
    print("| scenario | requests | errors | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['requests']} | {r['errors']} | {r['rps']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} |"
        )


def save_results(name: str, args: Any, results: dict[str, Any]) -> Path:
    """bench-results/<name>.json: the figures with the arguments that produced them."""
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path.write_text(json.dumps({"args": vars(args), "results": results, "at": at}, indent=2))
    return path
