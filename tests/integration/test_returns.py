"""Issue 14, returns and refunds on the real cluster: a delivered order's partial return is
approved, travels back with the simulated carrier, its units go back in stock and the exact
partial refund is issued once and emailed; more than was bought, or after the window, is
refused and changes nothing. (The test cluster's return window is ~50 s: see APP_ENV.)"""

from decimal import Decimal
from typing import Any

import httpx

from tests import factories, webhooks
from tests.harness import Cluster, eventually

Json = dict[str, Any]


def _delivered_order(cluster: Cluster, api: httpx.Client, quantity: int) -> tuple[Json, str, Json]:
    order_id, email, product = webhooks.paid_order(cluster, api, quantity=quantity)

    def delivered() -> Json:
        order = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
        assert order["status"] == "delivered", order["status"]
        return dict(order)

    return eventually(delivered, timeout=90, interval=0.3), email, product


def _on_hand(cluster: Cluster, product_id: str) -> int:
    with cluster.invoker("catalog") as catalog:
        stock = catalog.get(f"/products/{product_id}/inventory").json()
    return int(stock["variants"][0]["on_hand"])


def _payment(cluster: Cluster, order_id: str) -> Json:
    with cluster.invoker("payments") as payments:
        return dict(payments.get(f"/payments/{order_id}").json())


def test_a_partial_return_restocks_and_refunds_exactly_once(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order, email, product = _delivered_order(cluster, api, quantity=3)
        order_id = order["order_id"]
        on_hand = _on_hand(cluster, product["product_id"])
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "reason": "damaged",
        }
        url = f"/api/orders/{order_id}/returns"

        # More than was bought: refused, nothing recorded.
        over = api.post(url, json={"email": email, "lines": [{**line, "quantity": 4}]})
        assert over.status_code in (400, 422), over.text
        assert api.get(url, params={"email": email}).json() == []
        # A stranger cannot return someone else's order.
        stranger = api.post(
            url, json={"email": factories.email(), "lines": [{**line, "quantity": 1}]}
        )
        assert stranger.status_code == 404

        key = {"Idempotency-Key": factories.ref("ret")}
        asked = api.post(
            url, json={"email": email, "lines": [{**line, "quantity": 2}]}, headers=key
        )
        assert asked.status_code == 201, asked.text
        ret = asked.json()
        again = api.post(
            url, json={"email": email, "lines": [{**line, "quantity": 2}]}, headers=key
        )
        assert again.status_code in (200, 201) and again.json()["return_id"] == ret["return_id"]
        assert len(api.get(url, params={"email": email}).json()) == 1
        # Two of three units: their share of the goods (after discount, with tax), no shipping.
        totals = order["totals"]
        goods = Decimal(totals["total"]) - Decimal(totals["shipping"])
        share = (goods * Decimal(2) / Decimal(3)).quantize(Decimal("0.01"))
        assert Decimal(ret["refund_amount"]) == share and Decimal(ret["shipping_refund"]) == 0
        assert ret["status"] == "requested"
        # Two more units than are left after this return: refused.
        rest = api.post(url, json={"email": email, "lines": [{**line, "quantity": 2}]})
        assert rest.status_code in (400, 422), rest.text

        listed = api.get("/api/staff/returns", params={"order_id": order_id}).json()
        assert [r["return_id"] for r in listed["items"]] == [ret["return_id"]]
        approved = api.put(f"/api/staff/returns/{ret['return_id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        shipment_id = approved.json()["return_shipment_id"]

        def refunded() -> Json:
            r = api.get(f"/api/staff/returns/{ret['return_id']}").json()
            assert r["status"] == "refunded", r["status"]
            return dict(r)

        done = eventually(refunded, timeout=90, interval=0.5)
        assert Decimal(done["refunded_amount"]) == share
        label = api.get(f"/api/staff/shipments/{shipment_id}").json()
        assert label["kind"] == "return" and label["status"] == "delivered"
        assert label["destination"]["city"] == "Memphis"  # the warehouse
        assert _on_hand(cluster, product["product_id"]) == on_hand + 2

        def order_refunded() -> Json:
            o = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
            assert o["status"] == "partially_refunded", o["status"]
            return dict(o)

        final = eventually(order_refunded, timeout=30)
        assert Decimal(final["refunded_amount"]) == share
        payment = _payment(cluster, order_id)
        assert Decimal(payment["refunded_amount"]) == share
        assert len([r for r in payment["refunds"] if r["key"] == f"return:{ret['return_id']}"]) == 1
        # Approving again changes nothing more: one refund, stock as it is.
        assert api.put(f"/api/staff/returns/{ret['return_id']}/approve").status_code == 409
        assert _on_hand(cluster, product["product_id"]) == on_hand + 2

        def emailed() -> list[str]:
            subjects = [m["Subject"] for m in cluster.mails(email)]
            assert any("arrived" in s for s in subjects), subjects
            assert any(s.startswith("Refund issued") for s in subjects), subjects
            return subjects

        subjects = eventually(emailed, timeout=60, interval=1)
        assert sum("return request" in s for s in subjects) == 1
        assert sum("is approved" in s for s in subjects) == 1


def test_a_rejected_return_changes_nothing_and_the_window_closes(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order, email, product = _delivered_order(cluster, api, quantity=1)
        order_id = order["order_id"]
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "quantity": 1,
        }
        url = f"/api/orders/{order_id}/returns"
        asked = api.post(url, json={"email": email, "lines": [line]})
        assert asked.status_code == 201, asked.text
        rid = asked.json()["return_id"]
        no_reason = api.put(f"/api/staff/returns/{rid}/reject", json={})
        assert no_reason.status_code in (400, 422)
        rejected = api.put(f"/api/staff/returns/{rid}/reject", json={"reason": "Item was used"})
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
        assert _payment(cluster, order_id)["refunded_amount"] == "0.00"

        # Once the window closes the order completes and takes no more returns.
        def completed() -> Json:
            o = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
            assert o["status"] == "completed", o["status"]
            return dict(o)

        eventually(completed, timeout=120, interval=1)
        late = api.post(url, json={"email": email, "lines": [line]})
        assert late.status_code == 409, late.text
        assert len(api.get(url, params={"email": email}).json()) == 1
