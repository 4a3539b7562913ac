"""Analytics routes of backoffice (reached through the storefront's `/api/staff/analytics/*`
and `/api/staff/reports/sales/export`), the storefront's activity batches, and the
subscriptions that feed the read model.

Staff routes check the gateway's signed context again here: an internal caller without a
staff context gets the same 401/403 as at the gateway.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from apps.backoffice.analytics.export import export_table, to_csv, to_xlsx
from apps.backoffice.analytics.service import AnalyticsService
from apps.contracts.analytics import (
    ActivityAccepted,
    ActivityBatch,
    AnalyticsOverview,
    CategoryReport,
    Conversion,
    Granularity,
    SalesReport,
    TopProducts,
)
from apps.contracts.errors import InvalidRequest
from apps.platform.http import app_state, conditional_json
from apps.platform.roles import StaffCaller
from apps.platform.subscriptions import dispatch

router = APIRouter()
Service = Annotated[AnalyticsService, Depends(app_state("analytics"))]

#: The longest period a report covers (three years and a day).
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 30
#: The days a report may name (the previous period of the earliest still exists).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
ORDER_EVENTS = (
    "OrderCreated",
    "OrderStatusChanged",
    "OrderPaid",
    "OrderCancelled",
    "OrderPlaced",
    "OrderCompleted",
)
PAYMENT_EVENTS = ("PaymentProcessed", "RefundProcessed")
#: Seconds a staff client may show the overview it has without asking again (`private`:
#: for the user it was answered to only); the web app's analytics page does.
OVERVIEW_MAX_AGE = 2


Staff = StaffCaller
StartDate = Annotated[date | None, Query(description="first day (UTC), default 29 days ago")]
EndDate = Annotated[date | None, Query(description="last day (UTC), inclusive; default today")]


def period(start: date | None, end: date | None) -> tuple[date, date]:
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if first < EARLIEST or last > LATEST:
        raise InvalidRequest(f"Dates run from {EARLIEST} to {LATEST}")
    if first > last:
        raise InvalidRequest("start_date is after end_date", start_date=str(first))
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"A report covers at most {MAX_DAYS} days")
    return first, last


@router.get("/analytics/sales", response_model=SalesReport)
async def sales(
    service: Service,
    who: Staff,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
) -> SalesReport:
    start, end = period(start_date, end_date)
    return await service.sales(start, end, granularity)


@router.get("/analytics/products/top", response_model=TopProducts)
async def top_products(
    service: Service,
    who: Staff,
    start_date: StartDate = None,
    end_date: EndDate = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    sort_by: Literal["sales", "revenue", "views"] = "sales",
) -> TopProducts:
    start, end = period(start_date, end_date)
    return await service.top_products(start, end, limit, sort_by)


@router.get("/analytics/categories", response_model=CategoryReport)
async def categories(
    service: Service, who: Staff, start_date: StartDate = None, end_date: EndDate = None
) -> CategoryReport:
    start, end = period(start_date, end_date)
    return await service.categories(start, end)


@router.get("/analytics/conversion", response_model=Conversion)
async def conversion(
    service: Service, who: Staff, start_date: StartDate = None, end_date: EndDate = None
) -> Conversion:
    start, end = period(start_date, end_date)
    return await service.conversion(start, end)


@router.get("/analytics/overview", response_model=AnalyticsOverview)
async def overview(
    request: Request,
    service: Service,
    who: Staff,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    sort_by: Literal["sales", "revenue", "views"] = "sales",
) -> Response:
    """The staff analytics page's four reports in one answer (each as its own route gives
    it, from the same copy of the read model), with a strong ETag: `If-None-Match` with it
    is answered 304 until a sale, a refund or new activity changes the read model. A
    client may reuse it for its own user for `OVERVIEW_MAX_AGE` seconds without asking."""
    start, end = period(start_date, end_date)
    etag, body = await service.overview_json(start, end, granularity, limit, sort_by)
    return conditional_json(request, body, etag, f"private, max-age={OVERVIEW_MAX_AGE}")


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/analytics/export")
async def export(
    service: Service,
    who: Staff,
    format: Literal["csv", "xlsx"] = "csv",
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "day",
) -> Response:
    start, end = period(start_date, end_date)
    sales_report = await service.sales(start, end, granularity)
    table = export_table(sales_report)
    body = to_csv(table) if format == "csv" else to_xlsx(table, sales_report)
    name = f"sales-{start.isoformat()}-{end.isoformat()}.{format}"
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/activity", response_model=ActivityAccepted)
async def activity(batch: ActivityBatch, service: Service) -> ActivityAccepted:
    """A storefront replica's buffered shopper activity (internal: service invocation)."""
    return await service.record_activity(batch)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    service: AnalyticsService = request.app.state.analytics
    return await dispatch(cloud_event, dict.fromkeys(ORDER_EVENTS, service.on_order_event))


async def on_payment_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    service: AnalyticsService = request.app.state.analytics
    return await dispatch(cloud_event, dict.fromkeys(PAYMENT_EVENTS, service.on_payment_event))
