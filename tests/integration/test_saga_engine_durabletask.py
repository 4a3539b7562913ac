"""The checkout saga through its second engine (`CHECKOUT_SAGA_ENGINE=durabletask`, README
"Saga engines"): the generic durabletask client and worker, pointed at checkout's own
sidecar, which serves the durabletask gRPC protocol that Azure's Durable Task Scheduler also
speaks. The scheduler's own parts (endpoint, task hub, Entra token) are configuration and
are unit-tested (tests/unit/test_checkout_engine.py); the real scheduler is not reachable
here.

The behaviours are the Dapr engine's tests, run again unchanged: checkout is restarted on
the durabletask engine for this module and put back on Dapr Workflow after it.
"""

import json
from collections.abc import Iterator

import pytest

from tests import factories, webhooks
from tests.harness import Cluster
from tests.integration import test_admin_sagas as admin_sagas
from tests.integration import test_checkout_saga as saga
from tests.tokens import TokenIssuer


def _engine_of_last_start(cluster: Cluster) -> str:
    """The engine checkout's latest start reported (its `saga engine` log line)."""
    found = ""
    for line in (cluster.logs / "checkout_app.log").read_text(errors="replace").splitlines():
        if "saga engine" in line:
            try:
                found = str(json.loads(line).get("engine", ""))
            except json.JSONDecodeError:
                found = line
    return found


def _restart_checkout(cluster: Cluster, engine: str, crash: bool = False) -> None:
    cluster.stop_app("checkout", crash=crash)
    cluster.start_app("checkout", env={"CHECKOUT_SAGA_ENGINE": engine})
    assert _engine_of_last_start(cluster) == engine


@pytest.fixture(scope="module")
def on_durabletask(cluster: Cluster) -> Iterator[Cluster]:
    """The session cluster with checkout on the durabletask engine (later restarts of
    checkout in a test keep it: the harness keeps an app's env)."""
    _restart_checkout(cluster, "durabletask")
    try:
        yield cluster
    finally:
        _restart_checkout(cluster, "dapr")


def test_happy_path_to_paid(on_durabletask: Cluster) -> None:
    saga.test_cart_checkout_is_paid_committed_cleared_and_announced(on_durabletask)


def test_failed_payment_compensates(on_durabletask: Cluster) -> None:
    saga.test_failed_payment_releases_stock_and_fails_the_order(on_durabletask)


def test_duplicates_start_one_saga(on_durabletask: Cluster) -> None:
    saga.test_duplicate_orders_and_webhooks_change_nothing_twice(on_durabletask)


def test_checkout_killed_mid_saga_resumes(on_durabletask: Cluster) -> None:
    saga.test_checkout_app_killed_mid_saga_resumes_and_finishes_once(on_durabletask)


def test_admin_terminates_compensates_and_purges(
    on_durabletask: Cluster, issuer: TokenIssuer
) -> None:
    admin_sagas.test_a_saga_stuck_waiting_for_payment_is_terminated_compensated_and_purged(
        on_durabletask, issuer
    )


def test_a_saga_started_on_dapr_workflow_finishes_on_durabletask(on_durabletask: Cluster) -> None:
    """The engines are interchangeable: same orchestrator and activity names, same store."""
    cluster = on_durabletask
    _restart_checkout(cluster, "dapr")
    with cluster.client("storefront") as api:
        product = saga._add_product(api)
        body = factories.checkout(saga._line(product, 1))
        order_id = saga._place(api, body)
        payment = saga._payment(cluster, order_id)  # waiting for the payment result
        _restart_checkout(cluster, "durabletask", crash=True)
        assert webhooks.send(cluster, "payment_intent.succeeded", payment).status_code == 200
        result = saga._done(api, order_id, timeout=120)
        assert result["outcome"] == "paid"
        assert [s["step"] for s in result["steps"]][-1] == "settle"
        order = saga._order(api, order_id, body["email"])
        assert saga._transitions(order, "paid") == 1
