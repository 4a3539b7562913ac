"""The public REST API (`/api/*`): validated here, served by the domain apps via Dapr.

Every `/api/staff/*` route needs a staff (or admin) token: 401 without one, 403 for a
customer.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.catalog import (
    Category,
    CategoryUpdate,
    Facets,
    Moderation,
    Product,
    ProductCreate,
    ProductPage,
    ProductUpdate,
    Review,
    ReviewPage,
    ReviewStatus,
    SortField,
)
from apps.contracts.inventory import ProductInventory, StockAdjustment, StockLevel
from apps.contracts.names import AppId
from apps.platform.params import (
    CategoryParam,
    FiltersParam,
    Limit,
    Page,
    SearchParam,
    SmallLimit,
    SortOrder,
)
from apps.storefront.adapters import cached_read, forward
from apps.storefront.auth import Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


def _params(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


@router.get("/products", response_model=ProductPage, tags=["products"])
async def list_products(
    request: Request,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    sort: SortField | None = None,
    order: SortOrder = None,
    page: Page = 1,
    limit: Limit = 24,
) -> Response:
    """Active products of a category (and its sub-categories), filtered, sorted, paged."""
    return await cached_read(
        request,
        AppId.CATALOG,
        "products",
        params=_params(
            category=category, filters=filters, sort=sort, order=order, page=page, limit=limit
        ),
    )


@router.get("/products/search", response_model=ProductPage, tags=["products"])
async def search_products(
    request: Request,
    q: SearchParam,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    sort: SortField | None = None,
    order: SortOrder = None,
    page: Page = 1,
    limit: Limit = 24,
) -> Response:
    """Relevance-ranked search over name, brand, category, attributes and description;
    tolerant of case, accents and small typos; combines with the filters."""
    return await cached_read(
        request,
        AppId.CATALOG,
        "products/search",
        params=_params(
            q=q, category=category, filters=filters, sort=sort, order=order, page=page, limit=limit
        ),
    )


@router.get("/products/filters", response_model=Facets, tags=["products"])
async def product_filters(
    request: Request,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Facets with counts for the current filter set (each facet ignores its own filter)."""
    return await cached_read(
        request,
        AppId.CATALOG,
        "products/filters",
        params=_params(category=category, filters=filters, q=q),
    )


@router.get("/products/featured", response_model=ProductPage, tags=["products"])
async def featured_products(request: Request, limit: SmallLimit = 12) -> Response:
    return await cached_read(request, AppId.CATALOG, "products/featured", params={"limit": limit})


@router.get("/products/{product_id}/related", response_model=ProductPage, tags=["products"])
async def related_products(product_id: PathId, request: Request, limit: SmallLimit = 8) -> Response:
    return await cached_read(
        request, AppId.CATALOG, f"products/{product_id}/related", params={"limit": limit}
    )


@router.get("/products/{product_id}/reviews", response_model=ReviewPage, tags=["reviews"])
async def product_reviews(
    product_id: PathId,
    request: Request,
    sort: Literal["newest", "oldest", "rating_desc", "rating_asc"] = "newest",
    page: Page = 1,
    limit: Limit = 20,
) -> Response:
    """Published reviews with the rating average and histogram. (Writing reviews needs a
    signed-in customer: those routes arrive with identity.)"""
    return await cached_read(
        request,
        AppId.CATALOG,
        f"products/{product_id}/reviews",
        params={"sort": sort, "page": page, "limit": limit},
    )


