"""Loads the generated catalog (apps/catalog/seed.py) into a running catalog, in batches,
through the catalog's Dapr sidecar.

    ./taskw seed                                  # 10,000 products, fixed seed
    ./taskw seed -- --products 100000             # a large catalog for benchmarks
    ./taskw seed -- --sales-year 100000           # also a year of 100,000 orders for analytics
    ./taskw seed -- --sales-year 100000 --no-catalog
    .venv/bin/python -m scripts.seed --if-empty   # what `./taskw up` runs

--if-empty skips a catalog that was seeded before (a marker written after the last batch).
--sales-year N writes a generated year of N orders (and their shoppers' steps) into the
backoffice's sales read model (see scripts/sales_history.py: analytics only, the orders app
does not hold them), prints the year's totals computed straight from the events, and keeps
the events in .cache/sales-history/events-<seed>.jsonl for a recomputation of your own.
"""

import argparse
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import yaml

from apps.backoffice.analytics import domain
from apps.catalog.seed import DEFAULT_SEED, categories, products
from apps.contracts.catalog import ProductStatus
from apps.contracts.names import Component
from scripts import sales_history, sidecar_token

ROOT = Path(__file__).resolve().parents[1]


def app_sidecar(app_id: str = "catalog") -> str:
    apps = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    port = next(a["daprHTTPPort"] for a in apps if a["appID"] == app_id)
    return f"http://127.0.0.1:{port}"


def seed_sales(http: httpx.Client, args: argparse.Namespace) -> None:
    """A generated year of orders over the seeded catalog's active products, into the
    backoffice's read model."""
    started = time.perf_counter()
    sellable = [
        (p.product_id, p.price.amount, p.category_slug, p.name)
        for p in islice(products(args.products, args.seed), 2000)
        if p.status == ProductStatus.ACTIVE
    ]
    events, activity = sales_history.generate(args.sales_year, sellable, args.seed)
    categories_of = {p[0]: p[2] for p in sellable}
    records = sales_history.records_of(events, categories_of)
    prefix = f"history-{args.seed}"
    docs: list[tuple[str, Any]] = [(domain.order_key(k), v) for k, v in records.items()]
    docs += [
        (domain.batch_key(d["batch_id"]), d)
        for d in sales_history.batch_documents(activity, prefix)
    ]
    print(f"    generated {len(events)} order events, {len(activity)} shopper steps", flush=True)
    sidecar = args.backoffice_sidecar or app_sidecar("backoffice")
    sales_history.write_documents(http, sidecar, Component.STATE.value, docs)
    kept = ROOT / ".cache" / "sales-history" / f"events-{args.seed}.jsonl"
    sales_history.save_events(events, kept)
    totals = sales_history.expected_totals(events)
    print(
        f"    sales year seeded: {len(docs)} documents in {time.perf_counter() - started:.1f} s; "
        f"from the events: {totals['orders']} paid orders, revenue {totals['revenue']}, "
        f"refunds {totals['refunds']}, net {totals['net']} (events in {kept.relative_to(ROOT)}); "
        "backoffice shows them after its next reload (BACKOFFICE_ANALYTICS_REFRESH_SECONDS)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--if-empty", action="store_true")
    parser.add_argument(
        "--sales-year", type=int, default=0, help="also a generated year of N orders (analytics)"
    )
    parser.add_argument("--no-catalog", action="store_true", help="skip the catalog")
    parser.add_argument(
        "--backoffice-sidecar", default=None, help="Dapr HTTP base URL (default: backoffice's)"
    )
    parser.add_argument("--sidecar", default=None, help="Dapr HTTP base URL (default: catalog's)")
    parser.add_argument(
        "--dapr-api-token",
        default=sidecar_token.local_token(),
        help="the sidecar's API token (default: $DAPR_API_TOKEN, else .run/dapr-api-token)",
    )
    args = parser.parse_args(argv)
    if args.sales_year < 0:
        parser.error("--sales-year must be >= 0")
    with httpx.Client(timeout=120, headers=sidecar_token.headers(args.dapr_api_token)) as http:
        if not args.no_catalog:
            seed_catalog(http, args)
        if args.sales_year:
            seed_sales(http, args)
    return 0


def seed_catalog(http: httpx.Client, args: argparse.Namespace) -> None:
    base = f"{args.sidecar or app_sidecar()}/v1.0/invoke/catalog/method/admin/seed"
    started = time.perf_counter()
    status = http.get(base).raise_for_status().json()
    if status["seeded"] and args.if_empty:
        print(f"    catalog already seeded ({status['products']} products); skipping")
        return
    http.post(
        f"{base}/batches",
        json={"categories": [c.model_dump(mode="json") for c in categories()]},
    ).raise_for_status()
    generated = products(args.products, args.seed)
    done = 0
    while batch := list(islice(generated, args.batch)):
        http.post(
            f"{base}/batches", json={"products": [p.model_dump(mode="json") for p in batch]}
        ).raise_for_status()
        done += len(batch)
        if done % 2000 == 0 or done == args.products:
            print(
                f"    seeded {done}/{args.products} products "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    http.put(base, json={"products": done, "seed": args.seed}).raise_for_status()
    # The instance that answers reloads now; other replicas at their next refresh.
    http.post(base.replace("/admin/seed", "/admin/index/reload")).raise_for_status()
    print(
        f"    catalog seeded: {done} products, {len(categories())} categories "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
