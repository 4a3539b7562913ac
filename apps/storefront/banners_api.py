"""Banners through the gateway, served by `backoffice`: the storefront's active banners
(seed 004's home page hero, public) and staff's scheduled banners (`/api/staff/banners*`).

`GET /api/banners/active` goes through the gateway's read cache (read_cache.py): the same
answer for everyone, served from memory for at most `STOREFRONT_CATALOG_CACHE_SECONDS`
(2 s by default). So a banner appears or disappears at most that long after its window
opens or closes, or after staff change it on another replica; a staff change through this
replica empties its cache at once. The gateway checks the role of the staff routes; the back
office checks it again from the signed context."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from apps.contracts.banners import (
    BANNER_ID_PATTERN,
    ActiveBanners,
    BannerIn,
    BannerList,
    BannerPlacement,
    BannerStatus,
    StaffBanner,
)
from apps.contracts.names import AppId
from apps.platform.params import IdempotencyKey
from apps.storefront.adapters import cached_read, forward, idempotency_header
from apps.storefront.auth import Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)

BannerIdPath = Annotated[str, Path(pattern=BANNER_ID_PATTERN)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


def _params(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


async def _write(
    request: Request,
    path: str,
    method: str,
    body: object = None,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A staff change; this replica's cached active banners are dropped at once."""
    answer = await forward(
        request, AppId.BACKOFFICE, path, method=method, body=body, extra_headers=extra_headers
    )
    request.app.state.read_cache.clear()
    return answer


@router.get("/banners/active", response_model=ActiveBanners, tags=["banners"])
async def active_banners(request: Request, placement: BannerPlacement | None = None) -> Response:
    """The banners shown now (enabled, within their window), highest priority first; of one
    placement (e.g. `homepage_hero`) or all. Cached for a couple of seconds (see above)."""
    return await cached_read(
        request, AppId.BACKOFFICE, "banners/active", params=_params(placement=placement)
    )


@router.get("/staff/banners", response_model=BannerList, tags=["staff"])
async def list_banners(
    request: Request,
    staff: Staff,
    placement: BannerPlacement | None = None,
    status: BannerStatus | None = None,
) -> Response:
    """Every banner with how it stands now (live, scheduled, expired, disabled)."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        "staff/banners",
        params=_params(placement=placement, status=status),
    )


@router.post("/staff/banners", status_code=201, response_model=StaffBanner, tags=["staff"])
async def create_banner(
    body: BannerIn, request: Request, staff: Staff, key: IdempotencyKey = None
) -> Response:
    """A new banner (`ETag` for later edits); the same `Idempotency-Key` creates it once.
    `ends_at` not after `starts_at`, or a time without a UTC offset: 422."""
    return await _write(
        request,
        "staff/banners",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/staff/banners/{banner_id}", response_model=StaffBanner, tags=["staff"])
async def get_banner(banner_id: BannerIdPath, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.BACKOFFICE, f"staff/banners/{banner_id}")


@router.put("/staff/banners/{banner_id}", response_model=StaffBanner, tags=["staff"])
async def replace_banner(
    banner_id: BannerIdPath,
    body: BannerIn,
    request: Request,
    staff: Staff,
    if_match: IfMatch = None,
) -> Response:
    """The whole banner; `If-Match` must name its current `ETag` (400 without, 409 stale)."""
    return await _write(
        request,
        f"staff/banners/{banner_id}",
        method="PUT",
        body=body.model_dump(mode="json"),
        extra_headers={"If-Match": if_match} if if_match else None,
    )


@router.delete("/staff/banners/{banner_id}", status_code=204, tags=["staff"])
async def delete_banner(
    banner_id: BannerIdPath, request: Request, staff: Staff, if_match: IfMatch = None
) -> Response:
    """`If-Match` must name its current `ETag` (400 without, 409 stale)."""
    return await _write(
        request,
        f"staff/banners/{banner_id}",
        method="DELETE",
        extra_headers={"If-Match": if_match} if if_match else None,
    )
