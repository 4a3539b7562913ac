"""Checkout use cases: quote a checkout, start the saga once per order id, feed it the
events it waits for (payment results, fraud reviews), count promo code use.

The saga engine is a port: Dapr Workflow here and in tests; Azure's Durable Task
Scheduler runs the same durabletask orchestrator (wired with the Azure issue).
"""

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apps.checkout import domain
from apps.checkout.promotions import customer_key, quote_terms, usage_problem
from apps.checkout.rates import Rates
from apps.contracts.cart import Cart, PromoQuote, PromoQuoteRequest, PromoTerms
from apps.contracts.catalog import Product
from apps.contracts.checkout import (
    AddressInput,
    AddressValidation,
    CheckoutDetails,
    CheckoutInput,
    CheckoutItem,
    CheckoutQuote,
    CheckoutState,
    CheckoutStatus,
    FraudReview,
    OrderRequest,
    PaymentResult,
    PromoRedemption,
)
from apps.contracts.email import is_owner
from apps.contracts.errors import Conflict, NotFound, UnprocessableError
from apps.contracts.events import utcnow
from apps.contracts.payments import PaymentAction


def request_fingerprint(request: OrderRequest, user_id: str | None) -> str:
    """What a retry must repeat to get the first answer: the order request as sent (after
    validation, so formatting does not matter) and who sent it."""
    canonical = json.dumps(
        {"request": request.model_dump(mode="json"), "user_id": user_id},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_id_for(idempotency_key: str | None, email: str, secret: str) -> str:
    """The order id of a checkout. With an Idempotency-Key the same key (for the same
    shopper) always names the same order, so a retried POST cannot start a second saga;
    the id is a keyed hash (HMAC-SHA256 with a server secret), so nobody who knows or
    guesses a shopper's key and email can derive it. Without a key: a random id."""
    if not idempotency_key:
        return str(uuid.uuid4())
    message = f"order-id\n{email.strip().lower()}\n{idempotency_key}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


#: Saga states a long poll waits on (anything else is how it ended, or suspended by staff).
UNDER_WAY = frozenset({CheckoutStatus.RUNNING, CheckoutStatus.PENDING})


class SagaEngine(Protocol):
    async def start(self, instance_id: str, payload: dict[str, Any]) -> bool:
        """Start unless an instance with this id exists; True if this call started it."""
        ...

    async def status(self, instance_id: str) -> CheckoutState | None: ...

    async def input_of(self, instance_id: str) -> dict[str, Any] | None:
        """The input the instance was started with (None if there is none)."""
        ...

    async def describe(self, instance_id: str) -> tuple[CheckoutState, dict[str, Any]] | None:
        """The state and the input ({} without one) of an instance in one read."""
        ...

    async def wait(
        self, instance_id: str, seconds: float, awaiting_shopper: bool = False
    ) -> tuple[CheckoutState, dict[str, Any]] | None:
        """Like `describe`, once the instance has ended, or has started or stopped waiting
        for the shopper's authentication (`payment` set or not, unlike `awaiting_shopper`),
        or `seconds` have passed."""
        ...

    async def raise_event(self, instance_id: str, name: str, data: dict[str, Any]) -> bool:
        """Deliver an external event to a running instance; False if none is running."""
        ...


@dataclass(frozen=True)
class Owner:
    """Who asks for a checkout: the signed-in user, and/or the email the shopper gives."""

    user_id: str | None = None
    email: str | None = None


class Readers(Protocol):
    """What quoting needs from other apps (async, in the request path)."""

    async def get_products(self, product_ids: list[str]) -> dict[str, Product]:
        """The products found among `product_ids` (one call, each id once)."""
        ...

    async def get_cart(self, cart_id: str) -> Cart | None: ...


class PaymentReader(Protocol):
    async def payment_action(self, order_id: str) -> PaymentAction | None:
        """What the order's shopper needs to finish its payment, client secret included
        (None: no payment yet)."""
        ...


class SagaRecorder(Protocol):
    async def opened(self, saga_id: str, at: datetime) -> None:
        """Record a saga about to start in checkout's index (apps/checkout/operations.py);
        a no-op if recorded already."""
        ...

    async def rerun_as(self, saga_id: str) -> str | None:
        """The instance an operator reran this saga as (None: not rerun)."""
        ...


class RedemptionStore(Protocol):
    async def redemptions(self, code: str) -> dict[str, str]: ...

    async def change(
        self, code: str, decide: Callable[[dict[str, str]], dict[str, str] | None]
    ) -> None: ...


class Promotions(Protocol):
    """The codes checkout honours now (the shipped ones and staff's, paused or not)."""

    async def find(self, code: str) -> PromoTerms | None: ...


class CheckoutService:
    def __init__(
        self,
        engine: SagaEngine,
        readers: Readers,
        redemptions: RedemptionStore,
        promotions: Promotions,
        rates: Rates,
        payment_timeout_seconds: int,
        review_timeout_seconds: int,
        authentication_timeout_seconds: int | None = None,
        payments: PaymentReader | None = None,
        recorder: SagaRecorder | None = None,
    ) -> None:
        self.engine = engine
        self.readers = readers
        self.redemptions = redemptions
        self.promotions = promotions
        self.rates = rates
        self.payment_timeout_seconds = payment_timeout_seconds
        self.review_timeout_seconds = review_timeout_seconds
        self.authentication_timeout_seconds = authentication_timeout_seconds
        self.payments = payments
        self.recorder = recorder

    # -- quotes --------------------------------------------------------------------------
    def validate_address(self, address: AddressInput) -> AddressValidation:
        return self.rates.validate_address(address)

    async def quote(self, details: CheckoutDetails, cart_id: str | None) -> CheckoutQuote:
        """The order as it would be charged now, or every problem that stops it."""
        checked = self.rates.validate_address(details.shipping_address)
        if not checked.valid or checked.address is None:
            raise UnprocessableError(
                "The shipping address is not valid",
                errors=[e.model_dump() for e in checked.errors],
            )
        items, promo_code = await self._items(details, cart_id)
        products = await self.readers.get_products([i.product_id for i in items])
        promo = None
        if promo_code:
            terms = await self.promotions.find(promo_code)
            limit = (
                usage_problem(terms, await self.redemptions.redemptions(terms.code), details.email)
                if terms
                else None
            )
            promo = domain.PromoCheck(code=promo_code, terms=terms, limit_problem=limit)
        return domain.quote(
            items, products, checked.address, details.shipping_method, promo, utcnow(), self.rates
        )

    async def quote_promo(self, req: PromoQuoteRequest, now: datetime) -> PromoQuote:
        terms = await self.promotions.find(req.code)
        limit = (
            usage_problem(terms, await self.redemptions.redemptions(terms.code), str(req.email))
            if terms is not None and req.email is not None
            else None
        )
        return quote_terms(terms, req, now, limit)

    # -- promo usage ---------------------------------------------------------------------
    async def redeem(self, req: PromoRedemption) -> None:
        """Count the order against the code's limits once (409 with the reason if used up)."""
        terms = await self.promotions.find(req.code)
        if terms is None:
            raise UnprocessableError(f"Unknown promo code {req.code}", promo_code=req.code)
        refused: list[str] = []

        def decide(current: dict[str, str]) -> dict[str, str] | None:
            refused.clear()
            if req.order_id in current:
                return None
            problem = usage_problem(terms, current, str(req.email), req.order_id)
            if problem:
                refused.append(problem)
                return None
            return {**current, req.order_id: customer_key(str(req.email))}

        await self.redemptions.change(terms.code, decide)
        if refused:
            raise Conflict(refused[0], reason="promo_limit_reached", promo_code=terms.code)

    async def release(self, code: str, order_id: str) -> None:
        terms = await self.promotions.find(code)
        if terms is None:
            return

        def decide(current: dict[str, str]) -> dict[str, str] | None:
            if order_id not in current:
                return None
            return {k: v for k, v in current.items() if k != order_id}

        await self.redemptions.change(terms.code, decide)

    # -- the saga --------------------------------------------------------------------------
    async def start(
        self,
        request: OrderRequest,
        idempotency_key: str | None,
        correlation_id: str,
        id_secret: str,
        user_id: str | None = None,
        cart_id: str | None = None,
    ) -> tuple[str, bool]:
        """Start the saga once per (shopper, Idempotency-Key). The address is checked and
        normalised here (422 per field), and a cart order is the cart as it is now (its
        lines and promo code, read once; an empty cart is refused here). The saga prices
        authoritatively."""
        checked = self.rates.validate_address(request.shipping_address)
        if not checked.valid or checked.address is None:
            raise UnprocessableError(
                "The shipping address is not valid",
                errors=[e.model_dump() for e in checked.errors],
            )
        if request.billing_address is not None:
            billing = self.rates.validate_address(request.billing_address)
            if not billing.valid:
                raise UnprocessableError(
                    "The billing address is not valid",
                    errors=[e.model_dump() for e in billing.errors],
                )
        order_id = order_id_for(idempotency_key, str(request.email), id_secret)
        fingerprint = request_fingerprint(request, user_id)
        items: list[CheckoutItem] | None
        try:
            items, promo_code = await self._items(request, cart_id)
        except UnprocessableError:  # an empty cart; a retry (cart cleared) finds its saga
            if await self.engine.input_of(order_id) is None:
                raise
            items, promo_code = None, request.promo_code  # starts nothing: the saga exists
        payload = CheckoutInput(
            **{
                **request.model_dump(),
                "shipping_address": checked.address.model_dump(),
                "items": [item.model_dump() for item in items] if items is not None else None,
                "promo_code": promo_code,
            },
            order_id=order_id,
            correlation_id=correlation_id,
            user_id=user_id,
            cart_id=cart_id if request.items is None else None,
            payment_timeout_seconds=self.payment_timeout_seconds,
            review_timeout_seconds=self.review_timeout_seconds,
            authentication_timeout_seconds=self.authentication_timeout_seconds,
            request_fingerprint=fingerprint,
        )
        if self.recorder is not None:  # before the saga exists: none is left out
            await self.recorder.opened(order_id, utcnow())
        started = await self.engine.start(order_id, payload.model_dump(mode="json"))
        if not started:
            first = (await self.engine.input_of(order_id) or {}).get("request_fingerprint")
            if first is not None and first != fingerprint:
                raise UnprocessableError(
                    "This Idempotency-Key was used for a different order: send a new key "
                    "for a new order, or the same request to get the first answer",
                    reason="idempotency_key_reused",
                    order_id=order_id,
                )
        return order_id, started

    async def status(
        self, order_id: str, owner: Owner | None = None, wait_seconds: float = 0
    ) -> CheckoutState:
        """The saga's state; with `owner`, only to the order's owner (the same 404 as a
        missing checkout to anyone else). Without it: an internal caller (staff, tests).
        With `wait_seconds`, a saga still under way is answered when it ends, or as it is
        once that time has passed (a long poll: one request instead of many), or as soon as
        it starts waiting for the shopper to authenticate the payment (3-D Secure).

        While it waits for that, `payment` says so; the order's owner also gets the client
        secret and next action to finish it (read from payments after the owner check),
        an internal caller only the status."""
        state: CheckoutState | None
        if owner is None:
            state = await self.engine.status(order_id)
        else:  # one read of the instance gives its state and who started it
            found = await self.engine.describe(order_id)
            state, started = found if found else (None, {})
            email = started.get("email")
            if not isinstance(email, str) or not is_owner(
                started.get("user_id"), email, owner.user_id, owner.email
            ):
                state = None
        if state is None:
            raise NotFound("Checkout not found", order_id=order_id)
        if wait_seconds > 0 and state.status in UNDER_WAY:
            later = await self.engine.wait(order_id, wait_seconds, state.payment is not None)
            state = later[0] if later else state
        if owner is not None and state.payment is not None and self.payments is not None:
            action = await self.payments.payment_action(order_id)
            if action is not None:
                state = state.model_copy(update={"payment": action})
        return state

    async def payment_result(self, order_id: str, result: PaymentResult) -> bool:
        """Hand a payment result to the order's saga (False: no saga is waiting for it), or to
        the instance an operator reran it as once it had failed."""
        data = result.model_dump()
        if await self.engine.raise_event(order_id, "payment_result", data):
            return True
        rerun = await self.recorder.rerun_as(order_id) if self.recorder is not None else None
        return rerun is not None and await self.engine.raise_event(rerun, "payment_result", data)

    async def fraud_review(self, order_id: str, review: FraudReview) -> CheckoutState:
        state = await self.status(order_id)
        if state.status != "running":
            raise Conflict("This checkout is not waiting for a review", status=state.status)
        await self.engine.raise_event(order_id, "fraud_review", review.model_dump(mode="json"))
        return state

    async def _items(
        self, details: CheckoutDetails, cart_id: str | None
    ) -> tuple[list[CheckoutItem], str | None]:
        if details.items is not None:
            return details.items, details.promo_code
        cart = await self.readers.get_cart(cart_id) if cart_id else None
        items, cart_promo = domain.cart_items(cart)
        if not items:
            raise UnprocessableError("Your cart is empty", reason="empty_cart")
        return items, details.promo_code or cart_promo
