"""Banners: the storefront's scheduled hero and strip banners (seed 004's home page
"Banner/Promotion API": `GET /api/banners/active`), kept by the back office and managed by
staff (`/api/staff/banners*`)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from apps.contracts.schema import StrippedInput

BANNER_ID_PATTERN = r"^bnr-[a-z0-9]{8,32}$"
BannerId = Annotated[str, Field(pattern=BANNER_ID_PATTERN, examples=["bnr-4f1c2a9b0d3e"])]
#: An absolute https URL (no spaces, no `user@` part).
#: No NUL anywhere (PostgreSQL cannot store it): the gateway refuses it with 400, and the
#: OpenAPI document says so with these patterns (`forbid_nul` leaves patterns alone).
HTTPS_URL = r"https://[^\s/@?#\u0000]+(/[^\s\u0000]*)?"
HttpsUrl = Annotated[str, Field(min_length=9, max_length=2048, pattern=rf"^{HTTPS_URL}$")]
#: Where a banner leads: a path of this site (`/category/sale`) or an https URL.
LinkUrl = Annotated[
    str, Field(max_length=2048, pattern=rf"^(/([^/\s\u0000][^\s\u0000]*)?|{HTTPS_URL})$")
]
MAX_PRIORITY = 1000


class BannerPlacement(StrEnum):
    HOMEPAGE_HERO = "homepage_hero"
    HOMEPAGE_STRIP = "homepage_strip"
    CATEGORY_TOP = "category_top"
    CART = "cart"


class BannerStatus(StrEnum):
    """How a banner stands now: `live` is what `/api/banners/active` shows."""

    LIVE = "live"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    DISABLED = "disabled"


class BannerIn(StrippedInput):
    """`POST /api/staff/banners` and `PUT /api/staff/banners/{id}` (the whole banner).
    Times need a UTC offset; `ends_at` must be after `starts_at` (422). Higher `priority`
    comes first; equal priorities: the earlier start, then the id."""

    title: Annotated[str, Field(min_length=1, max_length=120)]
    subtitle: Annotated[str, Field(max_length=240)] = ""
    image_url: HttpsUrl
    link_url: LinkUrl | None = None
    cta_text: Annotated[str, Field(max_length=40)] = ""
    placement: BannerPlacement = BannerPlacement.HOMEPAGE_HERO
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY)
    starts_at: datetime | None = Field(default=None, description="none: from now on")
    ends_at: datetime | None = Field(default=None, description="none: until disabled")
    active: bool = Field(default=True, description="false: never shown, whatever the dates")


class Banner(BannerIn):
    """A banner as staff see it (`ETag` header: its version, for `If-Match`)."""

    banner_id: BannerId
    version: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime
    created_by: str = ""
    updated_by: str = ""


class StaffBanner(Banner):
    status: BannerStatus


class BannerList(BaseModel):
    banners: list[StaffBanner]
    total: int


class ActiveBanner(BaseModel):
    """What the storefront shows (no staff bookkeeping)."""

    banner_id: BannerId
    title: str
    subtitle: str
    image_url: str
    link_url: str | None
    cta_text: str
    placement: BannerPlacement
    priority: int
    starts_at: datetime | None
    ends_at: datetime | None


class ActiveBanners(BaseModel):
    """`GET /api/banners/active`: the banners live now, highest priority first."""

    banners: list[ActiveBanner]
    as_of: datetime
