"""Chaos suite (issue 12): rounds of concurrent checkouts while one of checkout, payments,
orders, catalog or cart -- the app or its sidecar -- is SIGKILLed at a random moment and
started again, plus a PostgreSQL and a Redis restart under load; then the invariants.

    ./taskw chaos                                  # 20 rounds x 20 shoppers, seed 12
    ./taskw chaos -- --short                       # 3 rounds x 6 shoppers
    ./taskw chaos -- --rounds 5 --shoppers 10 --seed 7

The run has its own cluster (`bench.common.start_cluster`): payments in local mode (it sends
itself the webhook stripe-mock cannot send, so checkouts settle by themselves), the saga's
payment timeout at 20 s, the fraud bands of the tests. Shoppers are guests placing orders
through the storefront with an `Idempotency-Key`, from `items` or from their cart, paying
with `pm_card_visa` (succeeds), a declining card (fails) or a card that needs an
authentication that never comes (the saga's timeout cancels it); a request that fails
because something is down is retried with the same key, as a real client does.

A killed process is started again alone, with the command line and environment it had, as a
container platform restarts the one container that died (the app's, or its daprd's); an app
that is not ready again within `RECOVERY_SECONDS` gets both restarted with
`Cluster.restart_app(crash=True)` (counted as a fallback). The stores are restarted with the
functions of scripts/stores.sh (PostgreSQL `fast` shutdown, Redis SIGTERM with its
append-only file), each down for a few seconds while checkouts run.

What "done" means for an order (checked by `check`, shared with tests/security/test_chaos.py):
  * terminal: the saga completed and the order is `paid` (outcome paid), `payment_failed`
    (declined), or `cancelled` (payment timed out, or refused: out of stock, fraud); a saga
    refused before it created an order leaves no order. A saga `failed`/`running` or an order
    still `pending`/`awaiting_payment` after the settle time is a violation (its only way out
    would be the order's own reminder, set to payment + review timeout + 15 min).
  * money: a paid order has one payment record, `succeeded`, for the order's total, not
    refunded, and one PaymentProcessed event; an unpaid order has no payment or a `failed` /
    `canceled` one. (stripe-mock ignores idempotency keys, so a PaymentIntent created again
    after a crash gets a new id there; production Stripe answers the first. Those extra
    intents are counted, not charged: only the payment record's intent is ever confirmed.)
  * stock: per SKU, on hand + committed = received, no hold left, committed = the units of
    paid orders; a paid order's reservation is committed, any other's released or restocked
    (or absent), one StockCommitted per paid order.
  * events: every outbox is empty (catalog batches and products, OrderActor and CartActor
    outboxes, payment records), every version of every order is on order-events and consumed
    by every subscriber group, paid orders have their OrderPlaced, nothing of ours is
    dead-lettered, and the orders projection shows each order's last version.
  * once: each order's history has each status at most once (a paid order exactly one
    `paid`) and its version counts its transitions.

Known (found by the first full run and not fixed here; `split_known` tells it apart,
tests/security/test_chaos.py xfails on it only when everything else holds):
  * checkout's daprd killed alone: its app's activity completions hang (dapr#9070); after
    enough of them checkout accepts no order until the app is restarted, /health/live 200.
Fixed after it found them: events dead-lettered after a transient failure of a subscriber
(675 in the first full run: short inbound retries and a breaker on delivery; now ~4 minutes of
retries and no breaker, resiliency.yaml and Bicep); an actor call that failed halfway (its
sidecar killed) left its staged state to be saved by the next call without its events
(actors/outbox.py); a retried payment cancel answered without publishing what the first
call saved (apps/payments).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from apps.checkout.service import order_id_for
from apps.payments.adapters import local_outcome, sign
from tests.harness import Cluster, HarnessError

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("checkout", "payments", "orders", "catalog", "cart")
PROCESSES = ("app", "daprd")
PAYMENT_TIMEOUT_SECONDS = 20
FRAUD_BANDS = {"FRAUD_REVIEW_THRESHOLD": "0.90", "FRAUD_REJECT_THRESHOLD": "0.95"}
CLUSTER_ENV = {
    "checkout": {"CHECKOUT_PAYMENT_TIMEOUT_SECONDS": str(PAYMENT_TIMEOUT_SECONDS)},
    "payments": {"PAYMENTS_SIMULATE_WEBHOOKS": "true"},
    "fraud": FRAUD_BANDS,
    "catalog": {"CATALOG_OUTBOX_SWEEP_SECONDS": "1", "CATALOG_OUTBOX_GRACE_SECONDS": "2"},
}
#: When in a round the kill comes (s): while the round's sagas run (a full round's take
#: several seconds under load; the short test's about one).
KILL_WINDOW = (0.2, 5.0)
#: A respawned process whose app is not ready by then: both are restarted (the fallback).
RECOVERY_SECONDS = 60
#: A shopper gives up on placing an order after this long (counted, not a violation).
SHOPPER_PATIENCE_SECONDS = 240
#: Units of the scarce SKU: it sells out during a full run (refusals: out of stock).
SCARCE_STOCK = 40
PLENTY_STOCK = 100_000
PAYMENT_METHODS = (
    ("pm_card_visa", 0.8),
    ("pm_card_chargeDeclined", 0.1),
    ("pm_card_authenticationRequired", 0.1),
)
TERMINAL = {"paid", "cancelled", "payment_failed"}
#: Who consumes what (components/local/pubsub.yaml subscriptionScopes).
SUBSCRIBERS = {
    "order-events": {"catalog", "orders", "forecast", "recommendations", "payments", "identity"},
    "payment-events": {"checkout", "orders"},
}
#: Found by this suite and fixed: a subscriber whose app or sidecar was restarting (or whose
#: store was) had its events dead-lettered after short inbound retries and an open breaker;
#: delivery now retries for ~4 minutes without a breaker (components/local/resiliency.yaml).
#: A dead letter is a violation again.
DEAD_LETTERED = "dead-lettered after a transient failure of a subscriber"
#: Found by this suite and open: after checkout's daprd restarts alone, the activities the app
#: was running are completed into a sidecar that does not know them, which retries forever
#: (dapr/dapr#9070, Dapr 1.16.0); each call holds one of the app's 32 worker threads until the
#: app restarts.
STUCK_COMPLETIONS = "each blocks an app worker thread"
KNOWN = (STUCK_COMPLETIONS,)
SAGA_ENDED = {"completed", "failed", "terminated"}
#: Saga outcome -> the order status it must leave.
OUTCOME_STATUS = {"paid": "paid", "cancelled": "cancelled", "payment_failed": "payment_failed"}
ENTRY_ID = re.compile(r"^\d+-\d+$")
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:|-]{1,300}$")  # no quotes: safe inside SQL


# -- the run's data ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sku:
    sku: str
    product_id: str
    variant_id: str
    received: int


@dataclass
class Shopper:
    """One checkout: what the shopper sends and what happened to the request."""

    round: int
    key: str
    email: str
    lines: list[dict[str, Any]]
    payment_method: str
    use_cart: bool
    session: str | None = None
    attempts: int = 0
    accepted: bool = False
    seconds_to_accept: float | None = None
    errors: Counter[str] = field(default_factory=Counter)
    gave_up: str = ""
    refused: str = ""  # a 4xx (not "something is down"): "out of stock" or the answer
    order_id: str = ""  # from the 202; see `derive_order_ids` for requests never answered

    @property
    def cart_id(self) -> str | None:
        return f"guest-{self.session}" if self.session else None


@dataclass
class Disruption:
    round: int
    target: str  # an app id, "postgres" or "redis"
    process: str  # "app", "daprd" or "store"
    at: float = 0.0  # seconds into the round
    down: float = 0.0  # seconds between the kill and the restart
    back_after: float = 0.0  # kill to ready
    recovery: str = ""  # respawn | pair restart | store restart


@dataclass
class Round:
    number: int
    kill: tuple[str, str]  # (app id, "app" | "daprd")
    stores: list[str] = field(default_factory=list)
    shoppers: list[Shopper] = field(default_factory=list)
    disruptions: list[Disruption] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Run:
    seed: int
    skus: list[Sku]
    rounds: list[Round] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    sagas: dict[str, dict[str, Any]] = field(default_factory=dict)
    backlog: dict[str, Any] = field(default_factory=dict)  # see `drain`
    log_offsets: dict[str, int] = field(default_factory=dict)  # see `sidecar_signals`

    @property
    def shoppers(self) -> list[Shopper]:
        return [s for r in self.rounds for s in r.shoppers]


@dataclass
class Findings:
    counts: dict[str, Any] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def violate(self, what: str, **evidence: Any) -> None:
        detail = ", ".join(f"{k}={v}" for k, v in evidence.items())
        self.violations.append(f"{what}: {detail}" if detail else what)


# -- set-up -----------------------------------------------------------------------------------
def stock_shop(
    cluster: Cluster, rng: random.Random, products: int = 4, scarce: int = SCARCE_STOCK
) -> list[Sku]:
    """Products with two variants each (the first variant of the first product is scarce),
    created through the storefront's staff API; returns what was received per SKU."""
    nonce = uuid.uuid4().hex[:8]
    skus: list[Sku] = []
    with cluster.client("storefront", timeout=30) as api:
        for i in range(products):
            pid = f"p-chaos-{nonce}-{i}"
            variants = []
            for v in range(2):
                stock = scarce if i == 0 and v == 0 else PLENTY_STOCK
                sku = Sku(f"SKU-CHAOS-{nonce}-{i}-{v}", pid, f"{pid}-v{v}", stock)
                skus.append(sku)
                variants.append(
                    {
                        "variant_id": sku.variant_id,
                        "sku": sku.sku,
                        "attributes": {"size": "S" if v == 0 else "L"},
                        "stock": stock,
                    }
                )
            price = f"{rng.randrange(12, 60)}.00"
            body = {
                "product_id": pid,
                "category_slug": "home-cookware",
                "sku": f"SKU-CHAOS-{nonce}-{i}",
                "name": f"Chaos Pan {i}",
                "slug": f"chaos-pan-{nonce}-{i}",
                "description": "A pan that survives",
                "brand": "Chaos",
                "price": {"amount": price, "currency": "USD", "tax_rate": "0.0825"},
                "variants": variants,
                "status": "active",
            }
            r = api.post("/api/staff/products", json=body)
            if r.status_code != 201:
                raise HarnessError(f"product {pid} not created: {r.status_code} {r.text[:300]}")
    return skus


