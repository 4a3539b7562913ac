"""Dapr I/O of the cart app: what CartActor asks of catalog, checkout, other carts, pub/sub."""

import time

from actors.cart import logic
from apps.contracts.cart import (
    Cart,
    HandOver,
    HandOverReply,
    LineSnapshot,
    PromoQuote,
    PromoQuoteRequest,
    PromoTerms,
    SnapshotReply,
    SnapshotRequest,
    SnapshotRequestItem,
)
from apps.contracts.errors import UnprocessableError
from apps.contracts.events import EventEnvelope
from apps.contracts.names import ActorType, AppId
from apps.platform.dapr import Sidecar

MAX_CACHED_SNAPSHOTS = 50_000


class CartActorHost:
    """What CartActor needs from its hosting app (see actors.cart.actor.CartActorHost)."""

    def __init__(
        self,
        sidecar: Sidecar,
        source_app_id: str,
        limits: logic.Limits,
        snapshot_ttl_seconds: float = 0.0,
    ) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.limits = limits
        self.snapshot_ttl = snapshot_ttl_seconds
        self._cache: dict[tuple[str, str | None], tuple[float, LineSnapshot]] = {}

    async def snapshots(self, items: list[SnapshotRequestItem]) -> list[LineSnapshot]:
        """Catalog's view of each item, in order: one invocation for whatever this instance
        has not read in the last `snapshot_ttl` seconds (0: always ask)."""
        now = time.monotonic()
        keys = [(i.product_id, i.variant_id) for i in items]
        fresh = {k: v[1] for k in keys if (v := self._cache.get(k)) and v[0] > now}
        missing = list(dict.fromkeys(k for k in keys if k not in fresh))
        if missing:
            body = SnapshotRequest(
                items=[SnapshotRequestItem(product_id=p, variant_id=v) for p, v in missing]
            ).model_dump(mode="json")
            res = await self.sidecar.invoke(
                AppId.CATALOG, "products/snapshots", method="POST", json_body=body
            )
            got = SnapshotReply.model_validate(res.body_or_raise()).items
            fresh.update(zip(missing, got, strict=True))
            if self.snapshot_ttl > 0:
                if len(self._cache) > MAX_CACHED_SNAPSHOTS:
                    self._cache.clear()
                expires = now + self.snapshot_ttl
                self._cache.update({k: (expires, fresh[k]) for k in missing})
        return [fresh[k] for k in keys]

    async def quote_promo(self, code: str, cart: Cart) -> PromoTerms:
        req = PromoQuoteRequest(
            code=code,
            subtotal=cart.totals.subtotal,
            currency=cart.totals.currency,
            user_id=cart.user_id,
        )
        res = await self.sidecar.invoke(
            AppId.CHECKOUT, "promotions/quote", method="POST", json_body=req.model_dump(mode="json")
        )
        quote = PromoQuote.model_validate(res.body_or_raise())
        if not quote.applicable:
            raise UnprocessableError(
                quote.reason or f"Promo code {code} does not apply to this cart",
                reason="promo_not_applicable",
                promo_code=code,
            )
        return quote.terms

    async def hand_over(self, source_cart_id: str, target_cart_id: str) -> HandOverReply:
        payload = HandOver(target_cart_id=target_cart_id).model_dump(mode="json")
        res = await self.sidecar.invoke_actor(ActorType.CART, source_cart_id, "hand_over", payload)
        return HandOverReply.model_validate(res.body_or_raise())

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)
