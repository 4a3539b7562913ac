"""Benchmark: sales analytics over a generated year of orders.

    ./taskw bench:analytics                      # in-process: events -> read model -> reports
    ./taskw bench:analytics -- --orders 200000   # a busier year
    ./taskw bench:analytics -- --cluster         # also through storefront + sidecars

The year is generated (scripts/sales_history.py) as the events the apps publish
(OrderCreated, OrderPaid, a partial refund on 5% of the orders, 3% never paid) plus shopper
activity (three sessions and about ten steps per order), and fed through the same code the
backoffice subscription runs (`AnalyticsService` over an in-memory store), so ingestion is
measured too. Then each report is timed cold (building the pandas frames from the records)
and warm (the frames kept, as between two changes). With `--cluster` the same records are
written to backoffice's state store and the seed 004 endpoints are timed through the
storefront (staff token, gateway, service invocation, backoffice), the first call loading
the read model from PostgreSQL.
Writes bench-results/analytics.json.
"""

import argparse
import asyncio
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from apps.backoffice.analytics import domain, report
from apps.backoffice.analytics.export import export_table, to_csv, to_xlsx
from apps.backoffice.analytics.service import AnalyticsService
from apps.contracts.analytics import ActivityBatch
from apps.contracts.events import EventEnvelope
from bench.common import pct, save_results
from scripts import sales_history
from tests.fakes.analytics import FixedCatalog, MemorySalesRecords

END = sales_history.year_end()
START = END - timedelta(days=364)


def generate(orders: int, products: int, seed: int) -> tuple[list[EventEnvelope], list[Any]]:
    rng = random.Random(seed)
    catalog = [
        (
            f"p-{i:05d}",
            Decimal(rng.randrange(199, 99_999)) / 100,
            f"cat-{i % 24:02d}",
            f"Product {i}",
        )
        for i in range(products)
    ]
    return sales_history.generate(orders, catalog, seed, END)


def timed(fn: Any, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(pct(samples, 95), 2),
        "max_ms": round(max(samples), 2),
    }


async def in_process(args: argparse.Namespace) -> tuple[dict[str, Any], MemorySalesRecords]:
    events, activity = generate(args.orders, args.products, args.seed)
    records = MemorySalesRecords()
    categories = {f"p-{i:05d}": f"cat-{i % 24:02d}" for i in range(args.products)}
    svc = AnalyticsService(records, FixedCatalog(categories), 3600, "USD")
    t0 = time.perf_counter()
    for e in events:
        await svc.on_order_event(e)
    ingest = time.perf_counter() - t0
    for at in range(0, len(activity), 5000):
        await svc.record_activity(
            ActivityBatch(batch_id=f"bench-{at:09d}", events=activity[at : at + 5000])
        )
    t0 = time.perf_counter()
    frames = await svc.frames()
    build_ms = (time.perf_counter() - t0) * 1000
    start, end = START.date(), END.date()
    month = end - timedelta(days=29)
    year_by_day = report.sales(frames, start, end, "day", "USD")
    table = export_table(year_by_day)
    reports = {
        "sales (year, by day)": lambda: report.sales(frames, start, end, "day", "USD"),
        "sales (year, by month)": lambda: report.sales(frames, start, end, "month", "USD"),
        "sales (30 days, by day)": lambda: report.sales(frames, month, end, "day", "USD"),
        "products/top (year)": lambda: report.top_products(frames, start, end, 10, "revenue"),
        "categories (year)": lambda: report.categories(frames, start, end),
        "conversion (year)": lambda: report.conversion(frames, start, end),
        "export csv (year, by day)": lambda: to_csv(
            export_table(report.sales(frames, start, end, "day", "USD"))
        ),
        "export xlsx (year, by day)": lambda: to_xlsx(table, year_by_day),
    }
    results: dict[str, Any] = {
        "orders generated": args.orders,
        "sales in the read model": len(frames.orders),
        "order lines": len(frames.lines),
        "activity events": len(frames.activity),
        "events ingested": len(events),
        "ingest events/s (in-process, memory store)": round(len(events) / ingest),
        "frames build ms (cold)": round(build_ms, 1),
    }
    for name, fn in reports.items():
        results[name] = timed(fn, args.repeat)
    # The year's figures must equal a recomputation straight from the records.
    sales = [r for r in records.orders.values() if domain.is_sale(r)]
    assert year_by_day.totals.orders == len(sales)
    assert year_by_day.totals.revenue == report.money(sum(r["total"] for r in sales))
    # What an event costs the next report: 50 more paid orders, applied as a delta.
    more, _ = generate(50, args.products, args.seed + 1)
    for e in more:
        e.data["order_id"] = "x" + e.data["order_id"]
        await svc.on_order_event(e)
    t0 = time.perf_counter()
    frames = await svc.frames()
    report.sales(frames, start, end, "day", "USD")
    results["50 new orders, then sales (year, by day) ms"] = round(
        (time.perf_counter() - t0) * 1000, 1
    )
    return results, records


def through_cluster(args: argparse.Namespace, records: MemorySalesRecords) -> dict[str, Any]:
    from apps.contracts.names import Component
    from bench.common import start_cluster

    cluster = start_cluster()
    try:
        docs = [(domain.order_key(k), v) for k, v in records.orders.items()]
        docs += [(domain.batch_key(k), v) for k, v in records.batches.items()]
        with cluster.sidecar("backoffice", timeout=120) as sidecar:
            sales_history.write_documents(sidecar, "", Component.STATE.value, docs)
        start, end = START.date().isoformat(), END.date().isoformat()
        paths = {
            "GET sales (year, by day)": "/api/staff/analytics/sales?granularity=day",
            "GET sales (year, by month)": "/api/staff/analytics/sales?granularity=month",
            "GET products/top": "/api/staff/analytics/products/top?sort_by=revenue",
            "GET categories": "/api/staff/analytics/categories",
            "GET conversion": "/api/staff/analytics/conversion",
            "GET export csv": "/api/staff/reports/sales/export?format=csv",
            "GET export xlsx": "/api/staff/reports/sales/export?format=xlsx",
        }
        # A restart loads the year from PostgreSQL in the background (warm-up).
        t0 = time.perf_counter()
        cluster.restart_app("backoffice")
        cluster.wait_ready("backoffice")
        results: dict[str, Any] = {}
        want = sum(1 for v in records.orders.values() if domain.is_sale(v))
        with cluster.client("storefront", timeout=300) as api:
            period = {"start_date": start, "end_date": end}
            while True:
                r = api.get("/api/staff/analytics/sales", params=period)
                if r.status_code == 200 and r.json()["totals"]["orders"] == want:
                    break
                assert time.perf_counter() - t0 < 900, f"the year was not answered: {r.text}"
                time.sleep(0.5)
            results["restart until the year is answered (load from PostgreSQL) s"] = round(
                time.perf_counter() - t0, 1
            )
            for name, path in paths.items():

                def call(path: str = path) -> None:
                    got = api.get(path, params=period)
                    assert got.status_code == 200, got.text

                results[name] = timed(call, args.repeat)
        return results
    finally:
        cluster.stop()
        cluster.remove()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="orders over the year")
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20, help="timings per report")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--cluster", action="store_true", help="also through the storefront")
    args = parser.parse_args()
    results, records = asyncio.run(in_process(args))
    for name, value in results.items():
        print(f"{name}: {value}", flush=True)
    if args.cluster:
        results["cluster"] = through_cluster(args, records)
        for name, value in results["cluster"].items():
            print(f"cluster {name}: {value}")
    print(f"written to {save_results('analytics', args, results)}")


if __name__ == "__main__":
    main()
