"""`/api/cart*`: the shopper's cart, kept by a CartActor reached through the Dapr actor API.

Which cart: a signed-in customer's is `user-{user_id}`; a guest's is `guest-{session}`,
the session id the storefront issues (cookie `sc_session` and header `X-Session-Id`,
either may be sent back). `POST /api/cart/merge` moves the guest cart into the user's cart
after sign-in. Every change carries an op id (the `Idempotency-Key` header, or one made
per request), so a retried call changes the cart once.
"""

import re
import secrets
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from apps.contracts.analytics import ActivityKind
from apps.contracts.cart import (
    AddItemRequest,
    Cart,
    CartReply,
    DestinationRequest,
    PromoRequest,
    QuantityRequest,
)
from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.identity import Principal
from apps.contracts.names import ActorType
from apps.platform.dapr import Sidecar
from apps.platform.params import IdempotencyKey
from apps.storefront.activity import funnel_session, record_step
from apps.storefront.adapters import outgoing_headers
from apps.storefront.auth import Caller, Customer
from apps.storefront.openapi import ERRORS
from apps.storefront.settings import StorefrontSettings

SESSION_COOKIE = "sc_session"
SESSION_HEADER = "X-Session-Id"
SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

router = APIRouter(prefix="/api/cart", tags=["cart"], responses=ERRORS)

ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^ci-[0-9a-f]{16}$")]


def session_of(request: Request) -> str | None:
    """The guest session the client sent back (header first, then cookie), if well-formed."""
    for value in (request.headers.get(SESSION_HEADER), request.cookies.get(SESSION_COOKIE)):
        if value and SESSION_PATTERN.match(value):
            return value
    return None


def _cart_id(request: Request, principal: Principal) -> tuple[str, str | None]:
    """(cart id, session id to hand to the client if new)."""
    if principal.signed_in:
        return f"user-{principal.user_id}", None
    session = session_of(request)
    if session is not None:
        return f"guest-{session}", None
    fresh = secrets.token_urlsafe(24)
    return f"guest-{fresh}", fresh


async def _call(
    request: Request,
    cart_id: str,
    method: str,
    payload: dict[str, Any] | None,
    new_session: str | None = None,
    status: int = 200,
) -> Response:
    sidecar: Sidecar = request.app.state.sidecar
    result = await sidecar.invoke_actor(
        ActorType.CART, cart_id, method, payload, headers=await outgoing_headers(request)
    )
    reply = CartReply.model_validate(result.body_or_raise())
    if not reply.ok or reply.cart is None:
        err = reply.error
        if err is None:
            raise DomainError("The cart gave no answer", code=ErrorCode.INTERNAL_SERVER_ERROR)
        raise DomainError(err.message, code=ErrorCode(err.code.value), **err.details)
    response = JSONResponse(reply.cart.model_dump(mode="json"), status_code=status)
    if new_session:
        set_session(request, response, new_session)
    return response


def set_session(request: Request, response: Response, session: str) -> None:
    settings: StorefrontSettings = request.app.state.settings
    response.headers[SESSION_HEADER] = session
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=settings.guest_session_days * 24 * 3600,
        httponly=True,
        secure=settings.environment == "azure",
        samesite="lax",
        path="/",
    )


def _op(key: str | None) -> str:
    return key or f"req-{uuid4()}"


@router.get("", response_model=Cart)
async def get_cart(request: Request, caller: Caller) -> Response:
    """The cart, re-validated against the catalog: lines whose price, stock or availability
    changed carry `issues` (prices are never changed silently); `valid` says none do."""
    cart_id, new_session = _cart_id(request, caller)
    return await _call(request, cart_id, "get", None, new_session)


@router.post("/items", response_model=Cart)
async def add_item(
    body: AddItemRequest, request: Request, caller: Caller, key: IdempotencyKey = None
) -> Response:
    """Add a product (its default variant unless `variant_id`); an existing line grows.
    422 for an unknown or unsellable product, 409 when stock is short."""
    cart_id, new_session = _cart_id(request, caller)
    payload = {**body.model_dump(mode="json"), "op_id": _op(key)}
    response = await _call(request, cart_id, "add_item", payload, new_session)
    guest = new_session or session_of(request)
    record_step(request, funnel_session(caller, guest), ActivityKind.CART_ADD, body.product_id)
    return response


@router.put("/items/{cart_item_id}", response_model=Cart)
async def update_item(
    cart_item_id: ItemId,
    body: QuantityRequest,
    request: Request,
    caller: Caller,
    key: IdempotencyKey = None,
) -> Response:
    """Set a line's quantity (at the catalog's current price)."""
    cart_id, new_session = _cart_id(request, caller)
    payload = {**body.model_dump(), "cart_item_id": cart_item_id, "op_id": _op(key)}
    return await _call(request, cart_id, "update_item", payload, new_session)


@router.delete("/items/{cart_item_id}", response_model=Cart)
async def remove_item(
    cart_item_id: ItemId, request: Request, caller: Caller, key: IdempotencyKey = None
) -> Response:
    cart_id, new_session = _cart_id(request, caller)
    payload = {"cart_item_id": cart_item_id, "op_id": _op(key)}
    return await _call(request, cart_id, "remove_item", payload, new_session)


@router.delete("", response_model=Cart)
async def clear_cart(request: Request, caller: Caller, key: IdempotencyKey = None) -> Response:
    """Empty the cart (lines and promotion)."""
    cart_id, new_session = _cart_id(request, caller)
    return await _call(request, cart_id, "clear", {"op_id": _op(key)}, new_session)


@router.post("/promo", response_model=Cart)
async def apply_promo(
    body: PromoRequest, request: Request, caller: Caller, key: IdempotencyKey = None
) -> Response:
    """Apply a promo code (422 if unknown, expired or below its minimum subtotal)."""
    cart_id, new_session = _cart_id(request, caller)
    payload = {**body.model_dump(), "op_id": _op(key)}
    return await _call(request, cart_id, "apply_promo", payload, new_session)


@router.delete("/promo", response_model=Cart)
async def remove_promo(request: Request, caller: Caller, key: IdempotencyKey = None) -> Response:
    cart_id, new_session = _cart_id(request, caller)
    return await _call(request, cart_id, "remove_promo", {"op_id": _op(key)}, new_session)


@router.put("/destination", response_model=Cart)
async def set_destination(
    body: DestinationRequest, request: Request, caller: Caller, key: IdempotencyKey = None
) -> Response:
    """Where the order will ship: the cart's tax becomes what checkout charges there
    (`totals.tax_basis` is `destination`; without one it is an `estimate`). 422 for a
    country we do not ship to."""
    cart_id, new_session = _cart_id(request, caller)
    payload = {**body.model_dump(), "op_id": _op(key)}
    return await _call(request, cart_id, "set_destination", payload, new_session)


@router.post("/merge", response_model=Cart)
async def merge_cart(request: Request, customer: Customer, key: IdempotencyKey = None) -> Response:
    """After sign-in: move the guest cart of this session into the user's cart. Same
    product and variant add up (capped at the per-line maximum); the user's promotion
    wins; merging twice changes nothing. The session cookie is cleared."""
    session = session_of(request)
    target = f"user-{customer.user_id}"
    if session is None:
        raise DomainError(
            f"No guest session to merge: send the {SESSION_HEADER} header or cookie",
            code=ErrorCode.UNPROCESSABLE_ENTITY,
        )
    payload = {"source_cart_id": f"guest-{session}", "op_id": _op(key)}
    response = await _call(request, target, "merge", payload)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
