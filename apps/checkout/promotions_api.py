"""Staff's promo code routes of checkout (the gateway's `/api/staff/promotions*` forward
here): list with use so far, read, create, edit (If-Match), pause and resume.

The gateway checks the role; checkout checks it again from the signed context, so a call
that reached checkout any other way is refused (403)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from apps.checkout.promotions_store import StoredPromotions
from apps.contracts.cart import PromoCode
from apps.contracts.events import utcnow
from apps.contracts.promotions import Promotion, PromotionIn, PromotionList, PromotionTermsIn
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey
from apps.platform.roles import StaffId

router = APIRouter(prefix="/staff/promotions", tags=["promotions"])

Promotions = Annotated[StoredPromotions, Depends(app_state("promotions"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


Staff = StaffId


def _tagged(response: Response, answer: tuple[Promotion, str]) -> Promotion:
    promotion, etag = answer
    response.headers["ETag"] = etag
    return promotion


@router.get("", response_model=PromotionList)
async def list_promotions(promotions: Promotions, who: Staff) -> PromotionList:
    return await promotions.list(utcnow())


@router.post("", status_code=201, response_model=Promotion)
async def create_promotion(
    body: PromotionIn,
    promotions: Promotions,
    who: Staff,
    response: Response,
    key: IdempotencyKey = None,
) -> Promotion:
    """A retry with the same Idempotency-Key answers the code it created (else 409)."""
    promotion, etag, fresh = await promotions.create(body, who, utcnow(), key)
    if not fresh:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["ETag"] = etag
    response.headers["Location"] = f"/api/staff/promotions/{promotion.terms.code}"
    return promotion


@router.get("/{code}", response_model=Promotion)
async def get_promotion(
    code: PromoCode, promotions: Promotions, who: Staff, response: Response
) -> Promotion:
    return _tagged(response, await promotions.get(code, utcnow()))


@router.put("/{code}", response_model=Promotion)
async def edit_promotion(
    code: PromoCode,
    body: PromotionTermsIn,
    promotions: Promotions,
    who: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> Promotion:
    return _tagged(response, await promotions.update(code, body, if_match, who, utcnow()))


@router.post("/{code}/pause", response_model=Promotion)
async def pause_promotion(
    code: PromoCode, promotions: Promotions, who: Staff, response: Response
) -> Promotion:
    return _tagged(response, await promotions.set_paused(code, True, who, utcnow()))


@router.post("/{code}/resume", response_model=Promotion)
async def resume_promotion(
    code: PromoCode, promotions: Promotions, who: Staff, response: Response
) -> Promotion:
    return _tagged(response, await promotions.set_paused(code, False, who, utcnow()))
