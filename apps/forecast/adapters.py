"""Dapr I/O of the forecast app: the shop's daily sales per SKU in the state store."""

from datetime import date
from typing import Any

from apps.platform.state import JsonStateStore

SALES_KEY = "sales:{sku}"
EVENTS_KEPT = 500


class StateLiveSales:
    """One document per SKU: units per day and the ids of the events already counted."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def daily(self, sku: str) -> dict[date, int]:
        found = await self.store.get(SALES_KEY.format(sku=sku))
        if found is None:
            return {}
        return {date.fromisoformat(d): int(q) for d, q in found.value["days"].items()}

    async def record(self, event_id: str, day: date, units: dict[str, int]) -> None:
        for sku, qty in units.items():

            def add(doc: dict[str, Any] | None, sku: str = sku, qty: int = qty) -> Any:
                doc = doc or {"kind": "sales", "sku": sku, "days": {}, "events": []}
                if event_id in doc["events"]:
                    return None  # a redelivery: counted already
                key = day.isoformat()
                doc["days"][key] = int(doc["days"].get(key, 0)) + qty
                doc["events"] = [*doc["events"], event_id][-EVENTS_KEPT:]
                return doc

            await self.store.compare_and_set(SALES_KEY.format(sku=sku), add)
