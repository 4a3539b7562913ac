"""`task seed` against real sidecars: batches land, the marker makes a second run skip, and
stock records start from the generated variants."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from apps.contracts.events import EventEnvelope
from tests.harness import Cluster, eventually

ROOT = Path(__file__).resolve().parents[2]


def test_seed_loads_once_and_products_are_served(cluster: Cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cluster.seed("--products", "300", "--batch", "100") == 0
    assert cluster.seed("--if-empty") == 0
    assert "already seeded (300 products)" in capsys.readouterr().out
    with cluster.client("storefront") as api:
        product = api.get("/api/staff/products/prod-000042").json()  # any status
        inventory = api.get("/api/products/prod-000042/inventory").json()
    assert product["name"]
    assert [v["on_hand"] for v in inventory["variants"]] == [
        v["stock"] for v in product["variants"]
    ]
    with cluster.invoker("catalog", via="catalog") as catalog:
        assert catalog.get("/admin/seed").json()["products"] == 300


def test_a_seeded_sales_year_is_what_the_reports_answer(cluster: Cluster) -> None:
    """`seed --sales-year N`: the reports of a past window equal the figures computed straight
    from the events the seed generated (the read model's rules are not used to check them)."""
    from scripts import sales_history

    seed = 9_000 + os.getpid() % 1000  # ids of its own: a rerun on the same store adds nothing
    backoffice = ["--backoffice-sidecar", cluster.apps["backoffice"].dapr_url]
    assert (
        cluster.seed(
            "--products",
            "300",
            "--no-catalog",
            "--sales-year",
            "400",
            "--seed",
            str(seed),
            *backoffice,
        )
        == 0
    )
    events = [
        EventEnvelope.model_validate_json(line)
        for line in (ROOT / ".cache" / "sales-history" / f"events-{seed}.jsonl").open()
    ]
    end = sales_history.year_end().date() - timedelta(days=3)  # clear of other tests' orders
    start = end - timedelta(days=200)
    want = sales_history.expected_totals(events, start, end)
    assert want["orders"] > 100

    def answered() -> bool:
        with cluster.client("storefront") as api:
            r = api.get(
                "/api/staff/analytics/sales",
                params={"start_date": start.isoformat(), "end_date": end.isoformat()},
            )
        assert r.status_code == 200, r.text
        totals = r.json()["totals"]
        got = {k: totals[k] for k in ("orders", "revenue", "refunds", "net")}
        assert {k: str(Decimal(str(v))) for k, v in got.items()} == {
            k: str(Decimal(str(v))) for k, v in want.items()
        }
        return True

    eventually(answered, timeout=120, interval=2)  # backoffice reloads every 30 s
