"""CartActor: one per cart (guest session or user); rules live in logic.py.

Turn-based concurrency makes every method atomic for its cart: concurrent adds on one
cart run one after another, each reading what the previous saved. `get`, `add_item`,
`update_item` and `merge` read the catalog once (all lines in one batch) to flag changed
lines; every change is decided by logic.py and saved with the op id that made it (a retried
call with the same `op_id` changes nothing).

Expiry: one `expiry` reminder per cart, due when the cart would expire if left idle; when
it fires early (the cart was used since) it is re-armed for the remaining time. An expired
cart is deleted, and a `CartAbandoned` event is published if it had items (outbox: saved
with the deletion, published after).
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol, TypeVar

import structlog
from dapr.actor import Remindable
from pydantic import BaseModel, ValidationError

from actors.cart import logic
from actors.cart.interface import CartActorInterface
from actors.outbox import OUTBOX_REMINDER, OutboxActor
from apps.contracts.cart import (
    AddItem,
    ApplyPromo,
    Cart,
    CartAbandoned,
    CartError,
    CartErrorCode,
    CartLine,
    CartOwner,
    CartReply,
    ClearCart,
    HandOver,
    HandOverReply,
    LineSnapshot,
    MergeCart,
    PromoTerms,
    RemoveItem,
    RemovePromo,
    SetDestination,
    SnapshotRequestItem,
    TaxDestination,
    UpdateItem,
)
from apps.contracts.errors import DomainError
from apps.contracts.events import EventEnvelope
from apps.contracts.tax import destination_rate, tax_tables

log = structlog.stdlib.get_logger("CartActor")

CART_KEY = "cart"
OPS_KEY = "ops"  # recent op ids, saved with the cart
HANDOVER_KEY = "handover"  # a guest cart's last hand-over, replayed to retries
EXPIRY_REMINDER = "expiry"
OPS_KEPT = 100

Json = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class CartActorHost(Protocol):
    """What the hosting app provides: limits, the catalog, promotions, other carts, pub/sub."""

    source_app_id: str
    limits: logic.Limits

    async def snapshots(self, items: list[SnapshotRequestItem]) -> list[LineSnapshot]: ...

    async def quote_promo(self, code: str, cart: Cart) -> PromoTerms: ...

    async def hand_over(self, source_cart_id: str, target_cart_id: str) -> HandOverReply: ...

    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


class CartActor(OutboxActor, CartActorInterface, Remindable):
    """Registered under its class name, which is `ActorType.CART`."""

    host: ClassVar[CartActorHost | None] = None

    # -- methods -----------------------------------------------------------------------
    async def get(self) -> Json:
        cart = await self._load() or logic.new_cart(self.id.id, _now(), self._host().limits)
        try:
            cart = await self._revalidated(cart)
        except DomainError as exc:  # catalog down: show the cart as last saved
            log.warning("cart shown without re-validation", cart_id=self.id.id, error=str(exc))
        return CartReply(ok=True, cart=cart).model_dump(mode="json")

    async def add_item(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: AddItem) -> logic.Outcome:
            snap, others = await self._snapshots(cart, cmd.product_id, cmd.variant_id)
            outcome = logic.add(cart, snap, cmd.quantity, _now(), self._host().limits)
            return _with(outcome, others)

        return await self._run(AddItem, data, change)

    async def update_item(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: UpdateItem) -> logic.Outcome:
            line = logic.find_line(cart, cmd.cart_item_id)
            if line is None:
                return logic.no_line(cmd.cart_item_id)
            snap, others = await self._snapshots(cart, line.product_id, line.variant_id)
            limits = self._host().limits
            return _with(
                logic.update(cart, cmd.cart_item_id, snap, cmd.quantity, _now(), limits), others
            )

        return await self._run(UpdateItem, data, change)

    async def remove_item(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: RemoveItem) -> logic.Outcome:
            return logic.remove(cart, cmd.cart_item_id, _now(), self._host().limits)

        return await self._run(RemoveItem, data, change)

    async def clear(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: ClearCart) -> logic.Outcome:
            return logic.clear(cart, _now(), self._host().limits)

        return await self._run(ClearCart, data, change)

    async def apply_promo(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: ApplyPromo) -> logic.Outcome:
            terms = await self._host().quote_promo(cmd.code, cart)
            return logic.apply_promo(cart, terms, _now(), self._host().limits)

        return await self._run(ApplyPromo, data, change)

    async def remove_promo(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: RemovePromo) -> logic.Outcome:
            return logic.remove_promo(cart, _now(), self._host().limits)

        return await self._run(RemovePromo, data, change)

    async def set_destination(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: SetDestination) -> logic.Outcome:
            tables = tax_tables()
            destination = (
                TaxDestination(
                    country=cmd.country,
                    state=cmd.state,
                    tax_rate=destination_rate(tables, cmd.country, cmd.state),
                )
                if cmd.country in tables
                else None
            )
            return logic.set_destination(cart, destination, _now(), self._host().limits)

        return await self._run(SetDestination, data, change)

    async def merge(self, data: Json) -> Json:
        async def change(cart: Cart, cmd: MergeCart) -> logic.Outcome:
            if cart.owner != CartOwner.USER:
                return logic.refuse(
                    CartErrorCode.INVALID_REQUEST, "Only a user's cart can take a merge"
                )
            if not cmd.source_cart_id.startswith(f"{CartOwner.GUEST}-"):
                return logic.refuse(CartErrorCode.INVALID_REQUEST, "Only guest carts merge")
            given = await self._host().hand_over(cmd.source_cart_id, self.id.id)
            if not given.ok:
                err = given.error or CartError(
                    code=CartErrorCode.SERVICE_UNAVAILABLE, message="hand-over failed"
                )
                return logic.Refused(err)
            if given.handover_id is None:
                return cart  # nothing to merge: unchanged
            result = logic.merge(
                cart, given.handover_id, given.items, given.promo, _now(), self._host().limits
            )
            if result.dropped:
                log.info("merge dropped lines", cart_id=self.id.id, dropped=result.dropped)
            return await self._revalidated(result.cart)

        return await self._run(MergeCart, data, change)

    async def hand_over(self, data: Json) -> Json:
        try:
            cmd = HandOver.model_validate(data or {})
        except ValidationError as exc:
            return _invalid(exc, HandOverReply)
        if logic.owner_of(self.id.id)[0] != CartOwner.GUEST:
            return HandOverReply(
                ok=False,
                error=CartError(
                    code=CartErrorCode.INVALID_REQUEST, message="Only guest carts hand over"
                ),
            ).model_dump(mode="json")
        cart = await self._load()
        found, last = await self._state_manager.try_get_state(HANDOVER_KEY)
        if cart is None or not cart.items:
            # A retry after the lines left: replay the same hand-over to the same target.
            if found and last and last.get("target_cart_id") == cmd.target_cart_id:
                return dict(last["reply"])
            return HandOverReply(ok=True).model_dump(mode="json")
        reply = HandOverReply(
            ok=True,
            handover_id=f"{cart.cart_id}@{cart.version}",
            items=[i.model_copy(update={"issues": []}) for i in cart.items],
            promo=cart.promo,
        ).model_dump(mode="json")
        emptied = logic.clear(cart, _now(), self._host().limits)
        await self._save(
            {
                CART_KEY: emptied.model_dump(mode="json"),
                HANDOVER_KEY: {"target_cart_id": cmd.target_cart_id, "reply": reply},
            },
            [],
        )
        return reply

    # -- reminders ---------------------------------------------------------------------
    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        if name == EXPIRY_REMINDER:
            await self._expire_if_idle()
        elif name == OUTBOX_REMINDER:
            await self._retry_outbox(self._host())

    async def _expire_if_idle(self) -> None:
        cart = await self._load()
        now = _now()
        if cart is None:
            await self._try_unregister(EXPIRY_REMINDER)
            return
        if not logic.is_expired(cart, now):  # used since: wait for the rest of the idle time
            await self.register_reminder(EXPIRY_REMINDER, b"expiry", cart.expires_at - now)
            return
        events = []
        if cart.items:
            host = self._host()
            abandoned = CartAbandoned(
                cart_id=cart.cart_id,
                owner=cart.owner,
                user_id=cart.user_id,
                session_id=cart.session_id,
                items=cart.items,
                totals=cart.totals,
                last_activity_at=cart.updated_at,
                expired_at=now,
            )
            events.append(
                EventEnvelope.of(
                    abandoned,
                    correlation_id=f"cart:{cart.cart_id}",
                    source=host.source_app_id,
                    event_id=f"{cart.cart_id}:abandoned:{cart.version}",
                    occurred_at=now,
                )
            )
        await self._save({}, events, removed=(CART_KEY, OPS_KEY, HANDOVER_KEY))
        await self._try_unregister(EXPIRY_REMINDER)
        log.info("cart expired", cart_id=cart.cart_id, items=len(cart.items))
        await self._flush_outbox(self._host())

    # -- internals ---------------------------------------------------------------------
    async def _run(
        self,
        model: type[M],
        data: Json | None,
        change: Callable[[Cart, M], Awaitable[logic.Outcome]],
    ) -> Json:
        """Validate, replay a seen op id, decide, save: the shape of every changing method."""
        try:
            cmd = model.model_validate(data or {})
        except ValidationError as exc:
            return _invalid(exc, CartReply)
        stored = await self._load()
        ops = await self._ops()
        op_id = getattr(cmd, "op_id", None)
        cart = stored or logic.new_cart(self.id.id, _now(), self._host().limits)
        entry = (
            logic.op_entry(op_id, model.__name__, cmd.model_dump(mode="json")) if op_id else None
        )
        seen = logic.seen_op(ops, entry) if entry else "new"
        if seen == "replay":
            return CartReply(ok=True, cart=cart).model_dump(mode="json")
        if seen == "reused" and op_id:
            refused = logic.op_reused(op_id)
            return CartReply(ok=False, cart=cart, error=refused.error).model_dump(mode="json")
        try:
            outcome = await change(cart, cmd)
        except DomainError as exc:
            return _refused(exc)
        if isinstance(outcome, logic.Refused):
            return CartReply(ok=False, cart=cart, error=outcome.error).model_dump(mode="json")
        if outcome.version == cart.version:  # nothing changed (e.g. an empty merge)
            return CartReply(ok=True, cart=outcome).model_dump(mode="json")
        if stored is None:
            # Arm expiry before the first save: a crash in between leaves a reminder that
            # finds no cart and stops, never a cart that cannot expire.
            await self.register_reminder(
                EXPIRY_REMINDER, b"expiry", outcome.expires_at - outcome.updated_at
            )
        new_ops = [*ops, entry][-OPS_KEPT:] if entry else ops
        await self._save({CART_KEY: outcome.model_dump(mode="json"), OPS_KEY: new_ops}, [])
        return CartReply(ok=True, cart=outcome).model_dump(mode="json")

    async def _snapshots(
        self, cart: Cart, product_id: str, variant_id: str | None
    ) -> tuple[LineSnapshot, dict[str, LineSnapshot]]:
        """The catalog's view of the item being changed and of every other line: one call."""
        others = list(cart.items)
        request = [SnapshotRequestItem(product_id=product_id, variant_id=variant_id)] + [
            SnapshotRequestItem(product_id=i.product_id, variant_id=i.variant_id) for i in others
        ]
        snaps = await self._host().snapshots(request)
        return snaps[0], {i.cart_item_id: s for i, s in zip(others, snaps[1:], strict=True)}

    async def _revalidated(self, cart: Cart) -> Cart:
        if not cart.items:
            return cart
        request = [
            SnapshotRequestItem(product_id=i.product_id, variant_id=i.variant_id)
            for i in cart.items
        ]
        snaps = await self._host().snapshots(request)
        by_line = {i.cart_item_id: s for i, s in zip(cart.items, snaps, strict=True)}
        return logic.revalidate(cart, by_line, _now())

    async def _load(self) -> Cart | None:
        found, raw = await self._state_manager.try_get_state(CART_KEY)
        return Cart.model_validate(raw) if found else None

    async def _ops(self) -> list[str]:
        found, raw = await self._state_manager.try_get_state(OPS_KEY)
        return list(raw or []) if found else []

    def _host(self) -> CartActorHost:
        if CartActor.host is None:
            raise RuntimeError("CartActor.host is not set: the hosting app wires it at start")
        return CartActor.host


def _with(outcome: logic.Outcome, others: dict[str, LineSnapshot]) -> logic.Outcome:
    """Flag the other lines from the snapshots read with the change."""
    if isinstance(outcome, logic.Refused) or not others:
        return outcome
    return logic.revalidate(outcome, others, outcome.updated_at)


def _invalid(exc: ValidationError, reply: type[CartReply] | type[HandOverReply]) -> Json:
    error = CartError(
        code=CartErrorCode.INVALID_REQUEST,
        message="Invalid payload",
        details={"errors": exc.errors(include_url=False, include_context=False)},
    )
    return reply(ok=False, error=error).model_dump(mode="json")


def _refused(exc: DomainError) -> Json:
    try:
        code = CartErrorCode(exc.code.value)
    except ValueError:
        code = CartErrorCode.SERVICE_UNAVAILABLE
    error = CartError(code=code, message=exc.message, details=exc.details)
    return CartReply(ok=False, error=error).model_dump(mode="json")


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["CartActor", "CartActorHost", "CartLine"]
