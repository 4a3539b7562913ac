"""Dapr I/O of the recommendations app: each signed-in shopper's purchases from order-events."""

from typing import Any

from apps.platform.state import EtagMismatch, JsonStateStore

PURCHASES_KEY = "purchases:{user_id}"
KEPT = 500
MAX_ATTEMPTS = 20


class StateLivePurchases:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def of(self, user_id: str) -> list[str]:
        found = await self.store.get(PURCHASES_KEY.format(user_id=user_id))
        return list(found.value["products"]) if found else []

    async def record(self, event_id: str, user_id: str, product_ids: list[str]) -> None:
        key = PURCHASES_KEY.format(user_id=user_id)
        for _ in range(MAX_ATTEMPTS):
            found = await self.store.get(key)
            doc: dict[str, Any] = (
                found.value
                if found
                else {"kind": "purchases", "user_id": user_id, "products": [], "events": []}
            )
            if event_id in doc["events"]:
                return  # a redelivery
            doc["products"] = [*doc["products"], *product_ids][-KEPT:]
            doc["events"] = [*doc["events"], event_id][-KEPT:]
            try:
                if found is None:
                    await self.store.insert(key, doc)
                else:
                    await self.store.replace(key, doc, found.etag)
                return
            except EtagMismatch:
                continue
        raise RuntimeError(f"purchases of {user_id} too contended")
