"""Loads the generated catalog (apps/catalog/seed.py) into a running catalog, in batches,
through the catalog's Dapr sidecar.

    ./taskw seed                                  # 10,000 products, fixed seed
    ./taskw seed -- --products 100000             # a large catalog for benchmarks
    .venv/bin/python -m scripts.seed --if-empty   # what `./taskw up` runs

--if-empty skips a catalog that was seeded before (a marker written after the last batch).
"""

import argparse
import sys
import time
from itertools import islice
from pathlib import Path

import httpx
import yaml

from apps.catalog.seed import DEFAULT_SEED, categories, products
from scripts import sidecar_token

ROOT = Path(__file__).resolve().parents[1]


def catalog_sidecar() -> str:
    apps = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    port = next(a["daprHTTPPort"] for a in apps if a["appID"] == "catalog")
    return f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--if-empty", action="store_true")
    parser.add_argument("--sidecar", default=None, help="Dapr HTTP base URL (default: catalog's)")
    parser.add_argument(
        "--dapr-api-token",
        default=sidecar_token.local_token(),
        help="the sidecar's API token (default: $DAPR_API_TOKEN, else .run/dapr-api-token)",
    )
    args = parser.parse_args(argv)
    base = f"{args.sidecar or catalog_sidecar()}/v1.0/invoke/catalog/method/admin/seed"
    started = time.perf_counter()
    with httpx.Client(timeout=120, headers=sidecar_token.headers(args.dapr_api_token)) as http:
        status = http.get(base).raise_for_status().json()
        if status["seeded"] and args.if_empty:
            print(f"    catalog already seeded ({status['products']} products); skipping")
            return 0
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
