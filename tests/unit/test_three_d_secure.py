"""3-D Secure, without Dapr or Stripe: what `requires_action` does to a payment record, the
local stand-ins (Stripe's answer for its authentication test cards, the hosted challenge and
the webhooks that follow it, through the real signature check), how long the saga waits,
and who sees the client secret in a checkout's state."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.checkout import domain as checkout_domain
from apps.checkout import workflows
from apps.checkout.adapters import (
    SLOW_CHECK,
    DaprSagaEngine,
    _checkout_state,
    awaiting_authentication,
)
from apps.checkout.service import CheckoutService, Owner
from apps.contracts.checkout import CheckoutState, CheckoutStatus
from apps.contracts.errors import Conflict, NotFound
from apps.contracts.payments import CancelRequest, CreatePayment, PaymentAction, PaymentStatus
from apps.payments import domain
from apps.payments.adapters import (
    SIGNATURE_HEADER,
    LocalStripe,
    LocalWebhookRelay,
    local_next_action,
    verify_webhook,
)
from apps.payments.service import PaymentsService
from apps.platform.dapr import InvokeResult
from tests.fakes.payments import FakePaymentStore, FakePublisher, FakeStripe

S = PaymentStatus
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SECRET = "whsec_unit"


def create(order_id: str = "o-1", method: str = "pm_card_authenticationRequired") -> CreatePayment:
    return CreatePayment(
        order_id=order_id,
        amount=Decimal("120.00"),
        payment_method=method,
        email="ada@example.com",
    )


# -- payment rules ---------------------------------------------------------------------------
def test_requires_action_is_its_own_waiting_status() -> None:
    assert domain.status_of_intent("requires_action") == S.REQUIRES_ACTION
    assert S.REQUIRES_ACTION in domain.WAITING and S.PROCESSING in domain.WAITING
    assert S.SUCCEEDED not in domain.WAITING


def _held() -> Any:
    from tests.unit.test_payments import payment

    return domain.awaiting_authentication(
        payment(), "pi_1_secret_x", {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
    )


def test_the_client_secret_is_kept_only_while_the_shopper_must_act() -> None:
    held = _held()
    assert held.status == S.REQUIRES_ACTION and held.version == 1
    assert held.client_secret == "pi_1_secret_x" and held.next_action is not None
    assert "pi_1_secret_x" not in repr(held)  # never in a log line that prints the record
    paid = domain.apply_status(held, S.SUCCEEDED, "", NOW, "evt_1")
    assert paid.payment.status == S.SUCCEEDED and paid.event is not None
    assert paid.event.EVENT_TYPE == "PaymentProcessed"
    assert paid.payment.client_secret is None and paid.payment.next_action is None
    failed = domain.apply_status(held, S.FAILED, "We are unable to authenticate", NOW, "evt_2")
    assert failed.event is not None and failed.event.EVENT_TYPE == "PaymentFailed"
    assert failed.payment.client_secret is None
    assert "client_secret" not in failed.event.model_dump()  # events never carry it


# -- the local stand-ins of Stripe -----------------------------------------------------------
def test_local_stripe_answers_requires_action_for_the_authentication_test_cards() -> None:
    mock = FakeStripe()  # stripe-mock: the same fixture status for every card
    local = LocalStripe(mock)
    for method in ("pm_card_authenticationRequired", "pm_card_threeDSecure2Required"):
        answer = asyncio.run(local.create_and_confirm(create("o-3ds", method), "o-3ds:intent"))
        assert answer.status == "requires_action"
        assert answer.client_secret == "pi_o-3ds_secret_fixture"  # the intent's own secret
        assert answer.next_action == local_next_action("pi_o-3ds", "o-3ds")
    visa = asyncio.run(local.create_and_confirm(create("o-v", "pm_card_visa"), "o-v:intent"))
    assert visa.status == "succeeded"  # what Stripe confirms for its paying test card
    assert visa.intent_id == "pi_o-v" and visa.next_action is None
    declined = create("o-d", "pm_card_chargeDeclined")
    answer = asyncio.run(local.create_and_confirm(declined, "o-d:intent"))
    assert answer.status == "requires_payment_method"  # stripe-mock's; the webhook declines
    action = local_next_action("pi_o-3ds", "o-3ds")
    assert action["type"] == "use_stripe_sdk"
    sdk = action["use_stripe_sdk"]
    assert sdk["type"] == "three_d_secure_redirect" and sdk["source"].startswith("src_local_")
    assert sdk["stripe_js"] == "/api/payments/o-3ds/authenticate" and sdk["local_stand_in"]


class Loopback:
    """The relay's transport: what it sends goes through the webhook's signature check to
    the service, as the app's own endpoint does."""

    def __init__(self) -> None:
        self.service: PaymentsService | None = None
        self.events: list[dict[str, Any]] = []

    async def invoke(self, app_id: str, path: str, **kw: Any) -> InvokeResult:
        assert (app_id, path, kw["method"]) == ("payments", "webhook", "POST")
        event = verify_webhook(kw["content"], kw["headers"][SIGNATURE_HEADER], SECRET, 300)
        self.events.append(event)
        assert self.service is not None
        outcome = await self.service.on_webhook(event)
        return InvokeResult(200, {"received": True, "outcome": outcome}, httpx.Headers())


