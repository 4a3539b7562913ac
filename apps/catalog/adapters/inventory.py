"""Stock records, the SKU index, reservations, and the outbox documents that carry
their events (published by BatchRelay, then deleted)."""

import asyncio
import contextlib
import uuid
from typing import Any

import structlog

from apps.catalog.adapters.products import product_key
from apps.catalog.inventory import StockRecord
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import (
    Product,
)
from apps.contracts.errors import Conflict, UnprocessableError
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.inventory import Reservation
from apps.platform.dapr import Sidecar
from apps.platform.outbox import outbox_entry
from apps.platform.state import EtagMismatch, JsonStateStore, Upsert, Versioned

log = structlog.stdlib.get_logger("catalog.adapters")


def stock_key(sku: str) -> str:
    return f"stock:{sku}"


def sku_key(sku: str) -> str:
    return f"sku:{sku}"


def slug_key(slug: str) -> str:
    return f"slug:{slug}"


def stock_doc(record: StockRecord) -> dict[str, Any]:
    return {"kind": "stock", **record.model_dump(mode="json")}


def reservation_key(order_id: str) -> str:
    return f"reservation:{order_id}"


def outbox_key(batch_id: str) -> str:
    return f"outbox:{batch_id}"


class DaprInventoryRepository:
    """Stock records, the SKU index and reservations; every change is one transaction that
    names the ETag of each stock record it read, plus an outbox document with its events."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def claim_identifiers(self, product: Product) -> None:
        """Claim the product's slug and SKUs (insert-only): each belongs to one product. A
        slug given up by a rename stays with its product (old links keep pointing at it)."""
        await self._claim(slug_key(product.slug), {"product_id": product.product_id}, "slug")
        for v in product.variants:
            entry = {"product_id": product.product_id, "variant_id": v.variant_id}
            await self._claim(sku_key(v.sku), entry, "SKU")

    async def _claim(self, key: str, entry: dict[str, Any], what: str) -> None:
        found = await self.store.get(key)
        if found is None:
            try:
                await self.store.insert(key, entry)
                return
            except EtagMismatch:  # claimed a moment ago: check by whom
                found = await self.store.get(key)
        if found is None or found.value["product_id"] != entry["product_id"]:
            raise Conflict(
                f"{what} already used by another product", **{what.lower(): key.split(":", 1)[1]}
            )

    async def stock(self, skus: list[str]) -> dict[str, tuple[StockRecord, str]]:
        """Each SKU's record with its ETag, read concurrently."""

        async def one(sku: str) -> Versioned | None:
            found = await self.store.get(stock_key(sku))
            return found if found is not None else await self._initialise(sku)

        result: dict[str, tuple[StockRecord, str]] = {}
        unknown = []
        for sku, found in zip(skus, await asyncio.gather(*(one(s) for s in skus)), strict=True):
            if found is None:
                unknown.append(sku)
                continue
            result[sku] = (StockRecord.model_validate(found.value), found.etag)
        if unknown:
            raise UnprocessableError("Unknown SKU", skus=unknown)
        return result

    async def all_stock(self) -> list[StockRecord]:
        """Every stock record (a complete scan by SKU, or `IncompleteScan`)."""
        found = await self.store.scan({"EQ": {"kind": "stock"}}, "sku")
        return [StockRecord.model_validate(d.value) for d in found]

    async def _initialise(self, sku: str) -> Versioned | None:
        """First touch of a SKU: its record starts from the variant's stock in the product.
        Insert-only, so two first touches at once cannot both write it."""
        index = await self.store.get(sku_key(sku))
        if index is None:
            return None
        doc = await self.store.get(product_key(index.value["product_id"]))
        if doc is None or doc.value.get("deleted"):
            return None
        product = Product.model_validate(doc.value["product"])
        variant = next((v for v in product.variants if v.sku == sku), None)
        if variant is None:
            return None
        record = StockRecord(
            sku=sku,
            product_id=product.product_id,
            variant_id=variant.variant_id,
            on_hand=variant.stock,
        )
        with contextlib.suppress(EtagMismatch):
            await self.store.insert(stock_key(sku), stock_doc(record))
        return await self.store.get(stock_key(sku))

    async def reservation(self, order_id: str) -> tuple[Reservation, str] | None:
        found = await self.store.get(reservation_key(order_id))
        if found is None:
            return None
        return Reservation.model_validate(found.value), found.etag

    async def save(
        self,
        stocks: list[tuple[StockRecord, str]],
        reservation: Reservation | None,
        reservation_etag: str | None,
        events: list[EventEnvelope],
    ) -> str:
        batch = outbox_key(str(uuid.uuid4()))
        ops: list[Upsert] = [
            Upsert(stock_key(rec.sku), stock_doc(rec), etag) for rec, etag in stocks
        ]
        if reservation is not None:
            ops.append(
                Upsert(
                    reservation_key(reservation.order_id),
                    reservation.model_dump(mode="json"),
                    reservation_etag,
                )
            )
        ops.append(Upsert(batch, outbox_doc(batch, events)))
        try:
            await self.store.transact(ops)
        except EtagMismatch as exc:
            raise StaleWrite(batch) from exc
        return batch


def outbox_doc(batch_key: str, events: list[EventEnvelope]) -> dict[str, Any]:
    """Events committed with the state they describe; `key` lets the sweeper find it."""
    return {
        "kind": "outbox",
        "key": batch_key,
        "created_at": utcnow().isoformat(),
        "events": [outbox_entry(e) for e in events],
    }


class BatchRelay:
    """Publishes an outbox document's events, then deletes it."""

    def __init__(self, store: JsonStateStore, sidecar: Sidecar) -> None:
        self.store = store
        self.sidecar = sidecar

    async def relay(self, batch_key: str) -> None:
        found = await self.store.get(batch_key)
        if found is None:
            return
        try:
            for entry in found.value["events"]:
                await self.sidecar.publish(
                    entry["topic"], EventEnvelope.model_validate(entry["event"])
                )
        except Exception as exc:
            log.warning("publish failed; events kept in the outbox", key=batch_key, error=str(exc))
            return
        with contextlib.suppress(EtagMismatch):
            await self.store.delete(batch_key, found.etag)
