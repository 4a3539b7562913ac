"""Query parameters shared by the routes that expose the same listing (catalog and the
storefront in front of it), so both validate and document them alike."""

from typing import Annotated, Literal

from fastapi import Query

CategoryParam = Annotated[str | None, Query(max_length=120, pattern=r"^[a-z0-9-]+$")]
FiltersParam = Annotated[
    str | None,
    Query(
        max_length=4000,
        description='JSON, e.g. {"brand": ["Aurora"], "price_max": 500, "in_stock": true, '
        '"attributes": {"color": ["Black"]}}',
    ),
]
SearchParam = Annotated[str, Query(min_length=1, max_length=200)]
Page = Annotated[int, Query(ge=1, le=10_000)]
Limit = Annotated[int, Query(ge=1, le=100)]
SmallLimit = Annotated[int, Query(ge=1, le=50)]
SortOrder = Annotated[Literal["asc", "desc"] | None, Query()]
