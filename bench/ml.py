"""Benchmark `task bench:ml`: model latency in-process and through Dapr, and throughput.

    ./taskw bench:ml
    ./taskw bench:ml -- --seconds 10 --concurrency 8

For each ML app: p50/p99 of one call in-process (fraud: features, ensemble and the
explanation; forecast: 14 days with intervals and the reorder point; pricing: a guarded,
explained suggestion; recommendations: ten "for you" picks), then through Dapr the
way another app calls it (its own sidecar -> the app's sidecar -> the app) with 1 client
(latency) and N clients (throughput).
Writes bench-results/ml.json.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from apps.contracts.forecast import ForecastRequest
from apps.contracts.fraud import FraudContext
from apps.contracts.pricing import SuggestRequest
from apps.forecast.model import ForecastModel
from apps.forecast.service import ForecastService
from apps.forecast.settings import get_settings as get_forecast_settings
from apps.fraud.model import FraudModel
from apps.fraud.service import FraudScorer
from apps.fraud.settings import get_settings
from apps.pricing.service import PricingModel, PricingService
from apps.pricing.settings import get_settings as get_pricing_settings
from apps.recommendations.model import RecoModel
from apps.recommendations.service import RecommendationService
from apps.recommendations.settings import get_settings as get_reco_settings
from bench.common import closed_loop_calls, pct, save_results, start_cluster, table
from tests.unit.test_fraud import context


def fraud_in_process(requests: int) -> dict[str, Any]:
    scorer = FraudScorer(FraudModel.load(get_settings().model_dir), 0.3, 0.8, 5)
    samples = [FraudContext(**context(amount=20.0 + n, hour=n % 24)) for n in range(50)]
    return timed(lambda n: scorer.score(samples[n % len(samples)]), requests)


def forecast_in_process(requests: int) -> tuple[dict[str, Any], list[str]]:
    model, histories = ForecastModel.load(get_forecast_settings().model_dir)
    service = ForecastService(model, histories, _NoLiveSales())
    skus = sorted(histories)
    reqs = [ForecastRequest(sku=sku, horizon_days=14) for sku in skus]
    result = timed(lambda n: asyncio.run(service.forecast(reqs[n % len(reqs)])), requests)
    return result, skus


def pricing_in_process(requests: int, skus: list[str]) -> dict[str, Any]:
    service = PricingService(PricingModel.load(get_pricing_settings().model_dir))
    reqs = [SuggestRequest(sku=sku) for sku in skus]
    return timed(lambda n: service.suggest(reqs[n % len(reqs)]), requests)


def recommendations_in_process(requests: int) -> tuple[dict[str, Any], list[str]]:
    model = RecoModel.load(get_reco_settings().model_dir)
    service = RecommendationService(model, _NoLivePurchases())
    users = model.user_ids[:200]
    result = timed(lambda n: asyncio.run(service.for_user(users[n % len(users)], 10)), requests)
    return result, users


class _NoLivePurchases:
    async def of(self, user_id: str) -> list[str]:
        return []

    async def record(self, event_id: str, user_id: str, product_ids: list[str]) -> None:
        return None


class _NoLiveSales:
    async def daily(self, sku: str) -> dict[date, int]:
        return {}

    async def record(self, event_id: str, day: date, units: dict[str, int]) -> None:
        return None


def timed(call: Callable[[int], object], requests: int) -> dict[str, Any]:
    for n in range(50):  # warm-up
        call(n)
    latencies = []
    started = time.perf_counter()
    for n in range(requests):
        t0 = time.perf_counter()
        call(n)
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

    results: dict[str, Any] = {"fraud score, in-process": fraud_in_process(args.in_process)}
    forecast_result, skus = forecast_in_process(args.in_process // 5)
    results["forecast 14 days, in-process"] = forecast_result
    results["price suggestion, in-process"] = pricing_in_process(args.in_process, skus)
    reco, users = recommendations_in_process(args.in_process // 5)
    results["for-you 10, in-process"] = reco
    print(results, flush=True)
    cluster = start_cluster()
    try:
        caller = cluster.apps["checkout"].dapr_url
        scenarios = {
            "fraud score": [
                ("POST", f"{caller}/v1.0/invoke/fraud/method/score", context(amount=20.0 + n))
                for n in range(50)
            ],
            "forecast 14 days": [
                ("POST", f"{caller}/v1.0/invoke/forecast/method/forecast", {"sku": sku})
                for sku in skus
            ],
            "price suggestion": [
                ("POST", f"{caller}/v1.0/invoke/pricing/method/suggest", {"sku": sku})
                for sku in skus
            ],
            "for-you 10": [
                ("GET", f"{caller}/v1.0/invoke/recommendations/method/for-you/{u}", None)
                for u in users
            ],
        }
        for label, calls in scenarios.items():
            asyncio.run(closed_loop_calls(calls, 2, 1, 500))  # warm-up
            for clients in (1, args.concurrency):
                name = f"{label} through Dapr ({clients} client{'s' if clients > 1 else ''})"
                results[name] = asyncio.run(
                    closed_loop_calls(calls, args.seconds, clients, 100_000)
                )
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
    for label in ("fraud score", "forecast 14 days", "price suggestion", "for-you 10"):
        inproc, one = results[f"{label}, in-process"], results[f"{label} through Dapr (1 client)"]
        print(
            f"{label}: Dapr adds {one['p50_ms'] - inproc['p50_ms']:.2f} ms at p50 (1 client); "
            f"p99 through Dapr {one['p99_ms']} ms"
        )


if __name__ == "__main__":
    main()