def plan_rounds(
    rng: random.Random,
    rounds: int,
    targets: tuple[str, ...] = TARGETS,
    stores: bool = True,
) -> list[Round]:
    """Each (app, process) pair in turn, shuffled by the seed; the PostgreSQL restart a third
    of the way in, the Redis restart two thirds in."""
    pairs = [(t, p) for t in targets for p in PROCESSES]
    order: list[tuple[str, str]] = []
    while len(order) < rounds:
        batch = pairs[:]
        rng.shuffle(batch)
        order.extend(batch)
    planned = [Round(number=i + 1, kill=order[i]) for i in range(rounds)]
    if stores and rounds:
        planned[rounds // 3].stores.append("postgres")
        planned[min(rounds - 1, (2 * rounds) // 3)].stores.append("redis")
    return planned


def make_shoppers(
    rng: random.Random,
    number: int,
    count: int,
    skus: list[Sku],
    payment_methods: tuple[tuple[str, float], ...] = PAYMENT_METHODS,
) -> list[Shopper]:
    nonce = uuid.uuid4().hex[:8]
    methods, weights = zip(*payment_methods, strict=True)
    shoppers = []
    for i in range(count):
        picked = rng.sample(skus, k=rng.choice((1, 1, 2, 3)))
        lines = [
            {"product_id": s.product_id, "variant_id": s.variant_id, "quantity": rng.randint(1, 3)}
            for s in picked
        ]
        shoppers.append(
            Shopper(
                round=number,
                key=f"chaos-{nonce}-{number}-{i}",
                email=f"chaos-{nonce}-{number}-{i}@example.com",
                lines=lines,
                payment_method=rng.choices(methods, weights)[0],
                use_cart=rng.random() < 0.4,
            )
        )
    return shoppers


# -- shoppers ---------------------------------------------------------------------------------
class GaveUp(Exception):
    pass


async def _send(
    api: httpx.AsyncClient,
    shopper: Shopper,
    method: str,
    url: str,
    deadline: float,
    ok: tuple[int, ...],
    **kw: Any,
) -> httpx.Response:
    """One request, retried (same body, same keys) while the answer says something is down."""
    pause = 0.5
    while True:
        shopper.attempts += 1
        try:
            r = await api.request(method, url, **kw)
            if r.status_code in ok:
                return r
            shopper.errors[str(r.status_code)] += 1
            if r.status_code < 500 and r.status_code not in (408, 429):
                sold_out = r.status_code == 409 and "insufficient_stock" in r.text
                shopper.refused = "out of stock" if sold_out else f"{r.status_code} {r.text[:300]}"
                raise GaveUp(f"{method} {url}: {r.status_code} {r.text[:300]}")
        except httpx.HTTPError as exc:
            shopper.errors[type(exc).__name__] += 1
        if time.monotonic() > deadline:
            raise GaveUp(f"{method} {url}: still failing after {SHOPPER_PATIENCE_SECONDS} s")
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, 5.0)


async def shop(url: str, shopper: Shopper, delay: float) -> None:
    """Place the shopper's order (through its cart or with `items`) until it is accepted.
    Each shopper has its own client: its own cookies (the guest session)."""
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        await _shop(api, shopper)


async def _shop(api: httpx.AsyncClient, shopper: Shopper) -> None:
    started = time.monotonic()
    deadline = started + SHOPPER_PATIENCE_SECONDS
    body: dict[str, Any] = {
        "email": shopper.email,
        "shipping_address": {
            "name": "Chaos Shopper",
            "line1": "1 Market St",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94105",
            "country": "US",
        },
        "shipping_method": "standard",
        "payment_method": shopper.payment_method,
    }
    headers = {"Idempotency-Key": shopper.key}
    try:
        if shopper.use_cart:
            r = await _send(api, shopper, "GET", "/api/cart", deadline, (200,))
            shopper.session = r.headers["X-Session-Id"]
            headers["X-Session-Id"] = shopper.session
            for i, line in enumerate(shopper.lines):
                await _send(
                    api,
                    shopper,
                    "POST",
                    "/api/cart/items",
                    deadline,
                    (200, 201),
                    json=line,
                    headers={
                        "X-Session-Id": shopper.session,
                        "Idempotency-Key": f"{shopper.key}:{i}",
                    },
                )
        else:
            body["items"] = shopper.lines
        r = await _send(
            api, shopper, "POST", "/api/orders", deadline, (202,), json=body, headers=headers
        )
        shopper.order_id = str(r.json()["order_id"])
        shopper.accepted = True
        shopper.seconds_to_accept = time.monotonic() - started
    except GaveUp as exc:
        shopper.gave_up = str(exc)


async def play_stripe(cluster: Cluster, shoppers: list[Shopper], until: asyncio.Event) -> None:
    """Stripe's part when payments runs without local webhooks (the shared test cluster): each
    processing payment gets the signed event its payment method earns (one event id per order,
    so a resend is a duplicate), resent until payments records the result."""
    done: set[str] = set()
    url = cluster.apps["storefront"].url
    base = f"{cluster.apps['storefront'].dapr_url}/v1.0/invoke/payments/method"
    async with (
        httpx.AsyncClient(base_url=base, timeout=10, headers=cluster.sidecar_headers) as payments,
        httpx.AsyncClient(base_url=url, timeout=10) as api,
    ):
        while not until.is_set():
            for s in shoppers:
                kind = local_outcome(s.payment_method)
                if not s.order_id or kind is None or s.order_id in done:
                    continue
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    r = await payments.get(f"/payments/{s.order_id}")
                    if r.status_code != 200:
                        continue
                    payment = r.json()
                    if payment["status"] != "processing":
                        done.add(s.order_id)
                        continue
                    await _webhook(api, kind, payment)
            await asyncio.sleep(0.5)


async def _webhook(api: httpx.AsyncClient, kind: str, payment: dict[str, Any]) -> None:
    intent: dict[str, Any] = {
        "id": payment["payment_intent_id"],
        "object": "payment_intent",
        "metadata": {"order_id": payment["order_id"]},
    }
    if kind.endswith("payment_failed"):
        intent["last_payment_error"] = {"code": "card_declined", "message": "Declined"}
    event = {
        "id": f"evt_chaos_{payment['order_id'].replace('-', '')}",
        "object": "event",
        "type": kind,
        "data": {"object": intent},
    }
    payload = json.dumps(event).encode()
    await api.post(
        "/api/payments/webhook",
        content=payload,
        headers={
            "Stripe-Signature": sign(payload, local_secret("stripe-webhook-secret")),
            "Content-Type": "application/json",
        },
    )


def local_secret(name: str) -> str:
    """A secret of the local secret stores (components/local/secrets*.json), which test
    clusters copy unchanged but for their store addresses."""
    for path in sorted((ROOT / "components" / "local").glob("secrets*.json")):
        values = json.loads(path.read_text())
        if name in values:
            return str(values[name])
    raise KeyError(f"no local secret store holds {name}")


# -- disruptions ------------------------------------------------------------------------------
def _process_spec(pid: int) -> tuple[list[bytes], dict[bytes, bytes], str]:
    """The command line, environment and directory of a running process (to start it again)."""
    proc = Path(f"/proc/{pid}")
    cmd = proc.joinpath("cmdline").read_bytes().split(b"\0")[:-1]
    env = dict(
        kv.split(b"=", 1) for kv in proc.joinpath("environ").read_bytes().split(b"\0") if b"=" in kv
    )
    return cmd, env, os.readlink(proc / "cwd")


def kill_and_restart(cluster: Cluster, event: Disruption) -> None:
    """SIGKILL the app or its daprd, start the same process again after `event.down`
    seconds, wait until the app is ready; fall back to restarting both."""
    app = cluster.apps[event.target]
    which = "daprd" if event.process == "daprd" else "app"
    victim: subprocess.Popen[bytes] | None = getattr(app, which)
    if victim is None or victim.poll() is not None:
        raise HarnessError(f"{event.target} {which} is not running")
    cmd, env, cwd = _process_spec(victim.pid)
    killed = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=20)
    time.sleep(event.down)
    with open(cluster.logs / f"{event.target}_{which}.log", "ab") as log:
        log.write(f"\n[chaos] {which} SIGKILLed and started again\n".encode())
        log.flush()
        fresh = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    setattr(app, which, fresh)  # the harness stops what it finds here
    try:
        cluster.wait_ready(event.target, timeout=RECOVERY_SECONDS)
        event.recovery = "respawn"
    except HarnessError:
        cluster.restart_app(event.target, crash=True)
        event.recovery = "pair restart"
    event.back_after = time.monotonic() - killed


def restart_store(cluster: Cluster, event: Disruption) -> None:
    """Stop and start PostgreSQL or Redis with scripts/stores.sh's own functions."""
    stop, start = {
        "postgres": ("stop_postgres", "start_postgres"),
        "redis": ("stop_redis", "start_redis"),
    }[event.target]
    stores_sh = ROOT / "scripts" / "stores.sh"
    script = (
        f'set -- status; source "{stores_sh}" >/dev/null; {stop}; sleep {event.down:.2f}; {start}'
    )
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, **cluster.env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    if done.returncode != 0:
        raise HarnessError(f"{event.target} restart failed:\n{done.stdout}\n{done.stderr}")
    for app_id in TARGETS:  # the apps' readiness includes a store round trip
        cluster.wait_ready(app_id, timeout=180)
    event.back_after = time.monotonic() - started
    event.recovery = "store restart"


async def play_round(
    cluster: Cluster,
    rnd: Round,
    rng: random.Random,
    stripe: bool = False,
    kill_window: tuple[float, float] = KILL_WINDOW,
) -> None:
    """The round's shoppers at once (each starting within 1.5 s); the kill at a random moment
    of `kill_window` (seconds into the round), a store restart at another."""
    started = time.monotonic()
    kill = Disruption(
        rnd.number, rnd.kill[0], rnd.kill[1], rng.uniform(*kill_window), rng.uniform(0.5, 3.0)
    )
    rnd.disruptions.append(kill)
    for store in rnd.stores:
        rnd.disruptions.append(
            Disruption(rnd.number, store, "store", rng.uniform(0.5, 6.0), rng.uniform(1.0, 4.0))
        )
    delays = [rng.uniform(0, 1.5) for _ in rnd.shoppers]

    async def disrupt(event: Disruption) -> None:
        await asyncio.sleep(event.at)
        action = restart_store if event.process == "store" else kill_and_restart
        await asyncio.to_thread(action, cluster, event)

    url = cluster.apps["storefront"].url
    stop_stripe = asyncio.Event()
    stripe_task = (
        asyncio.create_task(play_stripe(cluster, rnd.shoppers, stop_stripe)) if stripe else None
    )
    await asyncio.gather(
        *(shop(url, s, d) for s, d in zip(rnd.shoppers, delays, strict=True)),
        *(disrupt(e) for e in rnd.disruptions),
    )
    if stripe_task is not None:
        stop_stripe.set()
        await stripe_task
    rnd.seconds = time.monotonic() - started


def play(
    cluster: Cluster,
    run: Run,
    rounds: list[Round],
    shoppers: int,
    rng: random.Random,
    stripe: bool = False,
    log: Any = print,
    payment_methods: tuple[tuple[str, float], ...] = PAYMENT_METHODS,
    kill_window: tuple[float, float] = KILL_WINDOW,
) -> None:
    """Play `rounds` in turn (each: `shoppers` checkouts at once and its disruptions);
    `stripe`: this process sends the webhooks (payments without local mode)."""
    run.log_offsets = run.log_offsets or log_sizes(cluster)
    for rnd in rounds:
        rnd.shoppers = make_shoppers(rng, rnd.number, shoppers, run.skus, payment_methods)
        run.rounds.append(rnd)
        asyncio.run(play_round(cluster, rnd, rng, stripe, kill_window))
        accepted = sum(s.accepted for s in rnd.shoppers)
        what = ", ".join(
            f"{e.target}/{e.process} at {e.at:.1f}s back in {e.back_after:.1f}s ({e.recovery})"
            for e in rnd.disruptions
        )
        log(f"[chaos] round {rnd.number}: {accepted}/{len(rnd.shoppers)} accepted; {what}")


# -- settling ---------------------------------------------------------------------------------
def settle(
    cluster: Cluster, run: Run, timeout: float, stripe: bool = False
) -> dict[str, dict[str, Any]]:
    """Wait until every saga of the run has ended (or `timeout`), polling each as its shopper
    does (`GET /api/checkout/{id}?email=`); answers the saga states, for requests never
    answered too (one may have started a saga)."""
    derive_order_ids(cluster, run)
    shoppers = run.shoppers
    emails = {s.order_id: s.email for s in shoppers}
    states: dict[str, dict[str, Any]] = {}

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        stop_stripe = asyncio.Event()
        stripe_task = (
            asyncio.create_task(play_stripe(cluster, shoppers, stop_stripe)) if stripe else None
        )
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=cluster.apps["storefront"].url, timeout=20) as api:

            async def one(order_id: str) -> None:
                async with gate:
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        r = await api.get(
                            f"/api/checkout/{order_id}", params={"email": emails[order_id]}
                        )
                        if r.status_code == 200:
                            states[order_id] = r.json()
                        elif r.status_code == 404:
                            states[order_id] = {"status": "none"}

            while True:
                waiting = [
                    s.order_id
                    for s in shoppers
                    if states.get(s.order_id, {}).get("status") not in (SAGA_ENDED | {"none"})
                    or (s.accepted and states[s.order_id]["status"] == "none")
                ]
                if not waiting or time.monotonic() > deadline:
                    break
                await asyncio.gather(*(one(o) for o in waiting))
                await asyncio.sleep(1)
        if stripe_task is not None:
            stop_stripe.set()
            await stripe_task

    asyncio.run(poll())
    run.sagas = states
    return states


