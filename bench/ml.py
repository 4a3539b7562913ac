"""Benchmark `task bench:ml`: model latency in-process and through Dapr, and throughput.

    ./taskw bench:ml
    ./taskw bench:ml -- --seconds 10 --concurrency 8

For each ML app (fraud now): p50/p99 of one scoring in-process (features, ensemble and the
explanation), then through Dapr the way checkout calls it (its own sidecar -> the fraud
app's sidecar -> the app) with 1 client (latency) and N clients (throughput).
Writes bench-results/ml.json.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from typing import Any

from apps.contracts.fraud import FraudContext
from apps.fraud.model import FraudModel
from apps.fraud.service import FraudScorer
from apps.fraud.settings import get_settings
from bench.common import closed_loop_calls, pct, save_results, start_cluster, table
from tests.unit.test_fraud import context


def in_process(requests: int) -> dict[str, Any]:
    settings = get_settings()
    scorer = FraudScorer(FraudModel.load(settings.model_dir), 0.3, 0.8, 5)
    samples = [FraudContext(**context(amount=20.0 + n, hour=n % 24)) for n in range(50)]
    for ctx in samples:  # warm-up
        scorer.score(ctx)
    latencies = []
    started = time.perf_counter()
    for n in range(requests):
        t0 = time.perf_counter()
        scorer.score(samples[n % len(samples)])
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "errors": 0,
        "rps": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(pct(latencies, 95), 3),
        "p99_ms": round(pct(latencies, 99), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--in-process", type=int, default=5000)
    args = parser.parse_args()

    results: dict[str, Any] = {"fraud score, in-process": in_process(args.in_process)}
    print(f"in-process: {results['fraud score, in-process']}", flush=True)
    cluster = start_cluster()
    try:
        url = f"{cluster.apps['checkout'].dapr_url}/v1.0/invoke/fraud/method/score"
        calls = [("POST", url, context(amount=20.0 + n, hour=n % 24)) for n in range(50)]
        asyncio.run(closed_loop_calls(calls, 2, 1, 500))  # warm-up
        for clients in (1, args.concurrency):
            name = f"fraud score through Dapr ({clients} client{'s' if clients > 1 else ''})"
            results[name] = asyncio.run(closed_loop_calls(calls, args.seconds, clients, 100_000))
            print(f"{name}: {results[name]}", flush=True)
        save_results("ml", args, results)
    finally:
        cluster.stop()
        cluster.remove()

    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.seconds:.0f} s per Dapr scenario\n"
    )
    table(results)
    inproc, one = results["fraud score, in-process"], list(results.values())[1]
    print(
        f"\nDapr overhead at 1 client: p50 {one['p50_ms'] - inproc['p50_ms']:.2f} ms, "
        f"p99 {one['p99_ms'] / inproc['p99_ms']:.1f}x in-process (target: p99 < 20 ms)"
    )


if __name__ == "__main__":
    main()
