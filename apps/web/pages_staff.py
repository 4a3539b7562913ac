"""Staff pages (the back office): sales analytics with server-drawn charts and the sales
export, orders (release a held order), shipments, customer requests and returns. Products,
reviews, prices, restock and fraud are in staff_catalog.py; banners and promotions in
staff_marketing.py (their routers are included here). Every route starts with
`require(request, "staff")`; every figure comes from the storefront's `/api/staff/*`."""

import asyncio
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from apps.web.api import ApiError, Kept
from apps.web.render import money, page, redirect, require, templates
from apps.web.staff_charts import (
    bar_list_chart,
    column_chart,
    describe_ranking,
    describe_series,
    points,
    to_float,
)
from apps.web.staff_common import LIST_LIMIT, api_of, flash_error, form_of, me, optional
from apps.web.staff_forms import badge, idem, query, words

router = APIRouter(include_in_schema=False)
templates.env.globals["staff_badge"] = badge
templates.env.globals["staff_words"] = words

ORDER_NUMBER = re.compile(r"^SC-\d{4}-\d{6,}$", re.IGNORECASE)
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ORDER_STATUSES = (
    "pending",
    "awaiting_payment",
    "paid",
    "fulfilling",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "payment_failed",
    "refunded",
    "partially_refunded",
)
SHIPMENT_STATUSES = (
    "label_created",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "delayed",
    "delivery_failed",
    "returned_to_sender",
    "cancelled",
)
TICKET_STATUSES = ("open", "pending_customer", "pending_staff", "resolved", "closed")
TICKET_PRIORITIES = ("low", "medium", "high", "urgent")
TICKET_TYPES = ("order", "return", "delivery", "payment", "product", "other")
RETURN_STATUSES = ("requested", "approved", "rejected", "received", "refunded")
GRANULARITIES = ("day", "week", "month")


def _fmt_money(request: Request, currency: str) -> Any:
    locale = request.app.state.settings.locale
    return lambda v: money(f"{v:.2f}", currency, locale)


# -- analytics -------------------------------------------------------------------------------
def _day(value: str) -> str | None:
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def build_charts(
    request: Request,
    sales: dict[str, Any] | None,
    top: dict[str, Any] | None,
    categories: dict[str, Any] | None,
    funnel: dict[str, Any] | None,
    sort_by: str,
) -> dict[str, Any]:
    """The page's SVG charts from the four reports."""
    currency = (sales or {}).get("currency") or "USD"
    cash = _fmt_money(request, currency)

    def count(v: float) -> str:
        return f"{int(v):,}"

    charts: dict[str, Any] = {}
    series = (sales or {}).get("series") or []
    revenue = points(series, "period", "revenue")
    charts["revenue"] = column_chart(
        revenue,
        chart_id="chart-revenue",
        title="Revenue by period",
        desc=describe_series(revenue, "revenue", cash),
        fmt=cash,
        line=True,
    )
    orders = points(series, "period", "orders")
    charts["orders"] = column_chart(
        orders,
        chart_id="chart-orders",
        title="Paid orders by period",
        desc=describe_series(orders, "paid orders", count),
        fmt=count,
    )
    items = (top or {}).get("items") or []
    key = {"sales": "units", "revenue": "revenue", "views": "views"}.get(sort_by, "revenue")
    ranked = points(items, "name", key)
    fmt = cash if key == "revenue" else count
    charts["top"] = bar_list_chart(
        ranked,
        chart_id="chart-top",
        title=f"Top products by {words(key).lower()}",
        desc=describe_ranking(ranked, "products", fmt),
        fmt=fmt,
        width=560,
    )
    cats = points((categories or {}).get("items") or [], "category", "revenue")[:12]
    charts["categories"] = bar_list_chart(
        cats,
        chart_id="chart-categories",
        title="Revenue by category",
        desc=describe_ranking(cats, "categories", cash),
        fmt=cash,
        width=560,
    )
    steps = [
        {"label": words(s.get("step")), "count": s.get("count", 0)}
        for s in (funnel or {}).get("steps") or []
    ]
    funnel_points = points(steps, "label", "count")
    charts["funnel"] = bar_list_chart(
        funnel_points,
        chart_id="chart-funnel",
        title="Conversion funnel",
        desc=describe_ranking(funnel_points, "funnel steps", count)
        if funnel_points
        else "No sessions in this period.",
        fmt=count,
    )
    return charts