def derive_order_ids(cluster: Cluster, run: Run) -> None:
    """The order id of each request never answered, as checkout derives it from the
    Idempotency-Key and email (keyed with the gateway-context secret, read here from the
    local secret store as an operator's tool may)."""
    secret = local_secret("gateway-context-key")
    for s in run.shoppers:
        if not s.order_id:
            s.order_id = order_id_for(s.key, s.email, secret)


def drain(cluster: Cluster, run: Run, timeout: float) -> dict[str, Any]:
    """Wait until the outboxes are empty and the subscribers have consumed our events (a
    message delivered to an app that died is redelivered after pubsub.yaml's
    processingTimeout, 60 s). Answers what there was to wait for when the sagas had ended."""
    deadline = time.monotonic() + timeout
    first: dict[str, Any] | None = None
    while True:
        left = outbox_left(cluster, run)
        unconsumed = unconsumed_events(cluster, _our_ids(run))
        if first is None:
            first = {**left, "unconsumed": len(unconsumed), "e.g.": unconsumed[:3]}
            run.backlog = first
        if (sum(left.values()) == 0 and not unconsumed) or time.monotonic() > deadline:
            return first
        time.sleep(2)


# -- reading the stores -----------------------------------------------------------------------
def _ids_sql(values: list[str]) -> str:
    for v in values:
        if not SAFE_ID.match(v):
            raise ValueError(f"unsafe id {v!r}")
    return (
        "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::text[]" if values else "ARRAY[]::text[]"
    )


