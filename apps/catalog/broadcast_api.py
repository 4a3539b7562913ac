"""The read model's subscriptions: every catalog replica applies every product, category
and stock event (component `pubsub-broadcast`, a consumer group / subscription per
sidecar), so a change made through one replica shows on all of them in about the time the
event takes, not at the next reload. Each handler re-reads the store (see
`BrowseService.product_event`), so order, duplicates and replays do no harm."""

from typing import Any

from fastapi import Body, FastAPI, Request

from apps.catalog.browse import BrowseService
from apps.contracts.catalog import (
    CategoryChanged,
    ProductArchived,
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
)
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import (
    LowStock,
    StockCommitted,
    StockLevelChanged,
    StockReleased,
    StockReserved,
    StockReturned,
)
from apps.contracts.names import Component, Topic
from apps.platform.subscriptions import dispatch, subscribe

HOLDS: dict[
    str, type[StockReserved] | type[StockReleased] | type[StockCommitted] | type[StockReturned]
] = {
    "StockReserved": StockReserved,
    "StockReleased": StockReleased,
    "StockCommitted": StockCommitted,
    "StockReturned": StockReturned,
}


async def on_product_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    browse: BrowseService = request.app.state.browse

    async def changed(event: EventEnvelope) -> None:
        payload = (ProductCreated, ProductUpdated)[event.event_type == "ProductUpdated"]
        product = payload.model_validate(event.data).product
        await browse.product_event(product.product_id, event.occurred_at, product)

    async def gone(event: EventEnvelope) -> None:
        payload = (ProductArchived, ProductDeleted)[event.event_type == "ProductDeleted"]
        await browse.product_event(payload.model_validate(event.data).product_id, event.occurred_at)

    async def category(event: EventEnvelope) -> None:
        CategoryChanged.model_validate(event.data)
        await browse.categories_event(event.occurred_at)

    return await dispatch(
        cloud_event,
        {
            "ProductCreated": changed,
            "ProductUpdated": changed,
            "ProductArchived": gone,
            "ProductDeleted": gone,
            "CategoryChanged": category,
        },
    )


async def on_inventory_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    browse: BrowseService = request.app.state.browse

    async def lines(event: EventEnvelope) -> None:
        held = HOLDS[event.event_type].model_validate(event.data)
        await browse.stock_event([line.sku for line in held.lines], event.occurred_at)

    async def level(event: EventEnvelope) -> None:
        payload = StockLevelChanged if event.event_type == "StockLevelChanged" else LowStock
        await browse.stock_event([payload.model_validate(event.data).sku], event.occurred_at)

    return await dispatch(
        cloud_event,
        {
            "StockReserved": lines,
            "StockReleased": lines,
            "StockCommitted": lines,
            "StockReturned": lines,
            "StockLevelChanged": level,
            "LowStock": level,
        },
    )


def subscribe_read_model(app: FastAPI) -> None:
    subscribe(
        app,
        Topic.PRODUCT_EVENTS,
        "/events/read-model/product-events",
        on_product_events,
        Component.PUBSUB_BROADCAST,
    )
    subscribe(
        app,
        Topic.INVENTORY_EVENTS,
        "/events/read-model/inventory-events",
        on_inventory_events,
        Component.PUBSUB_BROADCAST,
    )
