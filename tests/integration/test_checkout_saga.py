"""The checkout saga end to end on real sidecars (Dapr Workflow), PostgreSQL, Redis and
stripe-mock: issue 6's eight failure behaviours. Payment results arrive the way they do in
production: as correctly signed Stripe webhooks (stripe-mock sends none and cannot decline).

The cluster's saga waits CHECKOUT_PAYMENT_TIMEOUT_SECONDS (conftest) for a payment result.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests import factories, webhooks
from tests.cluster import FRAUD_TEST_BANDS
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

Json = dict[str, Any]


# -- helpers -----------------------------------------------------------------------------
def _add_product(api: httpx.Client, stock: int = 10, **kw: Any) -> Json:
    product = factories.product(**kw)
    product["variants"][0]["stock"] = stock
    r = api.post("/api/staff/products", json=product)
    assert r.status_code == 201, r.text
    return product


def _place(api: httpx.Client, body: Json, key: str | None = None, **headers: str) -> str:
    r = api.post(
        "/api/orders",
        json=body,
        headers={"Idempotency-Key": key or factories.ref("idem"), **headers},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["order_id"])


def _done(api: httpx.Client, order_id: str, timeout: float = 90) -> Json:
    def check() -> Json:
        state = api.get(f"/api/staff/checkouts/{order_id}").json()
        assert state["status"] in ("completed", "failed", "terminated"), state
        return state

    state = eventually(check, timeout=timeout)
    assert state["status"] == "completed", state
    return dict(state["result"])


def _payment(cluster: Cluster, order_id: str, timeout: float = 60) -> Json:
    """The order's payment once the saga created it (status processing: waiting)."""

    def check() -> Json:
        with cluster.invoker("payments") as payments:
            r = payments.get(f"/payments/{order_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    return eventually(check, timeout=timeout)


def _no_payment(cluster: Cluster, order_id: str) -> None:
    with cluster.invoker("payments") as payments:
        assert payments.get(f"/payments/{order_id}").status_code == 404


def _pay(cluster: Cluster, order_id: str) -> Json:
    payment = _payment(cluster, order_id)
    r = webhooks.send(cluster, "payment_intent.succeeded", payment)
    assert r.status_code == 200, r.text
    return payment


def _order(api: httpx.Client, order_id: str, email: str) -> Json:
    r = api.get(f"/api/orders/{order_id}", params={"email": email})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _stock(api: httpx.Client, product: Json, variant: int = 0) -> Json:
    r = api.get(f"/api/products/{product['product_id']}/inventory")
    return dict(r.json()["variants"][variant])


def _line(product: Json, quantity: int = 1, variant: int = 0) -> Json:
    return {
        "product_id": product["product_id"],
        "variant_id": product["variants"][variant]["variant_id"],
        "quantity": quantity,
    }


def _transitions(order: Json, to: str) -> int:
    return sum(1 for h in order["history"] if h["to_status"] == to)


# -- 1. happy path ---------------------------------------------------------------------------
def test_cart_checkout_is_paid_committed_cleared_and_announced(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        added = api.post("/api/cart/items", json=_line(product, 3))
        assert added.status_code in (200, 201), added.text
        session = added.headers["X-Session-Id"]
        body = factories.checkout(promo_code="WELCOME10")
        order_id = _place(api, body, **{"X-Session-Id": session})
        payment = _pay(cluster, order_id)
        result = _done(api, order_id)
        assert result["outcome"] == "paid", result
        # 3 x 999.00 = 2997.00; WELCOME10 -299.70; CA 7.25 % of 2697.30 = 195.55; free standard
        totals = result["totals"]
        assert (totals["subtotal"], totals["discount"], totals["tax"]) == (
            "2997.00",
            "299.70",
            "195.55",
        )
        assert (totals["shipping"], totals["total"]) == ("0.00", "2892.85")
        assert payment["amount"] == "2892.85"

        order = _order(api, order_id, body["email"])
        assert order["status"] == "paid" and _transitions(order, "paid") == 1
        assert order["shipping_address"]["postal_code"] == "94105"
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"], level["available"]) == (7, 0, 7)
        cart = api.get("/api/cart", headers={"X-Session-Id": session}).json()
        assert cart["items"] == []
        eventually(lambda: f"{order_id}:placed" in cluster.stream("order-events"), timeout=20)
        assert _payment(cluster, order_id)["status"] == "succeeded"

        # WELCOME10 is once per customer: the same shopper cannot use it again.
        again = api.post(
            "/api/checkout/promo",
            json={"code": "WELCOME10", "subtotal": "100.00", "email": body["email"]},
        ).json()
        assert again["applicable"] is False and "once per customer" in again["reason"]


# -- 2. payment failed ---------------------------------------------------------------------
def test_failed_payment_releases_stock_and_fails_the_order(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(_line(product, 4))
        order_id = _place(api, body)
        payment = _payment(cluster, order_id)
        eventually(lambda: _stock(api, product)["reserved"] == 4, timeout=30)
        r = webhooks.send(
            cluster,
            "payment_intent.payment_failed",
            payment,
            last_payment_error={"message": "Your card was declined."},
        )
        assert r.status_code == 200, r.text
        result = _done(api, order_id)
        assert result["outcome"] == "payment_failed"
        assert result["reason"]["message"] == "Your card was declined."
        order = _order(api, order_id, body["email"])
        assert order["status"] == "payment_failed"
        assert order["cancel_reason"] == "Your card was declined."
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"], level["available"]) == (10, 0, 10)
        settled = _payment(cluster, order_id)
        assert settled["status"] == "failed" and settled["refunded_amount"] == "0.00"


# -- 3. fraud bands ---------------------------------------------------------------------------
@contextmanager
def _fraud_bands(cluster: Cluster, review: str, reject: str) -> Iterator[None]:
    """Run fraud with these thresholds, then with the cluster's own again."""
    cluster.stop_app("fraud")
    cluster.start_app(
        "fraud", env={"FRAUD_REVIEW_THRESHOLD": review, "FRAUD_REJECT_THRESHOLD": reject}
    )
    try:
        yield
    finally:
        cluster.stop_app("fraud")
        cluster.start_app("fraud", env=FRAUD_TEST_BANDS)


def test_fraud_reject_releases_stock_and_review_waits_for_staff(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    # Bands: review from 0.001, reject from 0.5. The risky order scores >= 0.86 at any hour;
    # two 24.00 kettles to a matching address score between 0.003 and 0.30 at any hour.
    with _fraud_bands(cluster, "0.001", "0.5"), cluster.client("storefront") as api:
        laptop = _add_product(api, stock=50, price={"amount": "2400.00", "currency": "USD"})
        risky = factories.checkout(
            _line(laptop, 4),
            email=f"{factories.ref('x')}@mailinator.com",
            billing_address=factories.address(
                country="NL", state="", postal_code="1011 AB", city="Amsterdam"
            ),
        )
        order_id = _place(api, risky)
        result = _done(api, order_id)
        assert result["outcome"] == "rejected", result
        assert result["reason"]["code"] == "FRAUD_REJECTED"
        assert result["reason"]["details"]["score"]["decision"] == "reject"
        order = _order(api, order_id, risky["email"])
        assert order["status"] == "cancelled"
        assert "could not accept" in order["cancel_reason"]
        assert _stock(api, laptop)["available"] == 50
        _no_payment(cluster, order_id)

        kettle = _add_product(
            api,
            category_slug="home-cookware",
            price={"amount": "24.00", "currency": "USD", "tax_rate": "0.0825"},
        )
        held = [_place(api, factories.checkout(_line(kettle, 2))) for _ in range(2)]
        eventually(lambda: _stock(api, kettle)["reserved"] == 4, timeout=30)
        staff = issuer.headers(factories.ref("staff"), "staff")
        customer = issuer.headers(factories.ref("u"), "customer")
        path = f"/api/staff/checkouts/{held[0]}/review"
        assert api.post(path, json={"decision": "approve"}, headers=customer).status_code == 403
        for order_id, decision in zip(held, ("approve", "reject"), strict=True):
            _no_payment(cluster, order_id)  # nothing is charged while the order is held
            r = api.post(
                f"/api/staff/checkouts/{order_id}/review",
                json={"decision": decision, "note": "checked"},
                headers=staff,
            )
            assert r.status_code == 200, r.text
        _pay(cluster, held[0])
        assert _done(api, held[0])["outcome"] == "paid"
        assert _done(api, held[1])["reason"]["code"] == "FRAUD_REJECTED"
        _no_payment(cluster, held[1])
        level = _stock(api, kettle)
        assert (level["on_hand"], level["reserved"]) == (8, 0)
        late = api.post(path, json={"decision": "approve"}, headers=staff)
        assert late.status_code == 409


# -- 4. out of stock -------------------------------------------------------------------------
def test_one_line_short_reserves_nothing_and_says_why(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        plenty, scarce = _add_product(api, stock=10), _add_product(api, stock=1)
        body = factories.checkout(_line(plenty, 2), _line(scarce, 2))
        order_id = _place(api, body)
        result = _done(api, order_id)
        assert result["outcome"] == "rejected"
        assert result["reason"]["code"] == "CONFLICT"
        order = _order(api, order_id, body["email"])
        assert order["status"] == "cancelled" and "stock" in order["cancel_reason"].lower()
        assert _stock(api, plenty)["available"] == 10
        assert _stock(api, scarce)["available"] == 1
        _no_payment(cluster, order_id)


# -- 5. no payment result --------------------------------------------------------------------
def test_payment_result_never_arriving_times_out_and_compensates(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(_line(product, 2))
        order_id = _place(api, body)
        assert _payment(cluster, order_id)["status"] == "processing"
        result = _done(api, order_id, timeout=120)
        assert result["outcome"] == "cancelled"
        assert result["reason"]["message"] == "Payment was not completed in time"
        order = _order(api, order_id, body["email"])
        assert order["status"] == "cancelled"
        assert _stock(api, product)["available"] == 10
        assert _payment(cluster, order_id)["status"] == "canceled"
        # A success arriving after the cancellation changes nothing.
        late = webhooks.send(cluster, "payment_intent.succeeded", _payment(cluster, order_id))
        assert late.status_code == 200
        assert _payment(cluster, order_id)["status"] == "canceled"
        assert _order(api, order_id, body["email"])["status"] == "cancelled"


# -- 6. crashes mid-saga ---------------------------------------------------------------------
def test_checkout_app_killed_mid_saga_resumes_and_finishes_once(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(_line(product, 2))
        order_id = _place(api, body)
        payment = _payment(cluster, order_id)  # the saga now waits for the payment result
        cluster.stop_app("checkout", crash=True)
        # The result arrives while checkout is down: it waits in the topic.
        assert webhooks.send(cluster, "payment_intent.succeeded", payment).status_code == 200
        cluster.start_app("checkout")
        result = _done(api, order_id, timeout=120)
        assert result["outcome"] == "paid"
        assert result["payment_intent_id"] == payment["payment_intent_id"]
        order = _order(api, order_id, body["email"])
        assert _transitions(order, "paid") == 1 and _transitions(order, "pending") == 1
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"]) == (8, 0)
        assert _payment(cluster, order_id)["version"] == payment["version"] + 1


def test_payments_app_killed_mid_saga_resumes_and_charges_once(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        cluster.stop_app("payments", crash=True)
        try:
            body = factories.checkout(_line(product, 1))
            order_id = _place(api, body)
            # The saga reaches the payment step and retries it while payments is down.
            eventually(lambda: _stock(api, product)["reserved"] == 1, timeout=30)
        finally:
            cluster.start_app("payments")
        payment = _pay(cluster, order_id)
        result = _done(api, order_id, timeout=120)
        assert result["outcome"] == "paid"
        assert result["payment_intent_id"] == payment["payment_intent_id"]
        assert _order(api, order_id, body["email"])["status"] == "paid"
        assert (_stock(api, product)["on_hand"], _stock(api, product)["reserved"]) == (9, 0)


# -- 7. duplicates ---------------------------------------------------------------------------
def test_duplicate_orders_and_webhooks_change_nothing_twice(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body, key = factories.checkout(_line(product, 1)), factories.ref("idem")
        first = api.post("/api/orders", json=body, headers={"Idempotency-Key": key})
        again = api.post("/api/orders", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 202
        order_id = first.json()["order_id"]
        assert again.json()["order_id"] == order_id
        assert again.headers.get("Idempotent-Replayed") == "true"
        other = {**body, "items": [{**body["items"][0], "quantity": 3}]}  # same key, new body
        reused = api.post("/api/orders", json=other, headers={"Idempotency-Key": key})
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["details"]["reason"] == "idempotency_key_reused"
        payment = _payment(cluster, order_id)
        for _ in range(3):  # Stripe retries a webhook until it is answered
            r = webhooks.send(cluster, "payment_intent.succeeded", payment, event_id="evt_dup_1")
            assert r.status_code == 200, r.text
        assert _done(api, order_id)["outcome"] == "paid"
        r = webhooks.send(cluster, "payment_intent.succeeded", payment)  # a new event id
        assert r.status_code == 200
        order = _order(api, order_id, body["email"])
        assert _transitions(order, "paid") == 1
        assert (_stock(api, product)["on_hand"], _stock(api, product)["reserved"]) == (9, 0)
        settled = _payment(cluster, order_id)
        assert settled["version"] == payment["version"] + 1
        assert settled["stripe_events"].count("evt_dup_1") == 1


# -- 8. the last units -----------------------------------------------------------------------
def test_fifty_shoppers_race_for_the_last_five_units(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api, stock=5)
    order_ids: list[str] = []
    lock = threading.Lock()

    def shopper() -> None:
        with cluster.client("storefront", timeout=60) as api:
            order_id = _place(api, factories.checkout(_line(product, 1)))
        with lock:
            order_ids.append(order_id)

    threads = [threading.Thread(target=shopper) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(order_ids)) == 50

    paid: set[str] = set()
    results: dict[str, Json] = {}
    with cluster.client("storefront") as api:

        def settle() -> bool:
            for order_id in order_ids:
                if order_id in results:
                    continue
                assert _stock(api, product)["available"] >= 0
                state = api.get(f"/api/staff/checkouts/{order_id}").json()
                if state["status"] == "completed":
                    results[order_id] = state["result"]
                    continue
                with cluster.invoker("payments") as payments:
                    r = payments.get(f"/payments/{order_id}")
                if r.status_code == 200 and order_id not in paid:
                    webhooks.send(cluster, "payment_intent.succeeded", r.json())
                    paid.add(order_id)
            assert len(results) == 50, f"{len(results)} of 50 sagas ended"
            return True

        eventually(settle, timeout=240, interval=1)
        outcomes = [r["outcome"] for r in results.values()]
        assert outcomes.count("paid") == 5, outcomes
        assert outcomes.count("rejected") == 45
        assert all(
            r["reason"]["code"] == "CONFLICT" for r in results.values() if r["outcome"] != "paid"
        )
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"], level["available"]) == (0, 0, 0)


# -- more refusals and races -----------------------------------------------------------------
def test_unknown_product_or_bad_address_is_refused_without_an_order(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        body = factories.checkout({"product_id": "p-unknown-1", "quantity": 1})
        order_id = _place(api, body)
        result = _done(api, order_id)
        assert result["outcome"] == "rejected"
        assert result["reason"]["code"] == "UNPROCESSABLE_ENTITY"
        assert result["reason"]["details"]["problems"][0]["code"] == "unavailable"
        assert (
            api.get(f"/api/orders/{order_id}", params={"email": body["email"]}).status_code == 404
        )

        bad = factories.checkout(
            {"product_id": "p-x", "quantity": 1},
            shipping_address=factories.address(postal_code="ABCDE"),
        )
        r = api.post("/api/orders", json=bad, headers={"Idempotency-Key": factories.ref("idem")})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["errors"][0]["field"] == "postal_code"
        empty = api.post(
            "/api/orders",
            json=factories.checkout(),
            headers={"Idempotency-Key": factories.ref("idem"), "X-Session-Id": "s" * 24},
        )
        assert empty.status_code == 422 and empty.json()["error"]["message"] == "Your cart is empty"


def test_order_cancelled_while_paying_is_refunded(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(_line(product, 2))
        order_id = _place(api, body)
        payment = _payment(cluster, order_id)
        r = api.post(
            f"/api/orders/{order_id}/cancel",
            json={"reason": "changed my mind", "email": body["email"]},
        )
        assert r.status_code == 200, r.text
        assert webhooks.send(cluster, "payment_intent.succeeded", payment).status_code == 200
        result = _done(api, order_id)
        assert result["outcome"] == "rejected" and result["reason"]["code"] == "CONFLICT"
        refunded = _payment(cluster, order_id)
        assert refunded["status"] == "refunded" and refunded["refunded_amount"] == payment["amount"]
        assert _order(api, order_id, body["email"])["status"] == "cancelled"
        eventually(lambda: _stock(api, product)["available"] == 10, timeout=30)


def test_checkout_validate_quotes_and_reports_problems(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        details = factories.checkout(_line(product, 1), shipping_method="overnight")
        details.pop("payment_method")
        q = api.post("/api/checkout/validate", json=details)
        assert q.status_code == 200, q.text
        quote = q.json()
        assert quote["valid"] is True
        assert quote["priced"]["totals"]["shipping"] == "31.99"  # 29.99 + 2.00/kg x 1 kg
        assert {o["method"] for o in quote["shipping_options"]} == {
            "standard",
            "express",
            "overnight",
        }
        abroad = {
            **details,
            "shipping_address": factories.address(country="GB", state="", postal_code="SW1A 1AA"),
            "promo_code": "SPRING15",
        }
        problems = api.post("/api/checkout/validate", json=abroad).json()
        assert problems["valid"] is False
        assert [p["code"] for p in problems["problems"]] == [
            "promo_not_applicable",
            "shipping_unavailable",
        ]
        checked = api.post(
            "/api/addresses/validate", json={"country": "ca", "postal_code": "k1a0b1"}
        ).json()
        assert checked["valid"] is False
        assert {e["field"] for e in checked["errors"]} == {"name", "line1", "city", "state"}
        ok = api.post(
            "/api/addresses/validate",
            json=factories.address(country="ca", state="on", postal_code="k1a 0b1"),
        ).json()
        assert ok["valid"] is True and ok["address"]["postal_code"] == "K1A 0B1"


# -- payments through the storefront -------------------------------------------------------------
def test_payment_routes_refunds_and_cancelling_a_paid_order(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    staff = issuer.headers(factories.ref("staff"), "staff")
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(_line(product, 1))
        order_id = _place(api, body)
        payment = _payment(cluster, order_id)
        mine = {"order_id": order_id, "email": body["email"]}
        intent = api.post("/api/payments/create-intent", json=mine)
        assert intent.status_code == 200, intent.text
        assert intent.json()["payment_intent_id"] == payment["payment_intent_id"]
        stranger = {"order_id": order_id, "email": factories.email()}
        assert api.post("/api/payments/create-intent", json=stranger).status_code == 404
        assert api.post("/api/payments/confirm", json=stranger).status_code == 404
        # stripe-mock reports a non-final status: confirming changes nothing yet.
        confirmed = api.post("/api/payments/confirm", json=mine)
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "processing"
        _pay(cluster, order_id)
        assert _done(api, order_id)["outcome"] == "paid"

        refund = {"order_id": order_id, "amount": "100.00", "reason": "damaged box"}
        customer = issuer.headers(factories.ref("u"), "customer")
        click = {**staff, "Idempotency-Key": f"refund-{order_id}-1"}
        assert api.post("/api/payments/refund", json=refund, headers=customer).status_code == 403
        assert api.post("/api/payments/refund", json=refund, headers=staff).status_code == 400
        r = api.post("/api/payments/refund", json=refund, headers=click)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "partially_refunded"
        twice = api.post("/api/payments/refund", json=refund, headers=click)  # a second click
        assert twice.status_code == 200 and twice.json()["refunded_amount"] == "100.00"
        changed = api.post("/api/payments/refund", json={**refund, "amount": "5.00"}, headers=click)
        assert changed.status_code == 422
        eventually(
            lambda: _order(api, order_id, body["email"])["status"] == "partially_refunded",
            timeout=30,
        )
        rest_key = {**staff, "Idempotency-Key": f"refund-{order_id}-2"}
        rest = api.post("/api/payments/refund", json={"order_id": order_id}, headers=rest_key)
        assert rest.status_code == 200 and rest.json()["status"] == "refunded"
        eventually(lambda: _order(api, order_id, body["email"])["status"] == "refunded", timeout=30)
        third = {**staff, "Idempotency-Key": f"refund-{order_id}-3"}
        again = api.post("/api/payments/refund", json={"order_id": order_id}, headers=third)
        assert again.status_code == 409
        payment = api.get(f"/api/staff/payments/{order_id}", headers=staff).json()
        assert [(r["key"], r["amount"], r["status"]) for r in payment["refunds"]] == [
            (f"refund-{order_id}-1", "100.00", "succeeded"),
            (f"refund-{order_id}-2", payment["refunds"][1]["amount"], "succeeded"),
        ]

        # A paid order the shopper cancels before it ships is refunded in full.
        second = factories.checkout(_line(product, 1))
        second_id = _place(api, second)
        _pay(cluster, second_id)
        assert _done(api, second_id)["outcome"] == "paid"
        cancel = api.post(
            f"/api/orders/{second_id}/cancel",
            json={"reason": "ordered twice", "email": second["email"]},
        )
        assert cancel.status_code == 200, cancel.text
        eventually(lambda: _payment(cluster, second_id)["status"] == "refunded", timeout=30)
        assert _order(api, second_id, second["email"])["status"] == "cancelled"