def documents(cluster: Cluster, keys: list[str]) -> dict[str, Any]:
    """The stored JSON of `keys` (full Dapr keys, `app||key`) that exist."""
    found: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        query = (
            "SELECT coalesce(json_object_agg(key, value), '{}') FROM dapr_state "
            f"WHERE key = ANY({_ids_sql(chunk)})"
        )
        found.update(json.loads(cluster.sql(query) or "{}"))
    return found


def _redis(cluster: Cluster, *args: str) -> list[str]:
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    out = subprocess.run(
        [cli, "-p", cluster.env["SC_REDIS_PORT"], *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.splitlines()


def stream_events(
    cluster: Cluster, topic: str, cloud: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """(stream entry id, our event envelope) of every entry of a topic's Redis stream; with
    `cloud`, the whole CloudEvent around it (its `topic`, `source`, ...)."""
    events = []
    entry, previous = "", ""
    for line in _redis(cluster, "XRANGE", topic, "-", "+"):
        if ENTRY_ID.match(line):
            entry = line
        elif previous == "data" and line.startswith("{"):
            event = json.loads(line)
            envelope = event if cloud else event.get("data")
            if isinstance(envelope, dict):
                events.append((entry, envelope))
        previous = line
    return events


def _entry(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def unconsumed_events(cluster: Cluster, ours: set[str]) -> list[str]:
    """Our events on order-events and payment-events that a subscriber group has not yet
    been given, or was given and has not acknowledged."""
    missing = []
    for topic in ("order-events", "payment-events"):
        entries = [(eid, ev) for eid, ev in stream_events(cluster, topic) if _mentions(ev, ours)]
        if not entries:
            continue
        for group in _groups(_redis(cluster, "XINFO", "GROUPS", topic)):
            name, last = group.get("name", "?"), _entry(group.get("last-delivered-id", "0-0"))
            if _per_replica(name):
                continue
            pending = set(_redis(cluster, "XPENDING", topic, name, "-", "+", "100000")[0::4])
            for eid, ev in entries:
                if _entry(eid) > last or eid in pending:
                    missing.append(f"{topic}/{name}: {ev.get('event_type')} {ev.get('event_id')}")
    return missing


def _per_replica(group: str) -> bool:
    """A pubsub-broadcast group (consumerID `{uuid}`: one per sidecar, so each storefront or
    catalog replica sees every event for its own read model or live streams). A replica that
    was killed leaves its group behind unread: only the apps' own groups (named by app-id)
    owe every event a delivery."""
    try:
        uuid.UUID(group)
    except ValueError:
        return False
    return True


def _groups(lines: list[str]) -> list[dict[str, str]]:
    """`XINFO GROUPS` as redis-cli prints it (field, value, field, value, ...; each group
    starts with `name`)."""
    groups: list[dict[str, str]] = []
    for name, value in zip(lines[0::2], lines[1::2], strict=False):
        if name == "name":
            groups.append({})
        if groups:
            groups[-1][name] = value
    return groups


def _mentions(envelope: dict[str, Any], ours: set[str]) -> bool:
    data = envelope.get("data") or {}
    return isinstance(data, dict) and data.get("order_id") in ours


def _our_ids(run: Run) -> set[str]:
    return {s.order_id for s in run.shoppers}


def outbox_left(cluster: Cluster, run: Run) -> dict[str, int]:
    """Events saved but not yet published, per outbox (scoped to the run's ids)."""
    orders = sorted(_our_ids(run))
    carts = sorted({s.cart_id for s in run.shoppers if s.cart_id})
    products = sorted({s.product_id for s in run.skus})
    pattern = "|".join(sorted({s.sku for s in run.skus} | set(orders)))
    catalog_batches = int(
        cluster.sql(
            "SELECT count(*) FROM dapr_state WHERE key LIKE 'catalog||outbox:%' "
            f"AND value::text ~ '({pattern})'"
        )
    )
    docs = documents(
        cluster,
        [f"orders||OrderActor||{o}||outbox" for o in orders]
        + [f"cart||CartActor||{c}||outbox" for c in carts]
        + [f"payments||payment:{o}" for o in orders]
        + [f"catalog||product:{p}" for p in products],
    )
    count: Counter[str] = Counter()
    for key, value in docs.items():
        if key.startswith("orders||"):
            count["order actors"] += len(value or [])
        elif key.startswith("cart||"):
            count["cart actors"] += len(value or [])
        elif key.startswith("payments||"):
            count["payments"] += len(value.get("outbox") or [])
        elif value.get("outbox_state") == "pending" or value.get("outbox"):
            count["catalog products"] += len(value.get("outbox") or []) or 1
    return {
        "catalog batches": catalog_batches,
        "catalog products": count["catalog products"],
        "order actors": count["order actors"],
        "cart actors": count["cart actors"],
        "payments": count["payments"],
    }


# -- the invariants ---------------------------------------------------------------------------
def check(cluster: Cluster, run: Run) -> Findings:
    """Every invariant of the module docstring, over the run's orders and SKUs."""
    f = Findings()
    shoppers = {s.order_id: s for s in run.shoppers}
    ids = sorted(shoppers)
    docs = documents(
        cluster,
        [f"orders||OrderActor||{o}||order" for o in ids]
        + [f"orders||order-view:{o}" for o in ids]
        + [f"payments||payment:{o}" for o in ids]
        + [f"catalog||reservation:{o}" for o in ids]
        + [f"catalog||stock:{s.sku}" for s in run.skus],
    )
    orders = {
        o: docs[f"orders||OrderActor||{o}||order"]
        for o in ids
        if f"orders||OrderActor||{o}||order" in docs
    }
    dead = dead_letters(cluster, set(orders))
    _check_outcomes(f, run, shoppers, orders)
    _check_histories(f, orders, docs, {d["event_id"] for d in dead})
    _check_money(f, cluster, orders, docs)
    _check_stock(f, cluster, run, orders, docs)
    _check_events(f, cluster, run, orders, dead)
    return f


def _check_outcomes(
    f: Findings, run: Run, shoppers: dict[str, Shopper], orders: dict[str, Any]
) -> None:
    finals: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for oid, shopper in shoppers.items():
        saga = run.sagas.get(oid, {"status": "unknown"})
        order = orders.get(oid)
        status = saga.get("status")
        result = saga.get("result") or {}
        outcome = result.get("outcome", status)
        if status == "none":
            if shopper.accepted:
                f.violate("accepted order has no saga", order_id=oid)
            why = "sold out at the cart" if shopper.refused == "out of stock" else "gave up"
            finals[f"never placed ({why})"] += 1
            continue
        if status != "completed":
            f.violate(
                "saga not completed",
                order_id=oid,
                saga=status,
                failure=saga.get("failure"),
                order=order and order["status"],
            )
            finals[f"saga {status}"] += 1
            continue
        if outcome == "rejected":
            code = (result.get("reason") or {}).get("code", "?")
            outcomes[f"rejected ({code})"] += 1
            if order is None:
                finals["rejected before an order"] += 1
                continue
            expected = "cancelled"
        else:
            outcomes[outcome] += 1
            expected = OUTCOME_STATUS.get(outcome, "?")
        if order is None:
            f.violate("saga ended without its order", order_id=oid, outcome=outcome)
            continue
        if order["status"] != expected or order["status"] not in TERMINAL:
            f.violate(
                "order does not match its saga",
                order_id=oid,
                outcome=outcome,
                status=order["status"],
            )
        label = order["status"]
        if label == "cancelled":
            label += (
                " (payment timeout)"
                if outcome == "cancelled"
                else f" ({outcome}: {(result.get('reason') or {}).get('code', '?')})"
            )
        if label == "cancelled (payment timeout)" and shopper.payment_method == "pm_card_visa":
            finals["of which a visa payment whose result was lost"] += 1
        finals[label] += 1
    f.counts["orders per final status"] = dict(sorted(finals.items()))
    f.counts["saga outcomes"] = dict(sorted(outcomes.items()))
    accepted = [s for s in shoppers.values() if s.accepted]
    f.counts["shoppers"] = {
        "placed": len(shoppers),
        "accepted": len(accepted),
        "gave up": sum(1 for s in shoppers.values() if s.gave_up),
        "requests": sum(s.attempts for s in shoppers.values()),
        "failed answers": dict(sum((s.errors for s in shoppers.values()), Counter())),
    }
    for s in shoppers.values():
        if s.gave_up:
            f.counts.setdefault("gave up", []).append(f"{s.order_id}: {s.gave_up[:200]}")
        if s.refused and s.refused != "out of stock":  # a retry gets the first answer
            f.violate("shopper's request refused", order_id=s.order_id, answer=s.gave_up[:300])
        elif s.gave_up and not s.refused:
            f.violate("shopper could not place the order", order_id=s.order_id, why=s.gave_up)


def _check_histories(
    f: Findings, orders: dict[str, Any], docs: dict[str, Any], dead: set[str]
) -> None:
    stale = 0
    for oid, order in orders.items():
        history = order["history"]
        tids = [h["transition_id"] for h in history]
        statuses = Counter(h["to_status"] for h in history)
        if len(set(tids)) != len(tids) or any(n > 1 for n in statuses.values()):
            f.violate(
                "a transition applied twice",
                order_id=oid,
                history=[(h["to_status"], h["transition_id"]) for h in history],
            )
        if order["status"] == "paid" and statuses["paid"] != 1:
            f.violate(
                "paid order without exactly one paid transition",
                order_id=oid,
                paid=statuses["paid"],
            )
        if order["version"] != len(history):
            f.violate(
                "order version does not count its transitions",
                order_id=oid,
                version=order["version"],
                history=len(history),
            )
        view = docs.get(f"orders||order-view:{oid}")
        if view is None or view["version"] != order["version"] or view["status"] != order["status"]:
            stale += 1
            last = f"{oid}:{order['version']}"
            f.violate(
                f"orders projection behind the order ({DEAD_LETTERED}: {last})"
                if last in dead
                else "orders projection behind the order (an order event not applied)",
                order_id=oid,
                order=(order["status"], order["version"]),
                view=view and (view["status"], view["version"]),
            )
    f.counts["projection stale"] = stale


def _check_money(
    f: Findings, cluster: Cluster, orders: dict[str, Any], docs: dict[str, Any]
) -> None:
    payments: Counter[str] = Counter()
    for oid, order in orders.items():
        doc = docs.get(f"payments||payment:{oid}")
        payment = doc["payment"] if doc else None
        payments[payment["status"] if payment else "none"] += 1
        if order["status"] == "paid":
            if payment is None or payment["status"] != "succeeded":
                f.violate(
                    "paid order without a succeeded payment",
                    order_id=oid,
                    payment=payment and payment["status"],
                )
            elif payment["amount"] != order["totals"]["total"] or payment["refunds"]:
                f.violate(
                    "paid order charged wrongly",
                    order_id=oid,
                    amount=payment["amount"],
                    total=order["totals"]["total"],
                    refunds=payment["refunds"],
                )
        elif payment is not None and payment["status"] not in ("failed", "canceled"):
            f.violate(
                "unpaid order has a payment that is not failed/canceled",
                order_id=oid,
                status=order["status"],
                payment=payment["status"],
            )
    links = json.loads(
        cluster.sql(
            "SELECT coalesce(json_object_agg(o, n), '{}') FROM (SELECT value->>'order_id' AS o, "
            "count(*) AS n FROM dapr_state WHERE key LIKE 'payments||intent:%' "
            f"AND value->>'order_id' = ANY({_ids_sql(sorted(orders))}) GROUP BY 1) t"
        )
        or "{}"
    )
    processed: defaultdict[str, set[str]] = defaultdict(set)
    for _, ev in stream_events(cluster, "payment-events"):
        data = ev.get("data") or {}
        if ev.get("event_type") == "PaymentProcessed" and data.get("order_id") in orders:
            processed[data["order_id"]].add(ev["event_id"])
    for oid, order in orders.items():
        n = len(processed.get(oid, ()))
        if (order["status"] == "paid" and n != 1) or (order["status"] != "paid" and n):
            f.violate(
                "PaymentProcessed events do not match the order",
                order_id=oid,
                status=order["status"],
                events=sorted(processed.get(oid, ())),
            )
    f.counts["charges"] = {
        "payment records per status": dict(sorted(payments.items())),
        "succeeded charges": payments["succeeded"],
        "paid orders": sum(1 for o in orders.values() if o["status"] == "paid"),
        "PaymentProcessed events (distinct)": sum(len(v) for v in processed.values()),
        "stripe-mock intents per order": dict(sorted(Counter(links.values()).items())),
    }


def _check_stock(
    f: Findings, cluster: Cluster, run: Run, orders: dict[str, Any], docs: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    committed: Counter[str] = Counter()
    paid_units: Counter[str] = Counter()
    reservations: Counter[str] = Counter()
    for oid, order in orders.items():
        res = docs.get(f"catalog||reservation:{oid}")
        reservations[res["status"] if res else "none"] += 1
        if order["status"] == "paid":
            for item in order["items"]:
                paid_units[item["sku"]] += item["quantity"]
            if res is None or res["status"] != "committed":
                f.violate(
                    "paid order's stock not committed",
                    order_id=oid,
                    reservation=res and res["status"],
                )
        elif res is not None and res["status"] not in ("released", "restocked"):
            f.violate(
                "unpaid order's reservation not released",
                order_id=oid,
                status=order["status"],
                reservation=res["status"],
            )
        if res is not None and res["status"] == "committed":
            for line in res["lines"]:
                committed[line["sku"]] += line["quantity"]
    commits: defaultdict[str, set[str]] = defaultdict(set)
    for _, ev in stream_events(cluster, "inventory-events"):
        data = ev.get("data") or {}
        if ev.get("event_type") == "StockCommitted" and data.get("order_id") in orders:
            commits[data["order_id"]].add(ev["event_id"])
    for oid, order in orders.items():
        n = len(commits.get(oid, ()))
        if n != (1 if order["status"] == "paid" else 0):
            f.violate(
                "StockCommitted events do not match the order",
                order_id=oid,
                status=order["status"],
                events=n,
            )
    for sku in run.skus:
        stock = docs.get(f"catalog||stock:{sku.sku}")
        on_hand = stock["on_hand"] if stock else sku.received
        holds = (stock or {}).get("holds", {})
        reserved = sum(
            h["quantity"] for h in holds.values() if datetime.fromisoformat(h["expires_at"]) > now
        )
        row = {
            "sku": sku.sku,
            "received": sku.received,
            "committed": committed[sku.sku],
            "reserved": reserved,
            "available": on_hand - reserved,
            "paid units": paid_units[sku.sku],
            "holds left": len(holds),
        }
        row["balanced"] = (
            row["committed"] + row["reserved"] + row["available"] == sku.received
            and row["committed"] == row["paid units"]
            and not holds
        )
        f.ledger.append(row)
        if not row["balanced"]:
            f.violate("stock ledger does not balance", **row, holds=sorted(holds)[:5])
    f.counts["reservations"] = dict(sorted(reservations.items()))


def dead_letters(cluster: Cluster, ours: set[str]) -> list[dict[str, str]]:
    """Our events on the dead-letter topic: given up by a subscriber (its retries exhausted,
    or its app answered DROP), with the topic they came from."""
    found = []
    for _, event in stream_events(cluster, "dead-letter-events", cloud=True):
        envelope = event.get("data")
        if isinstance(envelope, dict) and _mentions(envelope, ours):
            found.append(
                {
                    "topic": str(event.get("topic")),
                    "event_type": str(envelope.get("event_type")),
                    "event_id": str(envelope.get("event_id")),
                }
            )
    return found


def _check_events(
    f: Findings, cluster: Cluster, run: Run, orders: dict[str, Any], dead: list[dict[str, str]]
) -> None:
    ours = set(orders)
    seen: defaultdict[str, set[str]] = defaultdict(set)
    paid_events: defaultdict[str, set[str]] = defaultdict(set)
    total = 0
    for _, ev in stream_events(cluster, "order-events"):
        data = ev.get("data") or {}
        if data.get("order_id") in ours:
            total += 1
            seen[data["order_id"]].add(ev["event_id"])
            if ev.get("event_type") == "OrderPaid":
                paid_events[data["order_id"]].add(ev["event_id"])
    lost = 0
    for oid, order in orders.items():
        wanted = {f"{oid}:{v}" for v in range(1, order["version"] + 1)}
        if order["status"] == "paid":
            wanted.add(f"{oid}:placed")
        if missing := sorted(wanted - seen[oid]):
            lost += len(missing)
            f.violate("order events never published", order_id=oid, missing=missing)
        if len(paid_events[oid]) > (1 if order["status"] == "paid" else 0):
            f.violate(
                "OrderPaid published for two versions",
                order_id=oid,
                events=sorted(paid_events[oid]),
            )
    unconsumed = unconsumed_events(cluster, ours)
    for item in unconsumed:
        f.violate("event not consumed", event=item)
    disrupted = {e.target for r in run.rounds for e in r.disruptions}
    for d in dead:
        # From a topic one of whose subscribers (app or sidecar) was killed in the run, or
        # when a store was restarted: the known loss; anything else is a new one.
        known = SUBSCRIBERS.get(d["topic"], set()) & disrupted or disrupted & {"postgres", "redis"}
        f.violate(f"event {DEAD_LETTERED}" if known else "event dead-lettered", **d)
    left = outbox_left(cluster, run)
    for name, n in left.items():
        if n:
            f.violate("outbox not drained", outbox=name, events=n)
    f.counts["events"] = {
        "order-events of our orders": total,
        "missing versions": lost,
        "unconsumed": len(unconsumed),
        "dead-lettered": len(dead),
    }
    f.counts["outbox left"] = left
    signals = sidecar_signals(cluster, run.log_offsets)
    f.counts["sidecar log signals"] = signals
    for app_id, counts in signals.items():
        if stuck := counts.get("activity completions retried (distinct)"):
            f.violate(
                f"{app_id} sidecar retries forever to complete activities it does not know "
                f"({STUCK_COMPLETIONS})",
                activities=stuck,
            )


#: What the sidecars' logs say about the run (counted for the report, not judged).
SIDECAR_SIGNALS = {
    "deliveries to the app failed": re.compile(r"retriable error while publishing a subscribed"),
    "circuit breaker open": re.compile(r"circuit breaker is open"),
    "dead-letter sends failed": re.compile(r"error sending message to dead letter"),
    "activity completions retried (distinct)": re.compile(
        r"error completing activity task: unknown instance ID/task ID combo: (\S+?),"
    ),
}


def log_sizes(cluster: Cluster) -> dict[str, int]:
    """Where each sidecar log of the checkout path ends now (the run's lines come after)."""
    paths = {a: cluster.logs / f"{a}_daprd.log" for a in TARGETS}
    return {a: p.stat().st_size if p.exists() else 0 for a, p in paths.items()}


def sidecar_signals(cluster: Cluster, since: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per app of the checkout path: how often its daprd logged each of `SIDECAR_SIGNALS`
    after `since` (`log_sizes` when the run began)."""
    found: dict[str, dict[str, int]] = {}
    for app_id in TARGETS:
        path = cluster.logs / f"{app_id}_daprd.log"
        text = ""
        if path.exists():
            with path.open("rb") as log:
                log.seek(since.get(app_id, 0))
                text = log.read().decode(errors="replace")
        counts = {}
        for name, pattern in SIDECAR_SIGNALS.items():
            hits = pattern.findall(text)
            counts[name] = len(set(hits)) if pattern.groups else len(hits)
        if any(counts.values()):
            found[app_id] = {k: v for k, v in counts.items() if v}
    return found


def split_known(findings: Findings) -> tuple[list[str], list[str]]:
    """(the known violation's instances, every other violation)."""
    known = [v for v in findings.violations if any(k in v for k in KNOWN)]
    return known, [v for v in findings.violations if v not in known]


# -- report -----------------------------------------------------------------------------------
def report(run: Run, findings: Findings) -> str:
    out = [f"== chaos: {len(run.rounds)} rounds, seed {run.seed} =="]
    out.append(
        "round  disruption (at s, down s, back after s, how)"
        + " " * 17
        + "accepted  requests  round s"
    )
    for r in run.rounds:
        what = "; ".join(
            f"{e.target}/{e.process} {e.at:.1f} {e.down:.1f} {e.back_after:.1f} {e.recovery}"
            for e in r.disruptions
        )
        accepted = sum(s.accepted for s in r.shoppers)
        requests = sum(s.attempts for s in r.shoppers)
        out.append(
            f"{r.number:>5}  {what:<62} {accepted:>3}/{len(r.shoppers):<5} {requests:>8}  "
            f"{r.seconds:7.1f}"
        )
    kills: Counter[str] = Counter()
    backs: defaultdict[str, list[float]] = defaultdict(list)
    recoveries: Counter[str] = Counter()
    for e in (e for r in run.rounds for e in r.disruptions):
        name = f"{e.target} {'sidecar' if e.process == 'daprd' else e.process}"
        kills[name] += 1
        backs[name].append(e.back_after)
        recoveries[e.recovery] += 1
    out.append("kills per target: " + ", ".join(f"{k} {n}" for k, n in sorted(kills.items())))
    out.append(
        "back after (s, mean/max): "
        + ", ".join(f"{k} {statistics.mean(v):.1f}/{max(v):.1f}" for k, v in sorted(backs.items()))
    )
    out.append("recoveries: " + ", ".join(f"{k} {n}" for k, n in sorted(recoveries.items())))
    for name, value in findings.counts.items():
        if name == "gave up":
            continue
        out.append(f"{name}: {json.dumps(value, sort_keys=False)}")
    out.append("ledger per SKU:")
    out.append(
        "  sku                          received  committed  reserved  available  paid units"
        "  holds  ok"
    )
    for row in findings.ledger:
        out.append(
            f"  {row['sku']:<28} {row['received']:>8} {row['committed']:>10} {row['reserved']:>9} "
            f"{row['available']:>10} {row['paid units']:>11} {row['holds left']:>6}  "
            f"{'yes' if row['balanced'] else 'NO'}"
        )
    durations = [
        (
            datetime.fromisoformat(s["last_updated_at"]) - datetime.fromisoformat(s["created_at"])
        ).total_seconds()
        for s in run.sagas.values()
        if s.get("created_at") and s.get("last_updated_at")
    ]
    if durations:
        durations.sort()
        p95 = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))]
        out.append(
            f"saga durations (s): p50 {statistics.median(durations):.1f}, p95 {p95:.1f}, "
            f"max {durations[-1]:.1f}"
        )
    accepts = [s.seconds_to_accept for s in run.shoppers if s.seconds_to_accept is not None]
    if accepts:
        out.append(
            f"shopper time to 202 (s): mean {statistics.mean(accepts):.2f}, max {max(accepts):.1f}"
        )
    if run.backlog:
        out.append(f"left when the sagas had ended: {json.dumps(run.backlog)}")
    out.append("durations (s): " + ", ".join(f"{k} {v:.1f}" for k, v in run.durations.items()))
    for line in findings.counts.get("gave up", []):
        out.append(f"gave up: {line}")
    if findings.violations:
        out.append(f"VIOLATIONS ({len(findings.violations)}):")
        out.extend(f"  - {v}" for v in findings.violations)
    else:
        out.append("violations: none")
    return "\n".join(out)


# -- command line -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--shoppers", type=int, default=20, help="concurrent checkouts per round")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--short", action="store_true", help="3 rounds of 6 shoppers")
    parser.add_argument("--no-stores", action="store_true", help="no PostgreSQL/Redis restarts")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's logs and data")
    args = parser.parse_args(argv)
    if args.short:
        args.rounds, args.shoppers = 3, 6
    from bench.common import start_cluster

    rng = random.Random(args.seed)
    started = time.monotonic()
    cluster = start_cluster(log_level="INFO", env=CLUSTER_ENV)
    print(f"[chaos] cluster in {cluster.workdir}", flush=True)
    findings = Findings()
    run = Run(seed=args.seed, skus=[])
    ok = False
    try:
        run.skus = stock_shop(cluster, rng)
        run.durations["set-up"] = time.monotonic() - started
        t = time.monotonic()
        rounds = plan_rounds(rng, args.rounds, stores=not args.no_stores)
        play(cluster, run, rounds, args.shoppers, rng, log=lambda m: print(m, flush=True))
        run.durations["rounds"] = time.monotonic() - t
        t = time.monotonic()
        settle(cluster, run, timeout=PAYMENT_TIMEOUT_SECONDS + 280)
        run.durations["settle"] = time.monotonic() - t
        t = time.monotonic()
        drain(cluster, run, timeout=150)
        run.durations["drain"] = time.monotonic() - t
        t = time.monotonic()
        findings = check(cluster, run)
        run.durations["checks"] = time.monotonic() - t
        run.durations["total"] = time.monotonic() - started
        print(report(run, findings), flush=True)
        ok = not findings.violations
    finally:
        try:
            cluster.stop()
        finally:
            if ok and not args.keep:
                cluster.remove()
            else:
                print(f"[chaos] logs kept in {cluster.logs}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
