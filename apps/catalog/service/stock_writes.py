"""What every stock write shares: the level events it publishes beside its own event, and
the pause between compare-and-set retries."""

import asyncio
import random
from datetime import datetime

from apps.catalog import inventory
from apps.catalog.inventory import StockRecord
from apps.catalog.service.products import catalog_event
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import LowStock, StockLevelChanged


def level_events(
    before: dict[str, tuple[StockRecord, str]],
    after: dict[str, StockRecord],
    now: datetime,
    reason: str,
    correlation_id: str,
) -> list[EventEnvelope]:
    events = []
    for sku, rec in after.items():
        lv = inventory.level(rec, now)
        events.append(
            catalog_event(
                StockLevelChanged(
                    sku=sku,
                    product_id=rec.product_id,
                    on_hand=lv.on_hand,
                    reserved=lv.reserved,
                    available=lv.available,
                    reason=reason,
                ),
                correlation_id,
            )
        )
        if inventory.crossed_low_stock(before[sku][0], rec, now):
            events.append(
                catalog_event(
                    LowStock(
                        sku=sku,
                        product_id=rec.product_id,
                        available=lv.available,
                        low_stock_threshold=rec.low_stock_threshold,
                    ),
                    correlation_id,
                )
            )
    return events


async def backoff(attempt: int) -> None:
    """Jittered, growing pause so racing writers spread out instead of colliding again."""
    await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * (attempt + 1))))