@router.get("/staff")
async def analytics(
    request: Request,
    start_date: Annotated[str, Query(max_length=20)] = "",
    end_date: Annotated[str, Query(max_length=20)] = "",
    granularity: Annotated[str, Query(max_length=10)] = "day",
    sort_by: Annotated[str, Query(max_length=10)] = "revenue",
) -> Response:
    require(request, "staff")
    api = api_of(request)
    granularity = granularity if granularity in GRANULARITIES else "day"
    sort_by = sort_by if sort_by in ("sales", "revenue", "views") else "revenue"
    errors: dict[str, str] = {}
    start, end = _day(start_date), _day(end_date)
    if start_date and not start:
        errors["start_date"] = "Enter a date like 2026-03-01."
    if end_date and not end:
        errors["end_date"] = "Enter a date like 2026-03-31."
    if start and end and start > end:
        errors["end_date"] = "The last day must not be before the first day."
    period = {"start_date": start, "end_date": end}
    kept: Kept | None = None
    error: ApiError | None = None
    if not errors:
        try:
            kept = await api.get_private(
                request,
                "api/staff/analytics/overview",
                granularity=granularity,
                limit=10,
                sort_by=sort_by,
                **period,
            )
        except ApiError as refused:
            if refused.status not in (400, 422):
                raise
            error = refused
            errors.update(refused.fields)
    overview = kept.body if kept is not None and isinstance(kept.body, dict) else {}
    sales, top, categories, funnel = (
        overview.get(part) for part in ("sales", "top_products", "categories", "conversion")
    )
    charts = kept.derived.get("charts") if kept is not None else None
    if charts is None:
        charts = build_charts(request, sales, top, categories, funnel, sort_by)
        if kept is not None:
            kept.derived["charts"] = charts  # the same answer draws the same charts
    form = {
        "start_date": (sales or {}).get("start_date") or start_date,
        "end_date": (sales or {}).get("end_date") or end_date,
        "granularity": granularity,
        "sort_by": sort_by,
    }
    export = {k: v for k, v in form.items() if k != "sort_by" and v}
    context = {
        "title": "Sales analytics",
        "sales": sales,
        "top": top,
        "categories": categories,
        "funnel": funnel,
        "charts": charts,
        "form": form,
        "errors": errors,
        "error": error,
        "granularities": GRANULARITIES,
        "export_csv": query("/staff/export", format="csv", **export).rstrip("&"),
        "export_xlsx": query("/staff/export", format="xlsx", **export).rstrip("&"),
        "to_float": to_float,
    }
    status = 422 if errors else 200
    return page(request, "staff/analytics.html", context, status=status)


@router.get("/staff/export")
async def export(
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    start_date: Annotated[str, Query(max_length=20)] = "",
    end_date: Annotated[str, Query(max_length=20)] = "",
    granularity: Annotated[str, Query(max_length=10)] = "day",
) -> Response:
    """The sales report as a file, passed through from the API as it came."""
    require(request, "staff")
    params = {
        "format": format,
        "start_date": _day(start_date),
        "end_date": _day(end_date),
        "granularity": granularity if granularity in GRANULARITIES else "day",
    }
    answer = await api_of(request).raw(
        request, "GET", "api/staff/reports/sales/export", params=params
    )
    if answer.status_code != 200:
        try:
            body = answer.json()
        except ValueError:
            body = None
        raise ApiError.of(answer.status_code, body)
    fallback = f'attachment; filename="sales.{format}"'
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type") or "application/octet-stream",
        headers={
            "Content-Disposition": answer.headers.get("content-disposition") or fallback,
            "Cache-Control": "no-store",
        },
    )


