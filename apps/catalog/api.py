"""Routes of the catalog app (reached only through Dapr service invocation)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response

from apps.catalog.service import CatalogService
from apps.contracts.catalog import Product, ProductCreate, ProductUpdate
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["catalog"])


def get_service(request: Request) -> CatalogService:
    service: CatalogService = request.app.state.service
    return service


Service = Annotated[CatalogService, Depends(get_service)]
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
async def get_product(product_id: str, service: Service, response: Response) -> Product:
    product, etag = await service.get(product_id)
    _etag(response, etag)
    return product


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
    service: CatalogService = request.app.state.service
    return await dispatch(cloud_event, {"OrderPaid": service.on_order_paid})
