"""Issue 12: the chaos suite's short version on the session cluster. Three rounds of six
concurrent checkouts; in each, a sidecar or an app of the checkout path is SIGKILLed at a
random moment and started again; then the same invariants as `./taskw chaos`
(scripts/chaos.py: terminal orders, one charge per paid order, a balanced stock ledger,
drained outboxes, every event published and consumed, nothing applied twice) over this
test's own orders and SKUs.

The session cluster's payments app runs without local webhooks, so this test plays Stripe
(signed events, resent until recorded). Every app it kills is ready again at the end.
"""

import random
import time

import pytest

from scripts import chaos
from tests.harness import Cluster, HarnessError

SEED = 1212
ROUNDS = [
    chaos.Round(1, kill=("orders", "daprd")),
    chaos.Round(2, kill=("payments", "app")),
    chaos.Round(3, kill=("checkout", "daprd")),
]
#: No card that waits for an authentication here (the session cluster's payment timeout is
#: 30 s); the full run has them.
PAYMENT_METHODS = (("pm_card_visa", 0.75), ("pm_card_chargeDeclined", 0.25))


def _healthy(cluster: Cluster, run: chaos.Run) -> None:
    """Leave every app this test may have killed ready, restarted if it is not, or if its
    sidecar holds some of its worker threads (the stuck completions of the report)."""
    signals = chaos.sidecar_signals(cluster, run.log_offsets)
    for app_id in chaos.TARGETS:
        if signals.get(app_id, {}).get("activity completions retried (distinct)"):
            cluster.restart_app(app_id, crash=True)
            continue
        try:
            cluster.wait_ready(app_id, timeout=30)
        except HarnessError:
            cluster.restart_app(app_id, crash=True)


def test_checkouts_keep_their_invariants_while_sidecars_and_apps_are_killed(
    cluster: Cluster,
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    run = chaos.Run(seed=SEED, skus=chaos.stock_shop(cluster, rng, products=2, scarce=8))
    rounds = [chaos.Round(r.number, kill=r.kill) for r in ROUNDS]
    try:
        t = time.monotonic()
        chaos.play(
            cluster,
            run,
            rounds,
            6,
            rng,
            stripe=True,
            payment_methods=PAYMENT_METHODS,
            kill_window=(0.3, 1.5),  # while this round's sagas run (about a second here)
        )
        run.durations["rounds"] = time.monotonic() - t
        t = time.monotonic()
        chaos.settle(cluster, run, timeout=120, stripe=True)
        run.durations["settle"] = time.monotonic() - t
        t = time.monotonic()
        # Redis hands an unacknowledged event to a consumer again after 60 s
        # (`processingTimeout`), so an event a killed sidecar held takes that long.
        chaos.drain(cluster, run, timeout=180)
        run.durations["drain"] = time.monotonic() - t
        findings = chaos.check(cluster, run)
    finally:
        _healthy(cluster, run)
    run.durations["total"] = time.monotonic() - started
    print("\n" + chaos.report(run, findings))

    known, others = chaos.split_known(findings)
    assert not others, "\n".join(others)
    if known:  # everything else holds; what this suite found (scripts/chaos.py KNOWN) is not
        pytest.xfail("known: " + "; ".join(known[:3]))
