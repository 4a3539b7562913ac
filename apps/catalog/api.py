"""Routes of the catalog app (reached only through Dapr service invocation)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from apps.catalog import domain
from apps.catalog.browse import BrowseService
from apps.catalog.service import (
    CatalogService,
    CategoryService,
    InventoryService,
    ReviewService,
    SeedService,
)
from apps.contracts.cart import SnapshotReply, SnapshotRequest
from apps.contracts.catalog import (
    Category,
    CategoryUpdate,
    Moderation,
    Product,
    ProductBatch,
    ProductBatchRequest,
    ProductCreate,
    ProductStatus,
    ProductUpdate,
    Review,
    ReviewCreate,
    ReviewEdit,
    ReviewPage,
    ReviewStatus,
    SeedBatch,
    Sku,
)
from apps.contracts.errors import NotFound, Unavailable
from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import (
    ProductInventory,
    Reservation,
    ReserveRequest,
    ReturnStock,
    StockAdjustment,
    StockLevel,
    StockLevelPage,
)
from apps.platform.http import app_state
from apps.platform.params import Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["catalog"])


Service = Annotated[CatalogService, Depends(app_state("service"))]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _correlation(request: Request) -> str:
    return str(request.state.correlation_id)


def _etag(response: Response, etag: str) -> None:
    response.headers["ETag"] = f'"{etag}"'


def _unquote(value: str | None) -> str | None:
    return value.strip().removeprefix("W/").strip('"') if value else value


@router.post("/products", status_code=201, response_model=Product)
async def create_product(
    cmd: ProductCreate, service: Service, request: Request, response: Response
) -> Product:
    product, etag, created = await service.create(cmd, _correlation(request))
    if not created:
        response.status_code = 200
    _etag(response, etag)
    return product


@router.get("/products/{product_id}", response_model=Product)
async def get_product(
    product_id: str,
    service: Service,
    request: Request,
    response: Response,
    active_only: bool = False,
) -> Product | Response:
    """Any product to the apps and staff, from the store; with `active_only` (the public
    route) from the read model where it holds the product's current version with its tag,
    and a draft or archived product is the same 404 as a missing one. Either way with the
    store's ETag, which an update names in `If-Match` (the gateway's cache keeps it as its
    validator)."""
    browse: BrowseService = request.app.state.browse
    if active_only:
        shown = browse.public_product(product_id)
        if shown is not None:
            body, etag = shown
            return Response(body, media_type="application/json", headers={"ETag": f'"{etag}"'})
    product, etag = await service.get(product_id)
    browse.product_read(product, etag)
    if active_only and product.status != ProductStatus.ACTIVE:
        raise NotFound("Product not found", product_id=product_id)
    _etag(response, etag)
    return product


@router.post("/products/batch", response_model=ProductBatch)
async def get_products(req: ProductBatchRequest, service: Service) -> ProductBatch:
    """Many products in one call (one bulk read): what the checkout prices. Unknown ids
    are left out of the answer; the caller decides what a missing product means."""
    found = await service.find_many(req.product_ids)
    return ProductBatch(products=[found[p] for p in dict.fromkeys(req.product_ids) if p in found])


@router.patch("/products/{product_id}", response_model=Product)
async def update_product(
    product_id: str,
    update: ProductUpdate,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Product:
    product, etag = await service.update(
        product_id, update, _unquote(if_match), _correlation(request)
    )
    _etag(response, etag)
    return product


@router.delete("/products/{product_id}", status_code=204)
async def delete_product(
    product_id: str, service: Service, request: Request, if_match: IfMatch = None
) -> Response:
    await service.delete(product_id, _unquote(if_match), _correlation(request))
    return Response(status_code=204)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: settle stock holds (paid -> commit, cancelled/payment failed -> release)
    and count purchases for popularity."""
    service: CatalogService = request.app.state.service
    inventory: InventoryService = request.app.state.inventory

    async def paid(event: EventEnvelope) -> None:
        await inventory.on_order_event(event)
        await service.on_order_paid(event)

    return await dispatch(
        cloud_event,
        {
            "OrderPaid": paid,
            "OrderCancelled": inventory.on_order_event,
            "OrderStatusChanged": inventory.on_order_event,
        },
    )


