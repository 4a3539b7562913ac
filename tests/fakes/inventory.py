"""Fakes of catalog's inventory ports: stock records and reservations in memory with ETags
like the real store, one save that checks every ETag it names (all or nothing), and an
outbox whose relayed batches can be read back."""

import copy
import itertools

from apps.catalog.inventory import StockRecord
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import Product
from apps.contracts.errors import UnprocessableError
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import Reservation

_etags = itertools.count(1)


def _etag() -> str:
    return str(next(_etags))


class FakeInventoryRepository:
    def __init__(self) -> None:
        self.stocks: dict[str, tuple[StockRecord, str]] = {}
        self.reservations: dict[str, tuple[Reservation, str]] = {}
        self.batches: dict[str, list[EventEnvelope]] = {}
        self.saves = 0
        #: Before the next N saves, something else writes each stock record they name.
        self.race_next_saves = 0

    def put_stock(self, record: StockRecord) -> None:
        self.stocks[record.sku] = (record.model_copy(deep=True), _etag())

    def put_reservation(self, reservation: Reservation) -> None:
        self.reservations[reservation.order_id] = (reservation.model_copy(deep=True), _etag())

    async def claim_identifiers(self, product: Product) -> None:
        return None

    async def stock(self, skus: list[str]) -> dict[str, tuple[StockRecord, str]]:
        if unknown := [s for s in skus if s not in self.stocks]:
            raise UnprocessableError("Unknown SKU", skus=unknown)
        return {s: copy.deepcopy(self.stocks[s]) for s in skus}

    async def reservation(self, order_id: str) -> tuple[Reservation, str] | None:
        found = self.reservations.get(order_id)
        return copy.deepcopy(found) if found else None

    async def save(
        self,
        stocks: list[tuple[StockRecord, str]],
        reservation: Reservation | None,
        reservation_etag: str | None,
        events: list[EventEnvelope],
    ) -> str:
        self.saves += 1
        if self.race_next_saves:
            self.race_next_saves -= 1
            for rec, _ in stocks:
                self.stocks[rec.sku] = (self.stocks[rec.sku][0], _etag())
        stale = [rec.sku for rec, etag in stocks if self.stocks[rec.sku][1] != etag]
        if reservation is not None:
            held = self.reservations.get(reservation.order_id)
            if (held[1] if held else None) != reservation_etag:
                stale.append(reservation.order_id)
        if stale:
            raise StaleWrite(",".join(stale))
        for rec, _ in stocks:
            self.put_stock(rec)
        if reservation is not None:
            self.put_reservation(reservation)
        key = f"outbox:{self.saves}"
        self.batches[key] = list(events)
        return key


class FakeBatchPublisher:
    """Relays a batch the repository saved: its events become `published`, in order."""

    def __init__(self, repo: FakeInventoryRepository) -> None:
        self.repo = repo
        self.published: list[EventEnvelope] = []

    async def relay(self, batch_key: str) -> None:
        self.published.extend(self.repo.batches.pop(batch_key, []))
