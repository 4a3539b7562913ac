"""Operations on checkout sagas (reached through the storefront's `/api/admin/sagas*`, the
signed admin context checked again here): apps/checkout/operations.py."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query

from apps.checkout.operations import SagaOperations, SagaQuery
from apps.contracts.checkout import CheckoutStatus
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
from apps.platform.http import app_state
from apps.platform.params import Limit, Page
from apps.platform.roles import AdminCaller

router = APIRouter(prefix="/ops/sagas", tags=["admin"])


Admin = AdminCaller
Ops = Annotated[SagaOperations, Depends(app_state("saga_ops"))]
SagaPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("", response_model=SagaPage)
async def list_sagas(
    who: Admin,
    ops: Ops,
    status: Annotated[list[CheckoutStatus] | None, Query(max_length=7)] = None,
    stuck: bool | None = None,
    older_than_seconds: Annotated[float | None, Query(ge=0, le=365 * 24 * 3600)] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> SagaPage:
    query = SagaQuery(
        statuses=frozenset(status or ()),
        stuck=stuck,
        older_than_seconds=older_than_seconds,
        page=page,
        limit=limit,
    )
    return await ops.list(query)


@router.get("/{saga_id}", response_model=SagaDetail)
async def saga(saga_id: SagaPath, who: Admin, ops: Ops) -> SagaDetail:
    return await ops.detail(saga_id)


@router.post("/{saga_id}/terminate", response_model=SagaTerminated)
async def terminate(
    saga_id: SagaPath, who: Admin, ops: Ops, body: TerminateSaga | None = Body(None)
) -> SagaTerminated:
    reason = (body or TerminateSaga()).reason
    return await ops.terminate(saga_id, reason, who.user_id or "admin")


@router.post("/{saga_id}/purge", response_model=SagaPurged)
async def purge(saga_id: SagaPath, who: Admin, ops: Ops) -> SagaPurged:
    return await ops.purge(saga_id)


@router.post("/{saga_id}/events/payment", response_model=SagaEventRaised)
async def raise_payment(
    saga_id: SagaPath, body: RaisePaymentEvent, who: Admin, ops: Ops
) -> SagaEventRaised:
    return await ops.raise_payment(saga_id, body)


@router.post("/{saga_id}/rerun", response_model=SagaRerun)
async def rerun(
    saga_id: SagaPath, who: Admin, ops: Ops, body: RerunSaga | None = Body(None)
) -> SagaRerun:
    return await ops.rerun(saga_id, (body or RerunSaga()).event_id)
