"""The public REST API (`/api/*`): validated here, served by the domain apps via Dapr.

Role checks on `/api/staff/*` arrive with the identity issue.
"""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.catalog import Product, ProductCreate, ProductUpdate
from apps.contracts.checkout import CheckoutAccepted, CheckoutState, OrderRequest
from apps.contracts.errors import ErrorResponse
from apps.contracts.inventory import ProductInventory, StockAdjustment, StockLevel
from apps.contracts.names import AppId
from apps.contracts.orders import Order
from apps.storefront.adapters import forward

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 409, 422, 503)
}

router = APIRouter(prefix="/api", responses=ERRORS)
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


@router.get("/products/{product_id}", response_model=Product, tags=["products"])
async def get_product(product_id: PathId, request: Request) -> Response:
    return await forward(request, AppId.CATALOG, f"products/{product_id}")


@router.get("/products/{product_id}/inventory", response_model=ProductInventory, tags=["products"])
async def product_inventory(product_id: PathId, request: Request) -> Response:
    """Per-variant stock; `available` excludes units held for orders."""
    return await forward(request, AppId.CATALOG, f"products/{product_id}/inventory")


@router.post("/staff/inventory/{sku}/adjust", response_model=StockLevel, tags=["staff"])
async def adjust_stock(sku: PathId, body: StockAdjustment, request: Request) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"inventory/{sku}/adjust",
        method="POST",
        body=body.model_dump(mode="json", exclude_unset=True),
    )


@router.post("/staff/products", status_code=201, response_model=Product, tags=["staff"])
async def create_product(body: ProductCreate, request: Request) -> Response:
    return await forward(
        request, AppId.CATALOG, "products", method="POST", body=body.model_dump(mode="json")
    )


@router.patch("/staff/products/{product_id}", response_model=Product, tags=["staff"])
async def update_product(
    product_id: PathId, body: ProductUpdate, request: Request, if_match: IfMatch = None
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
    product_id: PathId, request: Request, if_match: IfMatch = None
) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"products/{product_id}",
        method="DELETE",
        extra_headers={"If-Match": if_match} if if_match else None,
    )


@router.post("/orders", status_code=202, response_model=CheckoutAccepted, tags=["orders"])
async def place_order(
    body: OrderRequest,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=8, max_length=200)
    ] = None,
) -> Response:
    """Start checkout. Send an `Idempotency-Key`: retries then answer the same order."""
    return await forward(
        request,
        AppId.CHECKOUT,
        "checkouts",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
    )


@router.get("/orders/{order_id}", response_model=Order, tags=["orders"])
async def get_order(
    order_id: PathId,
    request: Request,
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> Response:
    """Guests look an order up with its id and their email (a wrong email is a 404)."""
    return await forward(request, AppId.ORDERS, f"orders/{order_id}", params={"email": email})


@router.get("/checkout/{order_id}", response_model=CheckoutState, tags=["orders"])
async def checkout_status(order_id: PathId, request: Request) -> Response:
    return await forward(request, AppId.CHECKOUT, f"checkouts/{order_id}")
