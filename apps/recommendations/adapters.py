"""Dapr I/O of the recommendations app: each signed-in shopper's purchases from order-events."""

from typing import Any

from apps.platform.state import JsonStateStore

PURCHASES_KEY = "purchases:{user_id}"
KEPT = 500


class StateLivePurchases:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def of(self, user_id: str) -> list[str]:
        found = await self.store.get(PURCHASES_KEY.format(user_id=user_id))
        return list(found.value["products"]) if found else []

    async def record(self, event_id: str, user_id: str, product_ids: list[str]) -> None:
        def add(doc: dict[str, Any] | None) -> Any:
            doc = doc or {"kind": "purchases", "user_id": user_id, "products": [], "events": []}
            if event_id in doc["events"]:
                return None  # a redelivery
            doc["products"] = [*doc["products"], *product_ids][-KEPT:]
            doc["events"] = [*doc["events"], event_id][-KEPT:]
            return doc

        await self.store.compare_and_set(PURCHASES_KEY.format(user_id=user_id), add)
