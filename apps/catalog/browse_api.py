"""Browsing routes of the catalog (read model): list, search, facets, featured, related,
categories. Declared before `/products/{product_id}` so their paths win."""

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.catalog.browse import BrowseService, CategoryDetail, CategoryNode
from apps.contracts.catalog import Facets, ListFilters, ProductPage, SortField
from apps.contracts.errors import InvalidRequest
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar, forwarded_headers
from apps.platform.params import CategoryParam, FiltersParam, SmallLimit

browse_router = APIRouter(tags=["browse"])
#: Related products wait this long for the recommendations app, then do without it.
RECOMMENDATIONS_TIMEOUT = 0.5


async def _browse(request: Request) -> BrowseService:
    """The read model (a coroutine: a plain function would cost a thread hop per request)."""
    browse: BrowseService = request.app.state.browse
    return browse


Browse = Annotated[BrowseService, Depends(_browse)]


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


class ListingQuery(BaseModel):
    """The query of a listing, validated in one call. FastAPI's per-parameter solving cost
    more than the listing itself on this route (it re-derives each parameter's kind on every
    request); the bounds are those of `apps.platform.params`, which the storefront checks
    at the edge."""

    model_config = ConfigDict(extra="ignore")

    category: Annotated[str | None, Field(max_length=120, pattern=r"^[a-z0-9-]+$")] = None
    filters: Annotated[str | None, Field(max_length=16_000)] = None
    sort: SortField | None = None
    order: Literal["asc", "desc"] | None = None
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 24


class SearchQuery(ListingQuery):
    q: Annotated[str, Field(min_length=1, max_length=200)]


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `parameters` of a route that validates its query with `model` (its
    definitions inlined: the document has no component for them)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    required = set(schema.get("required", []))
    return {
        "parameters": [
            {"name": name, "in": "query", "required": name in required, "schema": inline(field)}
            for name, field in schema["properties"].items()
        ]
    }


Q = TypeVar("Q", bound=ListingQuery)


def _query(request: Request, model: type[Q]) -> Q:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None


def _page(browse: BrowseService, query: ListingQuery, q: str | None) -> Response:
    """One page of a listing or a search, encoded."""
    return Response(
        browse.products_json(
            category=query.category,
            filters=parse_filters(query.filters),
            q=q,
            sort=query.sort,
            descending=None if query.order is None else query.order == "desc",
            page=query.page,
            limit=query.limit,
        ),
        media_type="application/json",
    )


@browse_router.get(
    "/products", response_model=ProductPage, openapi_extra=query_parameters(ListingQuery)
)
async def list_products(request: Request) -> Response:
    return _page(request.app.state.browse, _query(request, ListingQuery), None)


@browse_router.get(
    "/products/search", response_model=ProductPage, openapi_extra=query_parameters(SearchQuery)
)
async def search_products(request: Request) -> Response:
    query = _query(request, SearchQuery)
    return _page(request.app.state.browse, query, query.q)


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
