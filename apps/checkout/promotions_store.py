"""Promo code definitions in checkout's state store, and staff's use cases on them.

- `promo-def:{CODE}`: a code's definition as staff left it (created, edited, paused or
  resumed), changed by compare-and-set; it wins over the code shipped in promotions.json,
  which stays the default of every code nobody changed (so a fresh store honours the
  shipped codes, and nothing has to be seeded at start-up).
- `promo-def-index`: the codes staff created, so they can be listed (the shipped ones are
  known from the file). A creation writes the definition (insert-only: a second one of the
  same code fails) and the index in one transaction.
- Every quote and saga step reads the definition from the store (strongly consistent), so a
  pause on one replica is honoured by every replica's next quote or order at once. The
  saga's activities run in worker threads: `terms` runs the read on the app's event loop,
  as the promo usage does (adapters.PromoUsage).
"""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apps.checkout.promotions import (
    PromotionBook,
    PromotionDef,
    created,
    edited,
    etag_of,
    normalise_code,
    paused,
    shipped,
    view,
)
from apps.contracts.cart import PromoTerms
from apps.contracts.errors import Conflict, InvalidRequest, NotFound
from apps.contracts.promotions import Promotion, PromotionIn, PromotionList, PromotionTermsIn
from apps.platform.state import EtagMismatch, JsonStateStore, Upsert

INDEX_KEY = "promo-def-index"
#: How many codes staff may create (the index is one document).
MAX_CODES = 5000
#: How long an activity's thread waits for a definition read on the event loop.
READ_SECONDS = 30.0


def def_key(code: str) -> str:
    return f"promo-def:{normalise_code(code)}"


def usage_key(code: str) -> str:
    """Where checkout counts a code's redemptions (adapters.StateRedemptionStore)."""
    return f"promo-usage:{normalise_code(code)}"


class StoredPromotions:
    def __init__(self, store: JsonStateStore, seed: PromotionBook) -> None:
        self.store = store
        self.seed = seed
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    # -- what checkout honours -----------------------------------------------------------
    async def definition(self, code: str) -> PromotionDef | None:
        found = await self.store.get(def_key(code))
        if found is not None:
            return PromotionDef.model_validate(found.value)
        return shipped(self.seed, code)

    async def find(self, code: str) -> PromoTerms | None:
        found = await self.definition(code)
        return found.terms if found else None

    def terms(self, code: str) -> PromoTerms | None:
        """`find` for the saga's activities (worker threads, never the loop's own)."""
        if self.loop is None:
            raise RuntimeError("promotions: event loop not bound")
        work = asyncio.run_coroutine_threadsafe(self.find(code), self.loop)
        return work.result(timeout=READ_SECONDS)

    # -- staff ---------------------------------------------------------------------------
    async def list(self, now: datetime) -> PromotionList:
        index = await self.store.get(INDEX_KEY)
        created_codes = list((index.value if index else {}).get("codes", []))
        codes = list(
            dict.fromkeys([normalise_code(p.code) for p in self.seed.promotions] + created_codes)
        )
        found = await self.store.get_many([def_key(c) for c in codes])
        usage = await self.store.get_many([usage_key(c) for c in codes])
        shown: list[Promotion] = []
        for code in codes:
            stored = found.get(def_key(code))
            definition = (
                PromotionDef.model_validate(stored.value) if stored else shipped(self.seed, code)
            )
            if definition is None:  # indexed, but its creation did not commit
                continue
            shown.append(view(definition, _used(usage.get(usage_key(code))), now))
        return PromotionList(promotions=shown, total=len(shown))

    async def get(self, code: str, now: datetime) -> tuple[Promotion, str]:
        found = await self._existing(code)
        return view(found, await self._usage(code), now), etag_of(found)

    async def create(
        self, req: PromotionIn, who: str, now: datetime, idempotency_key: str | None = None
    ) -> tuple[Promotion, str, bool]:
        """The code created (and True), or the one this request created before (False)."""
        code = normalise_code(req.code)
        for _ in range(20):
            new, fresh = created(req, await self.definition(code), who, now, idempotency_key)
            if not fresh:
                return view(new, await self._usage(code), now), etag_of(new), False
            index = await self.store.get(INDEX_KEY)
            codes = list((index.value if index else {}).get("codes", []))
            if len(codes) >= MAX_CODES:
                raise Conflict(f"At most {MAX_CODES} codes can be created")
            try:
                await self.store.transact(
                    [
                        Upsert(def_key(code), new.model_dump(mode="json"), insert_only=True),
                        Upsert(
                            INDEX_KEY,
                            {"kind": "promo-def-index", "codes": [*codes, code]},
                            etag=index.etag if index else None,
                            insert_only=index is None,
                        ),
                    ]
                )
            except EtagMismatch:
                continue  # the index moved, or the code was created meanwhile: look again
            return view(new, 0, now), etag_of(new), True
        raise Conflict("Promo codes are being changed by others: try again", promo_code=code)

    async def update(
        self, code: str, req: PromotionTermsIn, if_match: str | None, who: str, now: datetime
    ) -> tuple[Promotion, str]:
        if not if_match:
            raise InvalidRequest("If-Match header with the promotion's ETag is required")
        changed = await self._change(code, lambda d: edited(d, req, if_match, who, now))
        return view(changed, await self._usage(code), now), etag_of(changed)

    async def set_paused(
        self, code: str, pause: bool, who: str, now: datetime
    ) -> tuple[Promotion, str]:
        changed = await self._change(code, lambda d: paused(d, pause, who, now))
        return view(changed, await self._usage(code), now), etag_of(changed)

    # -- helpers -------------------------------------------------------------------------
    async def _existing(self, code: str) -> PromotionDef:
        found = await self.definition(code)
        if found is None:
            raise NotFound("Promo code not found", promo_code=normalise_code(code))
        return found

    async def _usage(self, code: str) -> int:
        return _used(await self.store.get(usage_key(code)))

    async def _change(
        self, code: str, decide: Callable[[PromotionDef], PromotionDef | None]
    ) -> PromotionDef:
        """Compare-and-set of the code's definition (a shipped one's first change creates
        it); `decide` None: nothing to change, the current one is answered."""
        await self._existing(code)  # 404 before anything is written
        result: list[PromotionDef] = []

        def step(raw: Any | None) -> Any | None:
            result.clear()
            current = (
                PromotionDef.model_validate(raw) if raw is not None else shipped(self.seed, code)
            )
            if current is None:
                raise NotFound("Promo code not found", promo_code=normalise_code(code))
            new = decide(current)
            result.append(new or current)
            return None if new is None else new.model_dump(mode="json")

        await self.store.compare_and_set(def_key(code), step)
        return result[0]


def _used(found: Any) -> int:
    return len((found.value or {}).get("orders", {})) if found is not None else 0
