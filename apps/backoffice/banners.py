"""Banners' rules (pure): which are live at a time and in what order, what staff may set,
and the version check of an edit.

A banner is live when it is `active` and now is within its window: from `starts_at`
(inclusive; none: any time) until `ends_at` (exclusive; none: no end). Live banners are
shown highest `priority` first; equal priorities: the one that started earlier (no start
counts as earliest), then by id, so every replica answers the same order.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from apps.contracts.banners import (
    ActiveBanner,
    Banner,
    BannerIn,
    BannerPlacement,
    BannerStatus,
    StaffBanner,
)
from apps.contracts.errors import Conflict, InvalidRequest, UnprocessableError

EARLIEST = datetime.min.replace(tzinfo=UTC)
PUBLIC_FIELDS = set(ActiveBanner.model_fields)


def checked(req: BannerIn) -> BannerIn:
    """The banner staff asked for, or a 422 naming the rule it breaks."""
    for name in ("starts_at", "ends_at"):
        value: datetime | None = getattr(req, name)
        if value is not None and value.utcoffset() is None:
            raise UnprocessableError(f"{name} needs a UTC offset", field=name)
    if req.starts_at and req.ends_at and req.ends_at <= req.starts_at:
        raise UnprocessableError("ends_at must be after starts_at", field="ends_at")
    return req


def status_of(banner: BannerIn, now: datetime) -> BannerStatus:
    if not banner.active:
        return BannerStatus.DISABLED
    if banner.ends_at is not None and now >= banner.ends_at:
        return BannerStatus.EXPIRED
    if banner.starts_at is not None and now < banner.starts_at:
        return BannerStatus.SCHEDULED
    return BannerStatus.LIVE


def order_key(banner: Banner) -> tuple[int, datetime, str]:
    return (-banner.priority, banner.starts_at or EARLIEST, banner.banner_id)


def live(
    banners: Iterable[Banner], now: datetime, placement: BannerPlacement | None = None
) -> list[ActiveBanner]:
    """The banners shown at `now` (of one placement, or all), in display order."""
    shown = sorted(
        (
            b
            for b in banners
            if status_of(b, now) == BannerStatus.LIVE
            and (placement is None or b.placement == placement)
        ),
        key=order_key,
    )
    return [ActiveBanner.model_validate(b.model_dump(include=PUBLIC_FIELDS)) for b in shown]


def staff_view(banner: Banner, now: datetime) -> StaffBanner:
    return StaffBanner(**banner.model_dump(), status=status_of(banner, now))


def etag_of(banner: Banner) -> str:
    return f'"{banner.banner_id}.{banner.version}"'


def ensure_current(banner: Banner, if_match: str | None) -> None:
    """An edit names the version it was based on (400 without one, 409 if it is stale)."""
    if not if_match:
        raise InvalidRequest("If-Match header with the banner's ETag is required")
    if if_match != etag_of(banner):
        raise Conflict("The banner changed since you read it", etag=etag_of(banner))


def created(req: BannerIn, banner_id: str, who: str, now: datetime) -> Banner:
    return Banner(
        **checked(req).model_dump(),
        banner_id=banner_id,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=who,
        updated_by=who,
    )


def replaced(
    current: Banner, req: BannerIn, if_match: str | None, who: str, now: datetime
) -> Banner:
    ensure_current(current, if_match)
    return Banner(
        **checked(req).model_dump(),
        banner_id=current.banner_id,
        version=current.version + 1,
        created_at=current.created_at,
        updated_at=now,
        created_by=current.created_by,
        updated_by=who,
    )
