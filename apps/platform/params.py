"""Query parameters shared by the routes that expose the same listing (catalog and the
storefront in front of it), so both validate and document them alike."""

from typing import Annotated, Literal

from fastapi import Header, Query

CategoryParam = Annotated[str | None, Query(max_length=120, pattern=r"^[a-z0-9-]+$")]
FiltersParam = Annotated[
    str | None,
    Query(
        max_length=16_000,
        description='JSON, e.g. {"brand": ["Aurora"], "price_max": 500, "in_stock": true, '
        '"attributes": {"color": ["Black"]}}',
    ),
]
SearchParam = Annotated[str, Query(min_length=1, max_length=200)]
Page = Annotated[int, Query(ge=1, le=10_000)]
Limit = Annotated[int, Query(ge=1, le=100)]
SmallLimit = Annotated[int, Query(ge=1, le=50)]
SortOrder = Annotated[Literal["asc", "desc"] | None, Query()]

#: A client's key for making a change once: a retry with the same key (and the same
#: request) answers the first result. Letters, digits and `._:-` only (it goes into logs,
#: headers and ids), 8 to 200 of them.
_KEY = Header(
    alias="Idempotency-Key",
    min_length=8,
    max_length=200,
    pattern=r"^[A-Za-z0-9._:-]{8,200}$",
    description="Makes a retried request apply once (8-200 of A-Z a-z 0-9 . _ : -)",
)
IdempotencyKey = Annotated[str | None, _KEY]
#: The same header where a change cannot be made without one (refunds).
RequiredIdempotencyKey = Annotated[str, _KEY]
