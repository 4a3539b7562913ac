"""`/api/admin/sagas*`: operations on checkout sagas, served by `checkout` (`/ops/sagas*`,
which checks the signed admin context again). Admin only; every write lands in the audit
log through the gateway's audit trail (apps/storefront/admin_ops_api.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.checkout import CheckoutStatus
from apps.contracts.names import AppId
from apps.contracts.operations_sagas import (
    RaisePaymentEvent,
    RerunSaga,
    SagaDetail,
    SagaEventRaised,
    SagaPage,
    SagaPurged,
    SagaRerun,
    SagaTerminated,
    TerminateSaga,
)
from apps.platform.params import Limit, Page
from apps.storefront.adapters import forward
from apps.storefront.auth import Admin
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api/admin/sagas", tags=["admin"], responses=ERRORS)
SagaPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the saga's workflow instance id (the order id)",
    ),
]


@router.get("", response_model=SagaPage)
async def list_sagas(
    request: Request,
    admin: Admin,
    status: Annotated[list[CheckoutStatus] | None, Query(max_length=7)] = None,
    stuck: Annotated[
        bool | None, Query(description="only sagas idle past their own timeout (or not)")
    ] = None,
    older_than_seconds: Annotated[float | None, Query(ge=0, le=365 * 24 * 3600)] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """Checkout sagas (oldest first), in flight or ended: `status` (repeatable), `stuck`
    (idle longer than the wait they are in: payment, 3-D Secure or review timeout, plus a
    grace), `older_than_seconds` (started that long ago or more)."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    if status:
        params["status"] = [s.value for s in status]
    if stuck is not None:
        params["stuck"] = str(stuck).lower()
    if older_than_seconds is not None:
        params["older_than_seconds"] = older_than_seconds
    return await forward(request, AppId.CHECKOUT, "ops/sagas", params=params)


@router.get("/{saga_id}", response_model=SagaDetail)
async def saga(saga_id: SagaPath, request: Request, admin: Admin) -> Response:
    """One saga: status, custom status, steps and timings, the engine's history where this
    Dapr version has the API, and its input."""
    return await forward(request, AppId.CHECKOUT, f"ops/sagas/{saga_id}")


@router.post("/{saga_id}/terminate", response_model=SagaTerminated)
async def terminate(
    saga_id: SagaPath, request: Request, admin: Admin, body: TerminateSaga | None = Body(None)
) -> Response:
    """Stop a saga in flight and run its compensation as its own failure path does (the
    payment cancelled or refunded, the stock released, the promo use given back, the order
    cancelled). 409 if it has ended (unless a terminate's compensation did not finish)."""
    payload = (body or TerminateSaga()).model_dump(mode="json")
    return await forward(
        request, AppId.CHECKOUT, f"ops/sagas/{saga_id}/terminate", method="POST", body=payload
    )


@router.post("/{saga_id}/purge", response_model=SagaPurged)
async def purge(saga_id: SagaPath, request: Request, admin: Admin) -> Response:
    """Delete an ended saga's workflow state and its index row (409 while it runs)."""
    return await forward(request, AppId.CHECKOUT, f"ops/sagas/{saga_id}/purge", method="POST")


@router.post("/{saga_id}/events/payment", response_model=SagaEventRaised)
async def raise_payment(
    saga_id: SagaPath, body: RaisePaymentEvent, request: Request, admin: Admin
) -> Response:
    """Raise the saga's `payment_result` event by hand (a webhook that never came): it goes
    on as if payments had reported it. 409 if the saga has ended."""
    return await forward(
        request,
        AppId.CHECKOUT,
        f"ops/sagas/{saga_id}/events/payment",
        method="POST",
        body=body.model_dump(mode="json"),
    )


@router.post("/{saga_id}/rerun", response_model=SagaRerun)
async def rerun(
    saga_id: SagaPath, request: Request, admin: Admin, body: RerunSaga | None = Body(None)
) -> Response:
    """Rerun a failed saga from its failed step (or `event_id`) as a new instance
    `{saga_id}-rerun-{event_id}`, where the engine can (Dapr's RerunWorkflowFromEvent);
    501 where it cannot, 409 unless the saga failed."""
    payload = (body or RerunSaga()).model_dump(mode="json")
    return await forward(
        request, AppId.CHECKOUT, f"ops/sagas/{saga_id}/rerun", method="POST", body=payload
    )