@router.get("/staff/reviews", response_model=list[Review], tags=["staff"])
async def review_queue(
    request: Request,
    staff: Staff,
    status: ReviewStatus = ReviewStatus.PENDING,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    return await forward(
        request, AppId.CATALOG, "reviews", params={"status": status, "page": page, "limit": limit}
    )


@router.post("/staff/reviews/{review_id}/moderate", response_model=Review, tags=["staff"])
async def moderate_review(
    review_id: PathId, body: Moderation, request: Request, staff: Staff
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"reviews/{review_id}/moderate",
        method="POST",
        body=body.model_dump(mode="json"),
    )


@router.delete("/staff/reviews/{review_id}", status_code=204, tags=["staff"])
async def delete_review(review_id: PathId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.CATALOG, f"reviews/{review_id}", method="DELETE")


@router.get("/categories", tags=["categories"])
async def categories(request: Request) -> Response:
    """The category tree with product counts."""
    return await cached_read(request, AppId.CATALOG, "categories")


@router.get("/categories/{slug}", tags=["categories"])
async def category(
    slug: Annotated[str, Path(max_length=120, pattern=r"^[a-z0-9-]+$")], request: Request
) -> Response:
    return await cached_read(request, AppId.CATALOG, f"categories/{slug}")


@router.get("/products/{product_id}", response_model=Product, tags=["products"])
async def get_product(product_id: PathId, request: Request) -> Response:
    """An active product (drafts and archived products are a 404 here; staff read them at
    `GET /api/staff/products/{product_id}`)."""
    return await cached_read(
        request, AppId.CATALOG, f"products/{product_id}", params={"active_only": "true"}
    )


@router.get("/staff/products/{product_id}", response_model=Product, tags=["staff"])
async def staff_product(product_id: PathId, request: Request, staff: Staff) -> Response:
    """Any product, whatever its status, with its `ETag` for a `PATCH`."""
    return await forward(request, AppId.CATALOG, f"products/{product_id}")


@router.get("/products/{product_id}/inventory", response_model=ProductInventory, tags=["products"])
async def product_inventory(product_id: PathId, request: Request) -> Response:
    """Per-variant stock; `available` excludes units held for orders."""
    return await forward(request, AppId.CATALOG, f"products/{product_id}/inventory")


@router.post("/staff/inventory/{sku}/adjust", response_model=StockLevel, tags=["staff"])
async def adjust_stock(
    sku: PathId, body: StockAdjustment, request: Request, staff: Staff
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"inventory/{sku}/adjust",
        method="POST",
        body=body.model_dump(mode="json", exclude_unset=True),
    )


@router.post("/staff/categories", status_code=201, response_model=Category, tags=["staff"])
async def create_category(body: Category, request: Request, staff: Staff) -> Response:
    return await forward(
        request, AppId.CATALOG, "categories", method="POST", body=body.model_dump(mode="json")
    )


@router.patch("/staff/categories/{slug}", response_model=Category, tags=["staff"])
async def update_category(
    slug: Annotated[str, Path(max_length=120, pattern=r"^[a-z0-9-]+$")],
    body: CategoryUpdate,
    request: Request,
    staff: Staff,
    if_match: IfMatch = None,
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"categories/{slug}",
        method="PATCH",
        body=body.model_dump(mode="json", exclude_unset=True),
        extra_headers={"If-Match": if_match} if if_match else None,
    )


@router.post("/staff/products", status_code=201, response_model=Product, tags=["staff"])
async def create_product(body: ProductCreate, request: Request, staff: Staff) -> Response:
    return await forward(
        request, AppId.CATALOG, "products", method="POST", body=body.model_dump(mode="json")
    )


@router.patch("/staff/products/{product_id}", response_model=Product, tags=["staff"])
async def update_product(
    product_id: PathId,
    body: ProductUpdate,
    request: Request,
    staff: Staff,
    if_match: IfMatch = None,
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"products/{product_id}",
        method="PATCH",
        body=body.model_dump(mode="json", exclude_unset=True),
        extra_headers={"If-Match": if_match} if if_match else None,
    )


@router.delete("/staff/products/{product_id}", status_code=204, tags=["staff"])
async def delete_product(
    product_id: PathId, request: Request, staff: Staff, if_match: IfMatch = None
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"products/{product_id}",
        method="DELETE",
        extra_headers={"If-Match": if_match} if if_match else None,
    )
