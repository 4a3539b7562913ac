"""Browsing routes of the catalog (read model): list, search, facets, featured, related,
categories. Declared before `/products/{product_id}` so their paths win."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ValidationError

from apps.catalog.browse import BrowseService, CategoryDetail, CategoryNode
from apps.contracts.catalog import Facets, ListFilters, ProductPage, SortField
from apps.contracts.errors import InvalidRequest
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar, forwarded_headers
from apps.platform.http import app_state
from apps.platform.params import (
    CategoryParam,
    FiltersParam,
    Limit,
    Page,
    SearchParam,
    SmallLimit,
    SortOrder,
)

browse_router = APIRouter(tags=["browse"])
#: Related products wait this long for the recommendations app, then do without it.
RECOMMENDATIONS_TIMEOUT = 0.5


Browse = Annotated[BrowseService, Depends(app_state("browse"))]


def parse_filters(raw: str | None) -> ListFilters:
    if not raw:
        return ListFilters()
    try:
        return ListFilters.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidRequest(
            "Invalid filters", errors=exc.errors(include_url=False, include_context=False)
        ) from None


def encoded(model: BaseModel) -> Response:
    """The answer as pydantic's own JSON bytes: the model was built from validated data,
    so FastAPI's second validation and encoding of `response_model` is skipped (the schema
    in the OpenAPI document stays the route's `response_model`)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _descending(order: str | None) -> bool | None:
    return None if order is None else order == "desc"


def _page(
    browse: BrowseService,
    category: str | None,
    filters: str | None,
    q: str | None,
    sort: SortField | None,
    order: str | None,
    page: int,
    limit: int,
) -> Response:
    """One page of a listing or a search, encoded."""
    return encoded(
        browse.products(
            category=category,
            filters=parse_filters(filters),
            q=q,
            sort=sort,
            descending=_descending(order),
            page=page,
            limit=limit,
        )
    )


@browse_router.get("/products", response_model=ProductPage)
async def list_products(
    browse: Browse,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    sort: SortField | None = None,
    order: SortOrder = None,
    page: Page = 1,
    limit: Limit = 24,
) -> Response:
    return _page(browse, category, filters, None, sort, order, page, limit)


@browse_router.get("/products/search", response_model=ProductPage)
async def search_products(
    browse: Browse,
    q: SearchParam,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    sort: SortField | None = None,
    order: SortOrder = None,
    page: Page = 1,
    limit: Limit = 24,
) -> Response:
    return _page(browse, category, filters, q, sort, order, page, limit)


@browse_router.get("/products/filters", response_model=Facets)
async def product_facets(
    browse: Browse,
    category: CategoryParam = None,
    filters: FiltersParam = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return encoded(browse.facets(category=category, filters=parse_filters(filters), q=q))


@browse_router.get("/products/featured", response_model=ProductPage)
async def featured(browse: Browse, limit: SmallLimit = 12) -> Response:
    return encoded(browse.featured(limit))


@browse_router.get("/products/{product_id}/related", response_model=ProductPage)
async def related(
    product_id: str, browse: Browse, request: Request, limit: SmallLimit = 8
) -> ProductPage:
    """Blended recommendations (the recommendations app, through Dapr) first, completed by
    the same category; the category alone when that app does not answer in time."""
    sidecar: Sidecar = request.app.state.sidecar
    suggested: list[str] | None = None
    result = await sidecar.invoke(
        AppId.RECOMMENDATIONS,
        f"related/{product_id}",
        params={"limit": min(limit * 2, 50)},
        headers=forwarded_headers(request.headers),
        timeout=RECOMMENDATIONS_TIMEOUT,
    )
    if result.ok and isinstance(result.body, dict):
        suggested = [str(i["product_id"]) for i in result.body.get("items", [])]
    return browse.related(product_id, limit, suggested)


@browse_router.get("/categories", response_model=list[CategoryNode])
async def categories(browse: Browse) -> list[CategoryNode]:
    return browse.category_tree()


@browse_router.get("/categories/{slug}", response_model=CategoryDetail)
async def category(slug: str, browse: Browse) -> CategoryDetail:
    return browse.category(slug)
