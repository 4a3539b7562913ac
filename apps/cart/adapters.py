"""Dapr I/O of the cart app: what CartActor asks of catalog, checkout, other carts, pub/sub."""

import json
from typing import Any

from dapr.actor import ActorId, ActorProxy, ActorProxyFactory

from actors.cart import logic
from actors.cart.interface import CartActorInterface
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


class CartActorHost:
    """What CartActor needs from its hosting app (see actors.cart.actor.CartActorHost)."""

    def __init__(self, sidecar: Sidecar, source_app_id: str, limits: logic.Limits) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.limits = limits
        self._factory = ActorProxyFactory()

    async def snapshots(self, items: list[SnapshotRequestItem]) -> list[LineSnapshot]:
        """Catalog's current view of each item, in order (one invocation for the cart)."""
        body = SnapshotRequest(items=items).model_dump(mode="json")
        res = await self.sidecar.invoke(
            AppId.CATALOG, "products/snapshots", method="POST", json_body=body
        )
        return SnapshotReply.model_validate(res.body_or_raise()).items

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
        proxy = ActorProxy.create(
            ActorType.CART.value, ActorId(source_cart_id), CartActorInterface, self._factory
        )
        payload: dict[str, Any] = HandOver(target_cart_id=target_cart_id).model_dump(mode="json")
        raw = await proxy.invoke_method("hand_over", json.dumps(payload).encode())
        return HandOverReply.model_validate_json(raw)

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)