# -- inventory (invoked by checkout and staff through Dapr) ----------------------------------
inventory_router = APIRouter(tags=["inventory"])


Inventory = Annotated[InventoryService, Depends(app_state("inventory"))]


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=300)] = "released"


@inventory_router.get("/products/{product_id}/inventory", response_model=ProductInventory)
async def product_inventory(
    product_id: str, service: Service, inventory: Inventory
) -> ProductInventory:
    product, _ = await service.get(product_id)
    return await inventory.product_inventory(product)


#: SKUs per page of `/inventory/levels` (each page costs a scan of the stock records).
LEVELS_MAX_LIMIT = 5000


@inventory_router.get("/inventory/levels", response_model=StockLevelPage)
async def stock_levels(
    request: Request,
    inventory: Inventory,
    low_only: Annotated[bool, Query(description="only SKUs at or below their threshold")] = False,
    after: Annotated[Sku | None, Query(description="the previous page's next_after")] = None,
    limit: Annotated[int, Query(ge=1, le=LEVELS_MAX_LIMIT)] = 1000,
) -> Response:
    """Every SKU's stock level, by SKU (internal: backoffice's restock list invokes it; the
    gateway has no route here, like the reservations). The SKUs are the read model's
    products' variants plus every stock record; a SKU without a record yet is at its
    variant's stock. 503 while the read model is not loaded: never a partial list."""
    browse: BrowseService = request.app.state.browse
    if browse.loaded_at is None:
        raise Unavailable("The catalog's product index is not loaded yet; retry")
    products = [e.product for e in browse.index.entries.values()]
    page = await inventory.levels(products, low_only, after, limit)
    return Response(page, media_type="application/json")


@inventory_router.post("/products/snapshots", response_model=SnapshotReply)
async def snapshots(req: SnapshotRequest, service: Service, inventory: Inventory) -> SnapshotReply:
    """Current price, sale status and available units of product variants, in request
    order (the cart's re-validation: one call per cart). Unknown ones say `found: false`."""
    products = await service.find_many([i.product_id for i in req.items])
    snaps = [
        domain.line_snapshot(i.product_id, i.variant_id, products.get(i.product_id))
        for i in req.items
    ]
    available = await inventory.available([s.sku for s in snaps if s.sku])
    return SnapshotReply(
        items=[s.model_copy(update={"available": available.get(s.sku or "", 0)}) for s in snaps]
    )


@inventory_router.post("/inventory/reservations", status_code=201, response_model=Reservation)
async def reserve(
    req: ReserveRequest, inventory: Inventory, request: Request, response: Response
) -> Reservation:
    """Hold every line or none (409 with the shortages). Idempotent by order id."""
    reservation, created = await inventory.reserve(req, _correlation(request))
    if not created:
        response.status_code = 200
    return reservation


@inventory_router.get("/inventory/reservations/{order_id}", response_model=Reservation)
async def get_reservation(order_id: str, inventory: Inventory) -> Reservation:
    return await inventory.get(order_id)


@inventory_router.post("/inventory/reservations/{order_id}/release", response_model=Reservation)
async def release(
    order_id: str,
    inventory: Inventory,
    request: Request,
    body: ReleaseRequest | None = None,
) -> Reservation:
    reason = body.reason if body else "released"
    return await inventory.release(order_id, reason, _correlation(request))


@inventory_router.post("/inventory/reservations/{order_id}/commit", response_model=Reservation)
async def commit(order_id: str, inventory: Inventory, request: Request) -> Reservation:
    return await inventory.commit(order_id, _correlation(request))


@inventory_router.post("/inventory/{sku}/adjust", response_model=StockLevel)
async def adjust(
    sku: str, adj: StockAdjustment, inventory: Inventory, request: Request
) -> StockLevel:
    return await inventory.adjust(sku, adj, _correlation(request))


#: An order id in a path, bounded like `ReserveRequest.order_id` (contracts `Id`).
OrderIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


