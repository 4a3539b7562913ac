"""A signed-in customer's reviews: the author is the token's user, never the request's."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from apps.contracts.catalog import Review, ReviewEditRequest, ReviewRequest
from apps.contracts.names import AppId
from apps.storefront.adapters import forward
from apps.storefront.auth import Customer
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", tags=["reviews"], responses=ERRORS)
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


@router.post("/products/{product_id}/reviews", status_code=201, response_model=Review)
async def write_review(
    product_id: PathId, body: ReviewRequest, request: Request, customer: Customer
) -> Response:
    """One review per customer and product (409 for a second); published after moderation."""
    payload = {**body.model_dump(mode="json"), "user_id": customer.user_id}
    return await forward(
        request, AppId.CATALOG, f"products/{product_id}/reviews", method="POST", body=payload
    )


@router.put("/reviews/{review_id}", response_model=Review)
async def edit_review(
    review_id: PathId, body: ReviewEditRequest, request: Request, customer: Customer
) -> Response:
    """The author's edit; the review goes back to moderation. Others' reviews: 404."""
    payload = {**body.model_dump(mode="json", exclude_unset=True), "user_id": customer.user_id}
    return await forward(request, AppId.CATALOG, f"reviews/{review_id}", method="PUT", body=payload)


@router.delete("/reviews/{review_id}", status_code=204)
async def delete_review(review_id: PathId, request: Request, customer: Customer) -> Response:
    return await forward(
        request,
        AppId.CATALOG,
        f"reviews/{review_id}",
        method="DELETE",
        params={"user_id": customer.user_id},
    )
