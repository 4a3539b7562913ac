"""Banner routes of the back office (the gateway's `/api/banners/active` and
`/api/staff/banners*` forward here) and the store they are kept in.

All banners are one document of the back office's store (`banners`), changed by
compare-and-set: a listing or the active read is one read, and every change (create,
replace, delete) is atomic and checked against the version the editor read (a banner's
ETag). At most `MAX_BANNERS` are kept; delete old ones to make room.

The active read is public (no caller needed); the staff routes check the role again from the
gateway's signed context (403 to anyone else, also to a call that reached this app any other
way).
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response

from apps.backoffice import banners as rules
from apps.contracts.banners import (
    BANNER_ID_PATTERN,
    ActiveBanners,
    Banner,
    BannerIn,
    BannerList,
    BannerPlacement,
    BannerStatus,
    StaffBanner,
)
from apps.contracts.errors import Conflict, NotFound
from apps.contracts.events import utcnow
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey
from apps.platform.roles import StaffId
from apps.platform.state import JsonStateStore

KEY = "banners"
MAX_BANNERS = 500


def banner_id_for(who: str, idempotency_key: str | None) -> str:
    """A retried create (same staff member, same Idempotency-Key) names the same banner."""
    if not idempotency_key:
        return f"bnr-{secrets.token_hex(8)}"
    digest = hashlib.sha256(f"banner\n{who}\n{idempotency_key}".encode()).hexdigest()
    return f"bnr-{digest[:16]}"


class BannerStore:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def all(self) -> list[Banner]:
        found = await self.store.get(KEY)
        items = (found.value if found else {}).get("items", {})
        return [Banner.model_validate(b) for b in items.values()]

    async def get(self, banner_id: str) -> Banner:
        found = next((b for b in await self.all() if b.banner_id == banner_id), None)
        if found is None:
            raise NotFound("Banner not found", banner_id=banner_id)
        return found

    async def change(self, decide: Callable[[dict[str, Banner]], dict[str, Banner] | None]) -> None:
        """Compare-and-set of the whole set; `decide` None: nothing to write."""

        def step(raw: Any | None) -> Any | None:
            items = {k: Banner.model_validate(v) for k, v in (raw or {}).get("items", {}).items()}
            new = decide(items)
            if new is None:
                return None
            return {
                "kind": "banners",
                "items": {k: b.model_dump(mode="json") for k, b in new.items()},
            }

        await self.store.compare_and_set(KEY, step)

    async def create(
        self, req: BannerIn, banner_id: str, who: str, now: datetime
    ) -> tuple[Banner, bool]:
        """The new banner, and False if it existed already (a retried create)."""
        new = rules.created(req, banner_id, who, now)
        answer: list[tuple[Banner, bool]] = []

        def decide(items: dict[str, Banner]) -> dict[str, Banner] | None:
            answer.clear()
            if banner_id in items:
                answer.append((items[banner_id], False))
                return None
            if len(items) >= MAX_BANNERS:
                raise Conflict(f"At most {MAX_BANNERS} banners are kept: delete old ones first")
            answer.append((new, True))
            return {**items, banner_id: new}

        await self.change(decide)
        return answer[0]

    async def replace(
        self, banner_id: str, req: BannerIn, if_match: str | None, who: str, now: datetime
    ) -> Banner:
        answer: list[Banner] = []

        def decide(items: dict[str, Banner]) -> dict[str, Banner] | None:
            answer.clear()
            current = items.get(banner_id)
            if current is None:
                raise NotFound("Banner not found", banner_id=banner_id)
            new = rules.replaced(current, req, if_match, who, now)
            answer.append(new)
            return {**items, banner_id: new}

        await self.change(decide)
        return answer[0]

    async def delete(self, banner_id: str, if_match: str | None) -> None:
        def decide(items: dict[str, Banner]) -> dict[str, Banner] | None:
            current = items.get(banner_id)
            if current is None:
                raise NotFound("Banner not found", banner_id=banner_id)
            rules.ensure_current(current, if_match)
            return {k: v for k, v in items.items() if k != banner_id}

        await self.change(decide)


router = APIRouter(tags=["banners"])

Store = Annotated[BannerStore, Depends(app_state("banners"))]
BannerIdPath = Annotated[str, Path(pattern=BANNER_ID_PATTERN)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


Staff = StaffId


@router.get("/banners/active", response_model=ActiveBanners)
async def active_banners(store: Store, placement: BannerPlacement | None = None) -> ActiveBanners:
    now = utcnow()
    return ActiveBanners(banners=rules.live(await store.all(), now, placement), as_of=now)


@router.get("/staff/banners", response_model=BannerList)
async def list_banners(
    store: Store,
    who: Staff,
    placement: BannerPlacement | None = None,
    status: BannerStatus | None = None,
) -> BannerList:
    now = utcnow()
    shown = sorted(
        (
            rules.staff_view(b, now)
            for b in await store.all()
            if placement is None or b.placement == placement
        ),
        key=rules.order_key,
    )
    shown = [b for b in shown if status is None or b.status == status]
    return BannerList(banners=shown, total=len(shown))


@router.post("/staff/banners", status_code=201, response_model=StaffBanner)
async def create_banner(
    body: BannerIn, store: Store, who: Staff, response: Response, key: IdempotencyKey = None
) -> StaffBanner:
    """A retry with the same Idempotency-Key answers the banner it created."""
    banner, new = await store.create(body, banner_id_for(who, key), who, utcnow())
    if not new:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["ETag"] = rules.etag_of(banner)
    response.headers["Location"] = f"/api/staff/banners/{banner.banner_id}"
    return rules.staff_view(banner, utcnow())


@router.get("/staff/banners/{banner_id}", response_model=StaffBanner)
async def get_banner(
    banner_id: BannerIdPath, store: Store, who: Staff, response: Response
) -> StaffBanner:
    banner = await store.get(banner_id)
    response.headers["ETag"] = rules.etag_of(banner)
    return rules.staff_view(banner, utcnow())


@router.put("/staff/banners/{banner_id}", response_model=StaffBanner)
async def replace_banner(
    banner_id: BannerIdPath,
    body: BannerIn,
    store: Store,
    who: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> StaffBanner:
    """The whole banner, if `If-Match` names its current ETag (400 without, 409 if stale)."""
    banner = await store.replace(banner_id, body, if_match, who, utcnow())
    response.headers["ETag"] = rules.etag_of(banner)
    return rules.staff_view(banner, utcnow())


@router.delete("/staff/banners/{banner_id}", status_code=204)
async def delete_banner(
    banner_id: BannerIdPath, store: Store, who: Staff, if_match: IfMatch = None
) -> Response:
    await store.delete(banner_id, if_match)
    return Response(status_code=204)