@inventory_router.post("/inventory/{order_id}/returns", response_model=Reservation)
async def restock_return(
    order_id: OrderIdPath, req: ReturnStock, inventory: Inventory, request: Request
) -> Reservation:
    """Units of a committed order that came back, on hand again once per `return_id`
    (invoked by orders; the gateway does not route here). A retry answers the same
    reservation; the same id with other lines, or more units than the order committed less
    earlier returns, is a 409."""
    return await inventory.restock_return(order_id, req, _correlation(request))


# -- seeding (invoked by `task seed` through the catalog's sidecar) --------------------------
admin_router = APIRouter(prefix="/admin", tags=["admin"])


class SeedDone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: int = Field(ge=0)
    seed: int


Seeder = Annotated[SeedService, Depends(app_state("seeder"))]


@admin_router.get("/seed")
async def seed_status(seeder: Seeder) -> dict[str, Any]:
    """The seed marker: `{"seeded": false}` until a load finished."""
    marker = await seeder.status()
    return {"seeded": marker is not None, **(marker or {})}


@admin_router.post("/seed/batches", status_code=201)
async def seed_batch(batch: SeedBatch, seeder: Seeder) -> dict[str, int]:
    return {"products": await seeder.load(batch)}


@admin_router.put("/seed")
async def seed_finished(done: SeedDone, seeder: Seeder) -> dict[str, Any]:
    return await seeder.finish(done.products, done.seed)


@admin_router.post("/index/reload")
async def reload_index(request: Request) -> dict[str, int]:
    """Rebuild this instance's read model from the store now (after a bulk load)."""
    browse: BrowseService = request.app.state.browse
    return {"products": await browse.reload()}


# -- categories (staff) ----------------------------------------------------------------------
category_router = APIRouter(tags=["categories"])


Categories = Annotated[CategoryService, Depends(app_state("categories"))]


@category_router.post("/categories", status_code=201, response_model=Category)
async def create_category(
    category: Category, service: Categories, request: Request, response: Response
) -> Category:
    """A new node under an existing parent (or a new department). Retries answer 201 again
    with the same category; another category with the slug is a 409."""
    created, etag = await service.create(category, _correlation(request))
    _etag(response, etag)
    return created


@category_router.patch("/categories/{slug}", response_model=Category)
async def update_category(
    slug: str,
    update: CategoryUpdate,
    service: Categories,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Category:
    updated, etag = await service.update(slug, update, _unquote(if_match), _correlation(request))
    _etag(response, etag)
    return updated


# -- reviews ---------------------------------------------------------------------------------
review_router = APIRouter(tags=["reviews"])


Reviews = Annotated[ReviewService, Depends(app_state("reviews"))]
ReviewSort = Literal["newest", "oldest", "rating_desc", "rating_asc"]


@review_router.get("/products/{product_id}/reviews", response_model=ReviewPage)
async def product_reviews(
    product_id: str,
    reviews: Reviews,
    sort: ReviewSort = "newest",
    page: Page = 1,
    limit: Limit = 20,
) -> ReviewPage:
    """Published reviews with the rating average and histogram."""
    return await reviews.page(product_id, sort, page, limit)


@review_router.post("/products/{product_id}/reviews", status_code=201, response_model=Review)
async def create_review(product_id: str, body: ReviewCreate, reviews: Reviews) -> Review:
    return await reviews.create(product_id, body)


@review_router.put("/reviews/{review_id}", response_model=Review)
async def edit_review(review_id: str, body: ReviewEdit, reviews: Reviews) -> Review:
    return await reviews.edit(review_id, body)


@review_router.delete("/reviews/{review_id}", status_code=204)
async def delete_review(
    review_id: str,
    reviews: Reviews,
    user_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """By its author (`user_id`), or by staff without it."""
    await reviews.delete(review_id, user_id)
    return Response(status_code=204)


@review_router.get("/reviews", response_model=list[Review])
async def review_queue(
    reviews: Reviews,
    status: ReviewStatus = ReviewStatus.PENDING,
    page: Page = 1,
    limit: Limit = 50,
) -> list[Review]:
    """The moderation queue (oldest first)."""
    return await reviews.queue(status, page, limit)


@review_router.post("/reviews/{review_id}/moderate", response_model=Review)
async def moderate_review(review_id: str, body: Moderation, reviews: Reviews) -> Review:
    return await reviews.moderate(review_id, body)