def local_service(
    stripe: FakeStripe | None = None,
) -> tuple[PaymentsService, FakePublisher, Loopback]:
    loop, publisher = Loopback(), FakePublisher()
    relay = LocalWebhookRelay(loop, SECRET)  # type: ignore[arg-type]
    service = PaymentsService(
        LocalStripe(stripe or FakeStripe()), FakePaymentStore(), publisher, "payments", relay
    )
    loop.service = service
    return service, publisher, loop


def test_a_3ds_payment_waits_with_its_secret_and_no_webhook_comes_until_authenticated() -> None:
    async def scenario() -> None:
        service, publisher, loop = local_service()
        payment, created = await service.create(create(), "corr-1")
        assert created and payment.status == S.REQUIRES_ACTION
        assert payment.client_secret == "pi_o-1_secret_fixture"
        assert payment.next_action is not None
        assert payment.next_action["type"] == "use_stripe_sdk"
        assert loop.events == [] and publisher.published == []  # nothing happened yet
        again, created = await service.create(create(), "corr-2")  # the saga's retry
        assert not created and again == payment and loop.events == []
        paid = await service.authenticate("o-1", passed=True)
        assert paid.status == S.SUCCEEDED and paid.client_secret is None
        assert [e["type"] for e in loop.events] == ["payment_intent.succeeded"]
        assert publisher.types() == ["PaymentProcessed"]
        with pytest.raises(Conflict):  # nothing waits for authentication any more
            await service.authenticate("o-1", passed=True)

    asyncio.run(scenario())


def test_a_failed_authentication_fails_the_payment_with_stripes_reason() -> None:
    async def scenario() -> None:
        service, publisher, loop = local_service()
        await service.create(create("o-2"), "corr")
        failed = await service.authenticate("o-2", passed=False)
        assert failed.status == S.FAILED
        assert failed.failure_reason.startswith("We are unable to authenticate your payment")
        error = loop.events[0]["data"]["object"]["last_payment_error"]
        assert error["code"] == "payment_intent_authentication_failure"
        assert publisher.types() == ["PaymentFailed"]
        assert publisher.published[0][1].data["status"] == "failed"

    asyncio.run(scenario())


def test_the_stand_in_is_refused_with_real_stripe_and_for_payments_not_waiting() -> None:
    async def scenario() -> None:
        real = PaymentsService(FakeStripe(), FakePaymentStore(), FakePublisher(), "payments")
        await real.create(create("o-3"), "corr")
        with pytest.raises(NotFound):  # no relay: Stripe hosts the challenge
            await real.authenticate("o-3", passed=True)
        service, _, _ = local_service()
        await service.create(create("o-4", "pm_card_visa"), "corr")  # paid at once, not 3DS
        with pytest.raises(Conflict):
            await service.authenticate("o-4", passed=True)
        with pytest.raises(NotFound):
            await service.authenticate("o-none", passed=True)

    asyncio.run(scenario())


def test_an_abandoned_authentication_is_cancelled_and_a_late_success_changes_nothing() -> None:
    async def scenario() -> None:
        stripe = FakeStripe()
        service, publisher, loop = local_service(stripe)
        await service.create(create("o-5"), "corr")
        synced = await service.sync("o-5", "corr")  # stripe-mock's status is not final
        assert synced.status == S.REQUIRES_ACTION
        cancelled = await service.cancel("o-5", CancelRequest(reason="timed out"), "corr")
        assert cancelled.status == S.CANCELED and cancelled.client_secret is None
        assert stripe.cancelled == ["pi_o-5"]
        assert publisher.types() == ["PaymentFailed"] and loop.events == []
        with pytest.raises(Conflict):
            await service.authenticate("o-5", passed=True)

    asyncio.run(scenario())


# -- the saga's wait ---------------------------------------------------------------------------
def test_the_saga_waits_longer_for_a_shopper_authenticating_than_for_a_webhook() -> None:
    wait = checkout_domain.payment_wait(S.REQUIRES_ACTION, 30, 600)
    assert wait is not None and (wait.seconds, wait.shopper_acts) == (600, True)
    assert "3-D Secure" in wait.timeout_reason
    plain = checkout_domain.payment_wait(S.PROCESSING, 30, 600)
    assert plain is not None and (plain.seconds, plain.shopper_acts) == (30, False)
    assert plain.timeout_reason == "Payment was not completed in time"
    old = checkout_domain.payment_wait(S.REQUIRES_ACTION, 30, None)  # started before it
    assert old is not None and old.seconds == 30
    for final in (S.SUCCEEDED, S.FAILED, S.CANCELED):
        assert checkout_domain.payment_wait(final, 30, 600) is None


