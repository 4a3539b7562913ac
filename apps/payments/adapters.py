"""Stripe (the official SDK, async) and Dapr (state, invocation) behind the service's ports."""

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import stripe

from apps.contracts.errors import DomainError, ErrorCode, InvalidRequest
from apps.contracts.events import EventEnvelope
from apps.contracts.names import AppId
from apps.contracts.payments import CreatePayment, Payment
from apps.payments import domain
from apps.payments.service import Confirmation, StripeDeclined, StripeGateway
from apps.platform.dapr import InvokeResult, Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore

PAYMENT_KEY = "payment:{order_id}"
INTENT_KEY = "intent:{intent_id}"
SIGNATURE_HEADER = "Stripe-Signature"


class StripeSdkGateway:
    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    async def create_and_confirm(self, cmd: CreatePayment, idempotency_key: str) -> Confirmation:
        params: Any = {
            "amount": domain.to_minor(cmd.amount),
            "currency": cmd.currency.lower(),
            "payment_method": cmd.payment_method,
            "payment_method_types": ["card"],
            "confirm": True,
            "receipt_email": str(cmd.email),
            "metadata": {"order_id": cmd.order_id},
        }
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            raise StripeDeclined(exc.user_message or "The card was declined") from exc
        except stripe.StripeError as exc:
            raise DomainError(
                "The payment provider is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc
        action = intent.next_action
        return Confirmation(
            intent_id=str(intent.id),
            status=str(intent.status),
            client_secret=str(intent.client_secret or ""),
            next_action=dict(action.to_dict()) if action is not None else None,
        )

    async def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> int:
        params: Any = {"payment_intent": intent_id, "amount": amount_minor}
        try:
            refund = await self.client.v1.refunds.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            # Stripe answered and said no (already refunded, amount too large): a refusal.
            raise DomainError(
                str(exc.user_message or exc.code or "refund refused"),
                code=ErrorCode.UNPROCESSABLE_ENTITY,
            ) from exc
        except stripe.StripeError as exc:
            raise DomainError(
                "The payment provider is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc
        return int(refund.amount)

    async def status(self, intent_id: str) -> str:
        try:
            intent = await self.client.v1.payment_intents.retrieve_async(intent_id)
        except stripe.StripeError as exc:
            raise DomainError(
                "The payment provider is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc
        return str(intent.status)

    async def cancel(self, intent_id: str, idempotency_key: str) -> str:
        """`canceled` when Stripe accepted the cancellation (it only succeeds by cancelling the
        intent; stripe-mock answers it with a fixture status, so the call's success is what
        counts), else the intent's real status (e.g. it succeeded meanwhile)."""
        try:
            await self.client.v1.payment_intents.cancel_async(
                intent_id, options={"idempotency_key": idempotency_key}
            )
            return "canceled"
        except stripe.InvalidRequestError:
            # Not cancellable any more (it succeeded meanwhile): answer its real status.
            return await self.status(intent_id)
        except stripe.StripeError as exc:
            raise DomainError(
                "The payment provider is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc


class StatePaymentStore:
    """`payment:{order_id}` holds the payment and its unpublished events; `intent:{id}` maps
    a PaymentIntent back to its order (webhooks name the intent)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def load(self, order_id: str) -> tuple[Payment, list[EventEnvelope]] | None:
        found = await self.store.get(PAYMENT_KEY.format(order_id=order_id))
        return _decode(found.value) if found else None

    async def change(
        self,
        order_id: str,
        decide: Callable[
            [tuple[Payment, list[EventEnvelope]] | None],
            tuple[Payment, list[EventEnvelope]] | None,
        ],
    ) -> bool:
        def step(raw: Any | None) -> Any | None:
            result = decide(_decode(raw) if raw is not None else None)
            if result is None:
                return None
            payment, outbox = result
            return {
                "kind": "payment",
                "payment": payment.model_dump(mode="json"),
                "outbox": [e.model_dump(mode="json") for e in outbox],
            }

        return await self.store.compare_and_set(PAYMENT_KEY.format(order_id=order_id), step)

    async def order_of(self, intent_id: str) -> str | None:
        found = await self.store.get(INTENT_KEY.format(intent_id=intent_id))
        return str(found.value["order_id"]) if found else None

    async def link(self, intent_id: str, order_id: str) -> None:
        with contextlib.suppress(EtagMismatch):  # linked by an earlier attempt
            await self.store.insert(INTENT_KEY.format(intent_id=intent_id), {"order_id": order_id})


def _decode(raw: Any) -> tuple[Payment, list[EventEnvelope]]:
    return (
        Payment.model_validate(raw["payment"]),
        [EventEnvelope.model_validate(e) for e in raw.get("outbox", [])],
    )


def verify_webhook(
    payload: bytes, header: str | None, secret: str, tolerance: int
) -> dict[str, Any]:
    """The Stripe SDK's signature check: unsigned, wrongly signed or stale events are a 400,
    and so are events dated more than `tolerance` seconds ahead (the SDK checks only age:
    a future timestamp would keep a captured event replayable for that long)."""
    if not header:
        raise InvalidRequest(f"Missing {SIGNATURE_HEADER} header")
    stamps = [p[2:] for p in header.split(",") if p.startswith("t=")]
    if not stamps or not stamps[0].isdigit() or int(stamps[0]) > time.time() + tolerance:
        raise InvalidRequest("Webhook signature verification failed")
    try:
        event = stripe.Webhook.construct_event(payload, header, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidRequest("Webhook signature verification failed") from exc
    except ValueError as exc:
        raise InvalidRequest("Webhook payload is not a Stripe event") from exc
    return dict(event.to_dict())


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe computes it (HMAC-SHA256 of `{t}.{payload}`)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


#: Stripe's test payment methods whose outcome local mode reproduces (stripe-mock accepts
#: every card): these decline, these wait for an authentication that never comes.
DECLINING_TEST_METHODS = frozenset(
    {
        "pm_card_chargeDeclined",
        "pm_card_visa_chargeDeclined",
        "pm_card_chargeDeclinedInsufficientFunds",
        "pm_card_chargeDeclinedExpiredCard",
        "pm_card_chargeDeclinedFraudulent",
    }
)
UNAUTHENTICATED_TEST_METHODS = frozenset(
    {"pm_card_authenticationRequired", "pm_card_threeDSecure2Required"}
)
#: Stripe's answer when the issuer refuses the cardholder's authentication.
AUTHENTICATION_FAILURE = {
    "code": "payment_intent_authentication_failure",
    "type": "card_error",
    "message": "We are unable to authenticate your payment method. Please choose a different "
    "payment method and try again.",
}
DECLINE = {"code": "card_declined", "type": "card_error", "message": "Your card was declined."}
#: Where the local stand-in for Stripe's hosted challenge is (storefront path, POST).
LOCAL_CHALLENGE = "/api/payments/{order_id}/authenticate"


def local_outcome(payment_method: str) -> str | None:
    """The webhook Stripe would send at confirmation for a test payment method (None: none
    comes before the cardholder has authenticated)."""
    if payment_method in UNAUTHENTICATED_TEST_METHODS:
        return None
    if payment_method in DECLINING_TEST_METHODS:
        return "payment_intent.payment_failed"
    return "payment_intent.succeeded"


def local_next_action(intent_id: str, order_id: str) -> dict[str, Any]:
    """The `next_action` Stripe answers for a card that needs 3-D Secure when no
    `return_url` is given (`use_stripe_sdk`: Stripe.js runs the challenge), shaped as Stripe
    shapes it, with local stand-ins: the challenge is `LOCAL_CHALLENGE` (marked
    `local_stand_in`), not Stripe's hosted page."""
    source = f"src_local_{hashlib.sha256(intent_id.encode()).hexdigest()[:24]}"
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "source": source,
            "stripe_js": LOCAL_CHALLENGE.format(order_id=order_id),
            "local_stand_in": True,
        },
    }


class LocalStripe:
    """stripe-mock answers every confirmation with the same fixture status: in local mode
    this gateway answers what Stripe answers for its test methods: `succeeded` for a card
    that pays (`pm_card_visa`: Stripe confirms it at once, and its webhook that follows
    changes nothing), and for its 3-D Secure test methods (`pm_card_authenticationRequired`,
    `pm_card_threeDSecure2Required`) `requires_action` with the intent's client secret and
    a `use_stripe_sdk` next action. A declining test card keeps stripe-mock's answer and is
    declined by the local webhook (`LocalWebhookRelay`), so that path stays exercised too.
    Off in Azure (real Stripe answers all of this itself)."""

    def __init__(self, stripe: StripeGateway) -> None:
        self.stripe = stripe

    async def create_and_confirm(self, cmd: CreatePayment, idempotency_key: str) -> Confirmation:
        answer = await self.stripe.create_and_confirm(cmd, idempotency_key)
        if local_outcome(cmd.payment_method) == "payment_intent.succeeded":
            return Confirmation(
                intent_id=answer.intent_id,
                status="succeeded",
                client_secret=answer.client_secret,
                next_action=None,
            )
        if cmd.payment_method not in UNAUTHENTICATED_TEST_METHODS:
            return answer
        return Confirmation(
            intent_id=answer.intent_id,
            status="requires_action",
            client_secret=answer.client_secret,
            next_action=local_next_action(answer.intent_id, cmd.order_id),
        )

    async def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> int:
        return await self.stripe.refund(intent_id, amount_minor, idempotency_key)

    async def cancel(self, intent_id: str, idempotency_key: str) -> str:
        return await self.stripe.cancel(intent_id, idempotency_key)

    async def status(self, intent_id: str) -> str:
        return await self.stripe.status(intent_id)


class LocalWebhookRelay:
    """stripe-mock sends no webhooks (and accepts every card): in local mode the app sends
    itself, through its own webhook endpoint and signature check, the event Stripe would
    send for the payment method used — success for `pm_card_visa`, a decline for Stripe's
    declining test methods, and for those that need 3-D Secure nothing until the cardholder
    has been through the local stand-in of the challenge (`authenticate`): then success, or
    Stripe's authentication failure. Off in Azure (real Stripe sends real webhooks)."""

    def __init__(self, sidecar: Sidecar, secret: str) -> None:
        self.sidecar = sidecar
        self.secret = secret

    async def settle(self, payment: Payment) -> None:
        kind = local_outcome(payment.payment_method)
        if kind is None:
            return
        await self._send(payment, kind, DECLINE)

    async def authenticate(self, payment: Payment, passed: bool) -> None:
        """Answered once the webhook was applied (or refused: then it raises)."""
        kind = "payment_intent.succeeded" if passed else "payment_intent.payment_failed"
        sent = await self._send(payment, kind, None if passed else AUTHENTICATION_FAILURE)
        sent.body_or_raise()

    async def _send(
        self, payment: Payment, kind: str, error: dict[str, str] | None = None
    ) -> InvokeResult:
        intent: dict[str, Any] = {
            "id": payment.payment_intent_id,
            "object": "payment_intent",
            "amount": domain.to_minor(payment.amount),
            "status": "succeeded" if kind.endswith("succeeded") else "requires_payment_method",
            "metadata": {"order_id": payment.order_id},
        }
        if error is not None and kind.endswith("payment_failed"):
            intent["last_payment_error"] = dict(error)
        event = {
            "id": f"evt_local_{uuid.uuid4().hex}",
            "object": "event",
            "type": kind,
            "data": {"object": intent},
        }
        payload = json.dumps(event).encode()
        return await self.sidecar.invoke(
            AppId.PAYMENTS,
            "webhook",
            method="POST",
            content=payload,
            headers={
                SIGNATURE_HEADER: sign(payload, self.secret),
                "Content-Type": "application/json",
            },
        )