# -- orders ----------------------------------------------------------------------------------
@router.get("/staff/orders")
async def orders(
    request: Request,
    status: Annotated[str, Query(max_length=30)] = "",
    q: Annotated[str, Query(max_length=80)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    api = api_of(request)
    q = q.strip()
    notice = ""
    if q:
        if ORDER_NUMBER.match(q):
            try:
                found = await api.get(request, f"api/staff/orders/by-number/{q.upper()}")
                return redirect(f"/staff/orders/{found['order_id']}", request)
            except ApiError as error:
                if error.status != 404:
                    raise
        elif ORDER_ID.match(q):
            try:
                found = await api.get(request, f"api/staff/orders/{q}")
                return redirect(f"/staff/orders/{found['order_id']}", request)
            except ApiError as error:
                if error.status not in (404, 422):
                    raise
        notice = f"No order numbered “{q}”. Order numbers look like SC-2026-000123."
    status = status if status in ORDER_STATUSES else ""
    listing = await api.get(
        request, "api/staff/orders", status=status or None, page=page_no, limit=LIST_LIMIT
    )
    return page(
        request,
        "staff/orders.html",
        {
            "title": "Orders",
            "listing": listing,
            "filters": {"status": status, "q": q},
            "notice": notice,
            "statuses": ORDER_STATUSES,
            "base": query("/staff/orders", status=status),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


@router.get("/staff/orders/{order_id}")
async def order_detail(request: Request, order_id: str) -> Response:
    require(request, "staff")
    api = api_of(request)
    order = await api.get(request, f"api/staff/orders/{order_id}")
    payment, checkout, shipments = await asyncio.gather(
        optional(api.get(request, f"api/staff/payments/{order_id}")),
        optional(api.get(request, f"api/staff/checkouts/{order_id}")),
        optional(api.get(request, "api/staff/shipments", order_id=order_id, limit=20)),
    )
    return page(
        request,
        "staff/order.html",
        {
            "title": f"Order {order['order_number']}",
            "order": order,
            "payment": payment,
            "checkout": checkout,
            "shipments": (shipments or {}).get("items") or [],
        },
    )


@router.post("/staff/orders/{order_id}/release")
async def release_order(request: Request, order_id: str) -> Response:
    require(request, "staff")
    try:
        await api_of(request).call(request, "POST", f"api/staff/orders/{order_id}/release")
    except ApiError as error:
        if error.status in (404, 401, 403):
            raise
        flash_error(request, error)
        return redirect(f"/staff/orders/{order_id}", request)
    request.state.session.notify("Released: the order goes to the warehouse now.", "success")
    return redirect(f"/staff/orders/{order_id}", request)


# -- shipments -------------------------------------------------------------------------------
@router.get("/staff/shipments")
async def shipments(
    request: Request,
    status: Annotated[str, Query(max_length=30)] = "",
    carrier: Annotated[str, Query(max_length=60)] = "",
    order_id: Annotated[str, Query(max_length=64)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    status = status if status in SHIPMENT_STATUSES else ""
    order_id = order_id.strip() if ORDER_ID.match(order_id.strip()) else ""
    listing = await api_of(request).get(
        request,
        "api/staff/shipments",
        status=status or None,
        carrier=carrier.strip() or None,
        order_id=order_id or None,
        page=page_no,
        limit=LIST_LIMIT,
    )
    filters = {"status": status, "carrier": carrier.strip(), "order_id": order_id}
    return page(
        request,
        "staff/shipments.html",
        {
            "title": "Shipments",
            "listing": listing,
            "filters": filters,
            "statuses": SHIPMENT_STATUSES,
            "base": query("/staff/shipments", **filters),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


async def _shipment_page(
    request: Request,
    shipment_id: str,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    api = api_of(request)
    shipment = await api.get(request, f"api/staff/shipments/{shipment_id}")
    carrier = await optional(
        api.get(request, f"api/staff/shipments/{shipment_id}/carrier-tracking")
    )
    return page(
        request,
        "staff/shipment.html",
        {
            "title": f"Shipment {shipment['tracking_number']}",
            "shipment": shipment,
            "carrier": carrier,
            "statuses": SHIPMENT_STATUSES,
            "errors": errors or {},
            "form": form or {},
            "error": error,
        },
        status=status,
    )


@router.get("/staff/shipments/{shipment_id}")
async def shipment_detail(request: Request, shipment_id: str) -> Response:
    require(request, "staff")
    return await _shipment_page(request, shipment_id)


async def _shipment_action(
    request: Request, shipment_id: str, method: str, action: str, body: dict[str, Any], done: str
) -> Response:
    headers = {"Idempotency-Key": idem()} if action != "contact-carrier" else None
    try:
        await api_of(request).call(
            request,
            method,
            f"api/staff/shipments/{shipment_id}/{action}",
            json=body,
            headers=headers,
        )
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        if error.status == 409 and "allowed" in error.details:
            allowed = ", ".join(words(s) for s in error.details.get("allowed") or []) or "none"
            error.message = f"{error.message} Allowed next: {allowed}."
        return await _shipment_page(
            request,
            shipment_id,
            errors=error.fields,
            form=body,
            error=error,
            status=error.status if 400 <= error.status < 500 else 503,
        )
    request.state.session.notify(done, "success")
    return redirect(f"/staff/shipments/{shipment_id}", request)


@router.post("/staff/shipments/{shipment_id}/status")
async def shipment_status(request: Request, shipment_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    body = {
        "status": form.get("status", ""),
        "location": form.get("location", ""),
        "notes": form.get("notes", ""),
    }
    return await _shipment_action(
        request, shipment_id, "PUT", "status", body, "Shipment status updated."
    )


@router.post("/staff/shipments/{shipment_id}/contact-carrier")
async def shipment_contact(request: Request, shipment_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    body = {"issue_description": form.get("issue_description", "")}
    return await _shipment_action(
        request, shipment_id, "POST", "contact-carrier", body, "A case was opened with the carrier."
    )


@router.post("/staff/shipments/{shipment_id}/notify")
async def shipment_notify(request: Request, shipment_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    body = {
        "notification_type": form.get("notification_type", "status_update"),
        "message": form.get("message", ""),
    }
    return await _shipment_action(
        request, shipment_id, "POST", "notify-customer", body, "The customer will be emailed."
    )


# -- customer requests (tickets) -------------------------------------------------------------
@router.get("/staff/tickets")
async def tickets(
    request: Request,
    status: Annotated[str, Query(max_length=30)] = "",
    priority: Annotated[str, Query(max_length=20)] = "",
    type: Annotated[str, Query(max_length=20)] = "",
    mine: Annotated[str, Query(max_length=5)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    status = status if status in TICKET_STATUSES else ""
    priority = priority if priority in TICKET_PRIORITIES else ""
    type = type if type in TICKET_TYPES else ""
    mine = "1" if mine else ""
    listing = await api_of(request).get(
        request,
        "api/staff/tickets",
        status=status or None,
        priority=priority or None,
        type=type or None,
        assigned_to=me(request) if mine else None,
        page=page_no,
        limit=LIST_LIMIT,
    )
    filters = {"status": status, "priority": priority, "type": type, "mine": mine}
    return page(
        request,
        "staff/tickets.html",
        {
            "title": "Customer requests",
            "listing": listing,
            "filters": filters,
            "statuses": TICKET_STATUSES,
            "priorities": TICKET_PRIORITIES,
            "types": TICKET_TYPES,
            "base": query("/staff/tickets", **filters),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


async def _ticket_page(
    request: Request,
    ticket_id: str,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    ticket = await api_of(request).get(request, f"api/staff/tickets/{ticket_id}")
    return page(
        request,
        "staff/ticket.html",
        {
            "title": f"Request {ticket['ticket_number']}",
            "ticket": ticket,
            "statuses": TICKET_STATUSES,
            "me": me(request),
            "errors": errors or {},
            "form": form or {},
            "error": error,
        },
        status=status,
    )


@router.get("/staff/tickets/{ticket_id}")
async def ticket_detail(request: Request, ticket_id: str) -> Response:
    require(request, "staff")
    return await _ticket_page(request, ticket_id)


async def _ticket_action(
    request: Request,
    ticket_id: str,
    method: str,
    action: str,
    body: dict[str, Any],
    form: dict[str, Any],
    done: str,
) -> Response:
    try:
        await api_of(request).call(
            request,
            method,
            f"api/staff/tickets/{ticket_id}/{action}",
            json=body,
            headers={"Idempotency-Key": idem()},
        )
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        return await _ticket_page(
            request,
            ticket_id,
            errors=error.fields,
            form=form,
            error=error,
            status=error.status if 400 <= error.status < 500 else 503,
        )
    request.state.session.notify(done, "success")
    return redirect(f"/staff/tickets/{ticket_id}", request)


@router.post("/staff/tickets/{ticket_id}/response")
async def ticket_response(request: Request, ticket_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    internal = form.get("internal_note") in ("on", "true", "1")
    body = {"message": form.get("message", "").strip(), "internal_note": internal}
    done = "Internal note added." if internal else "Answer sent to the customer."
    return await _ticket_action(request, ticket_id, "POST", "response", body, form, done)


@router.post("/staff/tickets/{ticket_id}/status")
async def ticket_status(request: Request, ticket_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    body: dict[str, Any] = {"new_status": form.get("new_status", "")}
    if form.get("resolution", "").strip():
        body["resolution"] = form["resolution"].strip()
    return await _ticket_action(request, ticket_id, "PUT", "status", body, form, "Status changed.")


@router.post("/staff/tickets/{ticket_id}/assign")
async def ticket_assign(request: Request, ticket_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    staff_id = form.get("staff_id", "").strip() or me(request)
    done = "Assigned to you." if staff_id == me(request) else f"Assigned to {staff_id}."
    return await _ticket_action(
        request, ticket_id, "PUT", "assign", {"staff_id": staff_id}, form, done
    )


# -- returns ---------------------------------------------------------------------------------
@router.get("/staff/returns")
async def returns(
    request: Request,
    status: Annotated[str, Query(max_length=30)] = "",
    order_id: Annotated[str, Query(max_length=64)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    status = status if status in RETURN_STATUSES else ""
    order_id = order_id.strip() if ORDER_ID.match(order_id.strip()) else ""
    listing = await api_of(request).get(
        request,
        "api/staff/returns",
        status=status or None,
        order_id=order_id or None,
        page=page_no,
        limit=LIST_LIMIT,
    )
    filters = {"status": status, "order_id": order_id}
    return page(
        request,
        "staff/returns.html",
        {
            "title": "Returns",
            "listing": listing,
            "filters": filters,
            "statuses": RETURN_STATUSES,
            "base": query("/staff/returns", **filters),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


async def _return_page(
    request: Request,
    return_id: str,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    found = await api_of(request).get(request, f"api/staff/returns/{return_id}")
    return page(
        request,
        "staff/return.html",
        {
            "title": f"Return for order {found['order_number']}",
            "ret": found,
            "errors": errors or {},
            "form": form or {},
            "error": error,
        },
        status=status,
    )


@router.get("/staff/returns/{return_id}")
async def return_detail(request: Request, return_id: str) -> Response:
    require(request, "staff")
    return await _return_page(request, return_id)


@router.post("/staff/returns/{return_id}/{decision}")
async def return_decide(request: Request, return_id: str, decision: str) -> Response:
    require(request, "staff")
    if decision not in ("approve", "reject"):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    reason = form.get("reason", "").strip()
    errors: dict[str, str] = {}
    if decision == "reject" and not reason:
        errors["reason"] = "Say why the return is rejected (the customer is told)."
        return await _return_page(request, return_id, errors=errors, form=form, status=422)
    try:
        await api_of(request).call(
            request, "PUT", f"api/staff/returns/{return_id}/{decision}", json={"reason": reason}
        )
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        return await _return_page(
            request,
            return_id,
            errors=error.fields,
            form=form,
            error=error,
            status=error.status if 400 <= error.status < 500 else 503,
        )
    done = (
        "Return approved: a return label was booked."
        if decision == "approve"
        else ("Return rejected.")
    )
    request.state.session.notify(done, "success")
    return redirect(f"/staff/returns/{return_id}", request)


# The rest of the back office (their routes are added to this router).
from apps.web.staff_catalog import router as _catalog  # noqa: E402
from apps.web.staff_marketing import router as _marketing  # noqa: E402

router.include_router(_catalog)
router.include_router(_marketing)