class State:
    """What the workflow client answers about an instance (the fields read here)."""

    def __init__(self, custom: str | None, status: Any = None) -> None:
        from dapr.ext.workflow import WorkflowStatus

        self.runtime_status = status or WorkflowStatus.RUNNING
        self.serialized_output = None
        self.failure_details = None
        self.created_at = self.last_updated_at = None
        self.serialized_custom_status = custom
        self.serialized_input = '{"email": "ada@example.com", "user_id": null}'


def test_the_checkout_state_says_when_the_saga_waits_for_the_shopper() -> None:
    from dapr.ext.workflow import WorkflowStatus

    waiting = workflows.AWAITING_AUTHENTICATION
    assert awaiting_authentication(waiting) and awaiting_authentication(f'"{waiting}"')
    assert not awaiting_authentication("") and not awaiting_authentication(None)
    state = _checkout_state("o-1", State(waiting))
    assert state.payment == PaymentAction(status=S.REQUIRES_ACTION)
    assert _checkout_state("o-1", State("")).payment is None
    ended = _checkout_state("o-1", State(waiting, WorkflowStatus.COMPLETED))
    assert ended.payment is None


class Engine:
    """The saga engine port: one instance, as the tests set it."""

    def __init__(self, state: CheckoutState) -> None:
        self.state = state
        self.waits: list[bool] = []

    async def describe(self, instance_id: str) -> tuple[CheckoutState, dict[str, Any]] | None:
        return self.state, {"email": "ada@example.com", "user_id": None}

    async def status(self, instance_id: str) -> CheckoutState | None:
        return self.state

    async def wait(
        self, instance_id: str, seconds: float, awaiting_shopper: bool = False
    ) -> tuple[CheckoutState, dict[str, Any]] | None:
        self.waits.append(awaiting_shopper)
        return await self.describe(instance_id)


class Payments:
    def __init__(self) -> None:
        self.reads = 0

    async def payment_action(self, order_id: str) -> PaymentAction | None:
        self.reads += 1
        return PaymentAction(
            status=S.REQUIRES_ACTION,
            client_secret="pi_1_secret_x",
            next_action={"type": "use_stripe_sdk"},
        )


def checkout(engine: Engine, payments: Payments) -> CheckoutService:
    return CheckoutService(
        engine,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        30,
        3600,
        600,
        payments,
    )


def test_only_the_owner_gets_the_client_secret() -> None:
    async def scenario() -> None:
        waiting = CheckoutState(
            order_id="o-1",
            status=CheckoutStatus.RUNNING,
            payment=PaymentAction(status=S.REQUIRES_ACTION),
        )
        engine, payments = Engine(waiting), Payments()
        service = checkout(engine, payments)
        mine = await service.status("o-1", Owner(email="Ada@Example.com"), wait_seconds=2)
        assert mine.payment is not None and mine.payment.client_secret == "pi_1_secret_x"
        assert mine.payment.next_action == {"type": "use_stripe_sdk"}
        assert engine.waits == [True]  # already waiting for the shopper: the poll waits on
        with pytest.raises(NotFound):
            await service.status("o-1", Owner(email="mallory@example.com"))
        staff = await service.status("o-1")  # internal callers: the status only
        assert staff.payment == PaymentAction(status=S.REQUIRES_ACTION)
        assert payments.reads == 1
        engine.state = CheckoutState(order_id="o-1", status=CheckoutStatus.RUNNING)
        plain = await service.status("o-1", Owner(email="ada@example.com"), wait_seconds=2)
        assert plain.payment is None and payments.reads == 1 and engine.waits[-1] is False

    asyncio.run(scenario())


class Waiter:
    """The async workflow client a long poll reads through: the saga's custom status
    changes after `flip` reads."""

    def __init__(self, flip: int) -> None:
        self.reads, self.flip = 0, flip

    async def get_orchestration_state(self, instance_id: str, fetch_payloads: bool) -> Any:
        self.reads += 1
        return State(workflows.AWAITING_AUTHENTICATION if self.reads > self.flip else "")


def test_a_long_poll_answers_as_soon_as_the_saga_waits_for_the_shopper(monkeypatch: Any) -> None:
    monkeypatch.setattr("apps.checkout.adapters.WorkflowState", lambda found: found)

    async def scenario() -> None:
        waiter = Waiter(flip=2)
        engine = DaprSagaEngine(None, waiter=waiter)  # type: ignore[arg-type]
        started = asyncio.get_running_loop().time()
        found = await engine.wait("o-1", 3.0)
        assert found is not None and found[0].payment is not None
        elapsed = asyncio.get_running_loop().time() - started
        assert elapsed < 2 * SLOW_CHECK + 0.5 and waiter.reads == 3  # read at 0, 1 and 2 paces
        # Already waiting for the shopper when the poll began: it waits on (the time is up).
        still = Waiter(flip=0)
        engine = DaprSagaEngine(None, waiter=still)  # type: ignore[arg-type]
        found = await engine.wait("o-1", 0.6, awaiting_shopper=True)
        assert found is not None and found[0].payment is not None and still.reads >= 2

    asyncio.run(scenario())
