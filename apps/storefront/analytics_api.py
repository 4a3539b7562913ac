"""Sales analytics at the gateway: seed 004's `/api/staff/analytics/*` and
`/api/staff/reports/sales/export` (staff only, served by backoffice), and `POST /api/activity`,
where a shop client reports a shopper's steps (product views, cart adds, checkout starts) for
the conversion funnel (buffered and handed over by `apps.storefront.activity`, which also
records the cart adds and checkout starts the storefront sees succeed).
"""

import secrets
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from apps.contracts.analytics import (
    ActivityEvent,
    AnalyticsOverview,
    Beacon,
    BeaconAccepted,
    CategoryReport,
    Conversion,
    Granularity,
    SalesReport,
    TopProducts,
)
from apps.contracts.names import AppId
from apps.platform.dapr import InvokeResult, Sidecar, invoke_url
from apps.storefront.activity import activity_buffer, funnel_session
from apps.storefront.adapters import forward, outgoing_headers, to_response
from apps.storefront.auth import Caller, Staff
from apps.storefront.cart_api import session_of, set_session
from apps.storefront.openapi import ERRORS

FLUSH_SECONDS = 5.0
#: Events held at most; beyond this new ones are dropped (and counted) until a flush.
MAX_BUFFERED = 20_000

router = APIRouter(tags=["staff"], responses=ERRORS)

StartDate = Annotated[date | None, Query(description="first day (UTC); default 29 days ago")]
EndDate = Annotated[date | None, Query(description="last day (UTC), inclusive; default today")]


def _params(**values: Any) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v is not None
    }


@router.get("/api/staff/analytics/sales", response_model=SalesReport)
async def sales(
    request: Request,
    staff: Staff,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
) -> Response:
    """Paid orders by day, ISO week or month: revenue, orders, AOV, refunds and net, with the
    previous period of the same length for comparison (default: the last 30 days)."""
    params = _params(start_date=start_date, end_date=end_date, granularity=granularity)
    return await forward(request, AppId.BACKOFFICE, "analytics/sales", params=params)


@router.get("/api/staff/analytics/products/top", response_model=TopProducts)
async def top_products(
    request: Request,
    staff: Staff,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    sort_by: Literal["sales", "revenue", "views"] = "sales",
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> Response:
    params = _params(limit=limit, sort_by=sort_by, start_date=start_date, end_date=end_date)
    return await forward(request, AppId.BACKOFFICE, "analytics/products/top", params=params)


@router.get("/api/staff/analytics/categories", response_model=CategoryReport)
async def categories(
    request: Request, staff: Staff, start_date: StartDate = None, end_date: EndDate = None
) -> Response:
    params = _params(start_date=start_date, end_date=end_date)
    return await forward(request, AppId.BACKOFFICE, "analytics/categories", params=params)


@router.get("/api/staff/analytics/conversion", response_model=Conversion)
async def conversion(
    request: Request, staff: Staff, start_date: StartDate = None, end_date: EndDate = None
) -> Response:
    """Sessions -> product views -> cart -> checkout -> paid, for the period."""
    params = _params(start_date=start_date, end_date=end_date)
    return await forward(request, AppId.BACKOFFICE, "analytics/conversion", params=params)


@router.get("/api/staff/analytics/overview", response_model=AnalyticsOverview)
async def overview(
    request: Request,
    staff: Staff,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    sort_by: Literal["sales", "revenue", "views"] = "sales",
) -> Response:
    """The four reports above (sales by `granularity`, top products by `sort_by`, revenue by
    category, the funnel) for one period in one answer: what a dashboard shows at once.
    With a strong `ETag`; `If-None-Match` with it is answered 304 (no body) until a sale,
    a refund or new shopper activity changes the figures."""
    params = _params(
        start_date=start_date,
        end_date=end_date,
        granularity=granularity,
        limit=limit,
        sort_by=sort_by,
    )
    sent = request.headers.get("if-none-match", "")
    conditional = {"If-None-Match": sent} if 0 < len(sent) <= 200 else None
    return await forward(
        request, AppId.BACKOFFICE, "analytics/overview", params=params, extra_headers=conditional
    )


@router.get(
    "/api/staff/reports/sales/export",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
async def export_sales(
    request: Request,
    staff: Staff,
    format: Literal["csv", "xlsx"] = "csv",
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
) -> Response:
    """The sales report's periods as a CSV or XLSX file (XLSX adds a summary sheet)."""
    sidecar: Sidecar = request.app.state.sidecar
    params = _params(
        format=format, start_date=start_date, end_date=end_date, granularity=granularity
    )
    # A file, not JSON: read the bytes as they are (the sidecar client parses JSON).
    resp = await sidecar.http.get(
        invoke_url(AppId.BACKOFFICE, "analytics/export"),
        params=params,
        headers=await outgoing_headers(request),
    )
    if resp.status_code == 200:
        return Response(
            resp.content,
            media_type=resp.headers.get("content-type"),
            headers={"Content-Disposition": resp.headers.get("content-disposition", "")},
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    return to_response(request, InvokeResult(resp.status_code, body, resp.headers))


@router.post("/api/activity", tags=["activity"], status_code=202, response_model=BeaconAccepted)
async def report_activity(body: Beacon, request: Request, caller: Caller) -> Response:
    """A shopper's steps (product view, cart add, checkout start), counted under the signed-in
    user or the guest session (`X-Session-Id` / cookie; a new one is issued if absent)."""
    fresh: str | None = None
    guest = session_of(request)
    if not caller.signed_in and guest is None:
        guest = fresh = secrets.token_urlsafe(24)
    session = funnel_session(caller, guest)
    assert session is not None  # signed in, or a guest with a session by now
    now = datetime.now(UTC)
    events = [
        ActivityEvent(session=session, kind=e.kind, product_id=e.product_id, at=now)
        for e in body.events
    ]
    taken = activity_buffer(request).add(events)
    response = JSONResponse(
        BeaconAccepted(accepted=taken, session=session).model_dump(),
        status_code=202,
    )
    if fresh:
        set_session(request, response, fresh)
    return response
