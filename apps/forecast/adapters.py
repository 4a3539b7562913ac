"""Dapr I/O of the forecast app: the shop's daily sales per SKU in the state store."""

from datetime import date
from typing import Any

from apps.platform.state import EtagMismatch, JsonStateStore

SALES_KEY = "sales:{sku}"
EVENTS_KEPT = 500
MAX_ATTEMPTS = 20


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
            await self._add(sku, event_id, day, qty)

    async def _add(self, sku: str, event_id: str, day: date, qty: int) -> None:
        key = SALES_KEY.format(sku=sku)
        for _ in range(MAX_ATTEMPTS):
            found = await self.store.get(key)
            doc: dict[str, Any] = (
                found.value if found else {"kind": "sales", "sku": sku, "days": {}, "events": []}
            )
            if event_id in doc["events"]:
                return  # a redelivery: counted already
            doc["days"][day.isoformat()] = int(doc["days"].get(day.isoformat(), 0)) + qty
            doc["events"] = [*doc["events"], event_id][-EVENTS_KEPT:]
            try:
                if found is None:
                    await self.store.insert(key, doc)
                else:
                    await self.store.replace(key, doc, found.etag)
                return
            except EtagMismatch:
                continue  # another event for this SKU landed first: read again
        raise RuntimeError(f"sales of {sku} too contended")
