"""The forecast app through Dapr: forecasts and reorder points for the catalog's SKUs, and
the shop's own paid orders (order-events) extending the history, counted once."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.catalog import seed as catalog_seed
from tests import factories
from tests.harness import Cluster, eventually

SKU = next(catalog_seed.products(count=1)).variants[0].sku


def _forecast(cluster: Cluster, **body: Any) -> Any:
    with cluster.invoker("forecast") as app:
        return app.post("/forecast", json={"sku": SKU, **body})


def test_forecast_and_reorder_point_through_dapr(cluster: Cluster) -> None:
    resp = _forecast(cluster, horizon_days=14, lead_time_days=7, service_level=0.95)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["days"]) == 14 and body["model_version"].startswith("forecast-f")
    assert all(d["low"] <= d["expected"] <= d["high"] for d in body["days"])
    expected = body["lead_time_demand"] + body["safety_stock"]
    assert body["reorder_point"] == pytest.approx(expected, abs=0.002)
    assert body["safety_stock"] > 0


def test_unknown_sku_and_bad_requests(cluster: Cluster) -> None:
    with cluster.invoker("forecast") as app:
        assert app.post("/forecast", json={"sku": "NO-SUCH-SKU"}).status_code == 404
        for bad in ({"sku": SKU, "horizon_days": 90}, {"sku": SKU, "service_level": 2}, {}):
            resp = app.post("/forecast", json=bad)
            assert resp.status_code == 422, bad
            assert resp.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"


def test_paid_orders_extend_the_history_once(cluster: Cluster) -> None:
    before = _forecast(cluster).json()
    event = factories.order_paid(sku=SKU, quantity=3, line_total="30.00")
    cluster.publish("order-events", event, times=2)  # a redelivery

    def extended() -> dict[str, Any]:
        after = _forecast(cluster).json()
        assert after["origin"] == datetime.now(UTC).date().isoformat()
        return after

    after = eventually(extended, timeout=20)
    assert after["history_days"] > before["history_days"]
    with cluster.sidecar("forecast") as dapr:
        doc = dapr.get(f"/v1.0/state/statestore/sales:{SKU}").json()
    assert list(doc["days"].values()) == [3]  # counted once
