"""Customer returns on real sidecars: orders invokes catalog's `POST /inventory/{order_id}/
returns`; the units of a committed order are on hand again exactly once per return id, never
more than the order took, with the events on `inventory-events`."""

import json
from typing import Any

import httpx

from tests import factories
from tests.harness import Cluster, eventually


def _catalog(cluster: Cluster) -> httpx.Client:
    """The orders app's view: invoke `catalog` through the orders sidecar."""
    return cluster.invoker("catalog", via="orders", timeout=30)


def _on_hand(cluster: Cluster, product_id: str) -> int:
    with cluster.client("storefront") as api:
        resp = api.get(f"/api/products/{product_id}/inventory")
        assert resp.status_code == 200, resp.text
        return int(resp.json()["variants"][0]["on_hand"])


def _events(cluster: Cluster, event_type: str, **data: Any) -> list[dict[str, Any]]:
    """The envelopes of `event_type` on `inventory-events` whose data has the fields `data`."""
    found = []
    for line in cluster.stream("inventory-events").splitlines():
        if not line.startswith("{"):
            continue
        envelope = json.loads(line).get("data")
        if isinstance(envelope, str):
            envelope = json.loads(envelope)
        if not isinstance(envelope, dict) or envelope.get("event_type") != event_type:
            continue
        if all(envelope["data"].get(k) == v for k, v in data.items()):
            found.append(envelope)
    return found


def _sold(cluster: Cluster, catalog: httpx.Client, quantity: int) -> tuple[str, str, str]:
    """A product with 10 units of its first variant and a committed order for `quantity`."""
    body = factories.product()
    body["variants"][0]["stock"], body["variants"][1]["stock"] = 10, 3
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=body).status_code == 201
    sku, order = body["variants"][0]["sku"], factories.ref("o")
    reserved = catalog.post(
        "/inventory/reservations",
        json={"order_id": order, "lines": [{"sku": sku, "quantity": quantity}]},
    )
    assert reserved.status_code == 201, reserved.text
    committed = catalog.post(f"/inventory/reservations/{order}/commit")
    assert committed.status_code == 200 and committed.json()["status"] == "committed"
    assert _on_hand(cluster, body["product_id"]) == 10 - quantity
    return body["product_id"], sku, order


def _ret(return_id: str, sku: str, quantity: int) -> dict[str, Any]:
    return {"return_id": return_id, "lines": [{"sku": sku, "quantity": quantity}]}


def test_a_return_is_back_on_hand_exactly_once_and_never_beyond_the_sale(cluster: Cluster) -> None:
    with _catalog(cluster) as catalog:
        product_id, sku, order = _sold(cluster, catalog, 3)
        first_id = factories.ref("ret")

        first = catalog.post(f"/inventory/{order}/returns", json=_ret(first_id, sku, 2))
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "committed"
        assert first.json()["returned"] == {first_id: [{"sku": sku, "quantity": 2}]}
        assert _on_hand(cluster, product_id) == 9
        returned = eventually(lambda: _events(cluster, "StockReturned", return_id=first_id))
        assert returned[0]["data"]["order_id"] == order
        assert returned[0]["data"]["lines"] == [{"sku": sku, "quantity": 2}]
        level = eventually(
            lambda: _events(cluster, "StockLevelChanged", sku=sku, reason="returned", on_hand=9)
        )
        assert level[0]["data"]["available"] == 9

        again = catalog.post(f"/inventory/{order}/returns", json=_ret(first_id, sku, 2))
        assert again.status_code == 200 and again.json() == first.json()
        assert _on_hand(cluster, product_id) == 9
        assert len(_events(cluster, "StockReturned", return_id=first_id)) == 1

        reused = catalog.post(f"/inventory/{order}/returns", json=_ret(first_id, sku, 1))
        assert reused.status_code == 409, reused.text
        too_many_id = factories.ref("ret")
        too_many = catalog.post(f"/inventory/{order}/returns", json=_ret(too_many_id, sku, 2))
        assert too_many.status_code == 409, too_many.text
        assert too_many.json()["error"]["details"]["over"] == [
            {"sku": sku, "committed": 3, "returned": 2, "requested": 2}
        ]
        assert _on_hand(cluster, product_id) == 9
        assert _events(cluster, "StockReturned", return_id=too_many_id) == []

        last_id = factories.ref("ret")
        last = catalog.post(f"/inventory/{order}/returns", json=_ret(last_id, sku, 1))
        assert last.status_code == 200, last.text
        assert set(last.json()["returned"]) == {first_id, last_id}
        assert _on_hand(cluster, product_id) == 10
        assert catalog.get(f"/inventory/reservations/{order}").json() == last.json()


def test_returns_of_unsold_or_unknown_orders_and_bad_bodies_are_refused(cluster: Cluster) -> None:
    with _catalog(cluster) as catalog:
        product_id, sku, _ = _sold(cluster, catalog, 1)
        held = factories.ref("o")
        catalog.post(
            "/inventory/reservations",
            json={"order_id": held, "lines": [{"sku": sku, "quantity": 2}]},
        ).raise_for_status()
        not_sold = catalog.post(
            f"/inventory/{held}/returns", json=_ret(factories.ref("ret"), sku, 1)
        )
        assert not_sold.status_code == 409
        assert not_sold.json()["error"]["details"]["status"] == "reserved"
        unknown = catalog.post("/inventory/o-none/returns", json=_ret(factories.ref("ret"), sku, 1))
        assert unknown.status_code == 404
        for body in (
            _ret("not-a-return-id", sku, 1),
            _ret(factories.ref("ret"), sku, 0),
            {"return_id": factories.ref("ret"), "lines": []},
            {**_ret(factories.ref("ret"), sku, 1), "extra": True},
        ):
            assert catalog.post(f"/inventory/{held}/returns", json=body).status_code == 400, body
        assert _on_hand(cluster, product_id) == 9
