"""Routes of the identity app (reached only through Dapr; the storefront maps them to
`/api/auth/*`, `/api/users/me*` and `/api/admin/*`). Who calls is read from the gateway's
signed context only."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response

from apps.contracts.account_security import (
    CLIENT_IP_HEADER,
    CLIENT_USER_AGENT_HEADER,
    MfaChallenge,
)
from apps.contracts.errors import Forbidden, Unauthorized
from apps.contracts.identity import (
    AccountStanding,
    AddressIn,
    AdminUserCreate,
    AuditEntry,
    ContactDetails,
    Dashboard,
    ExternalLogin,
    LoginRequest,
    PasswordChange,
    PaymentMethodIn,
    Preferences,
    Principal,
    ProfileUpdate,
    RefreshRequest,
    Rewards,
    Role,
    RoleChange,
    SavedAddress,
    SavedPaymentMethod,
    SignupRequest,
    TokenPair,
    TokenStatus,
    TokenStatusRequest,
    UserPage,
    UserProfile,
    WishlistAdd,
    WishlistItem,
)
from apps.identity.credentials import Device
from apps.identity.service import IdentityService
from apps.platform.context import CONTEXT_HEADER, verify_context
from apps.platform.http import app_state
from apps.platform.params import Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter()
Service = Annotated[IdentityService, Depends(app_state("service"))]


async def caller(
    request: Request, context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None
) -> Principal:
    return verify_context(context, request.app.state.context_key)


async def customer(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if not principal.signed_in:
        raise Unauthorized("Sign in to use this")
    return principal


async def admin(principal: Annotated[Principal, Depends(customer)]) -> Principal:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("This needs the admin role", required=Role.ADMIN.value)
    return principal


async def device(
    user_agent: Annotated[str, Header(alias=CLIENT_USER_AGENT_HEADER)] = "",
    ip: Annotated[str, Header(alias=CLIENT_IP_HEADER)] = "",
) -> Device:
    """Where a sign-in comes from, as the gateway saw it (cut to size: it is logged, and
    kept only as a hash)."""
    return Device(user_agent=user_agent[:300], ip=ip[:64])


Customer = Annotated[Principal, Depends(customer)]
Admin = Annotated[Principal, Depends(admin)]
Client = Annotated[Device, Depends(device)]


# -- sign-in ---------------------------------------------------------------------------------
@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(service: Service, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=60"
    return await service.jwks()


@router.post("/auth/signup", status_code=201, response_model=UserProfile, tags=["auth"])
async def signup(body: SignupRequest, service: Service, client: Client) -> UserProfile:
    return await service.signup(body, device=client)


@router.post("/auth/login", response_model=TokenPair | MfaChallenge, tags=["auth"])
async def login(body: LoginRequest, service: Service, client: Client) -> TokenPair | MfaChallenge:
    """Tokens, or for an account with two-factor on a challenge for `/auth/login/2fa`."""
    return await service.login(str(body.email), body.password, client)


@router.post("/auth/entra", response_model=TokenPair, tags=["auth"])
async def login_entra(body: ExternalLogin, service: Service, client: Client) -> TokenPair:
    return await service.login_entra(body.token, client)


@router.post("/auth/refresh", response_model=TokenPair, tags=["auth"])
async def refresh(body: RefreshRequest, service: Service) -> TokenPair:
    return await service.refresh(body.refresh_token)


@router.post("/auth/token-status", response_model=TokenStatus, tags=["auth"])
async def token_status(body: TokenStatusRequest, service: Service) -> TokenStatus:
    """The gateway's question about an access token it verified: does it still count?"""
    return await service.token_status(body)


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(body: RefreshRequest, service: Service) -> Response:
    await service.logout(body.refresh_token)
    return Response(status_code=204)


# -- other apps -------------------------------------------------------------------------------
@router.get("/users/{user_id}/standing", response_model=AccountStanding, tags=["internal"])
async def standing(
    user_id: Annotated[str, Path(min_length=1, max_length=100)],
    service: Service,
    payment_method: Annotated[str | None, Query(max_length=120)] = None,
) -> AccountStanding:
    """Checkout's fraud scoring (through Dapr; the gateway does not route here): the
    account's age and since when it has saved `payment_method`."""
    return await service.standing(user_id, payment_method)


@router.get("/users/{user_id}/contact", response_model=ContactDetails, tags=["internal"])
async def contact(
    user_id: Annotated[str, Path(min_length=1, max_length=100)], service: Service
) -> ContactDetails:
    """The notifications app (through Dapr; the gateway does not route here): the account's
    email, name, language and notification preferences (404 for a closed account)."""
    return await service.contact(user_id)


# -- the signed-in user ---------------------------------------------------------------------
@router.get("/users/me", response_model=UserProfile, tags=["users"])
async def me(who: Customer, service: Service) -> UserProfile:
    return (await service.me(who)).profile


@router.put("/users/me", response_model=UserProfile, tags=["users"])
async def update_me(body: ProfileUpdate, who: Customer, service: Service) -> UserProfile:
    return await service.update_me(who, body)


@router.delete("/users/me", status_code=204, tags=["users"])
async def delete_me(who: Customer, service: Service) -> Response:
    await service.delete_me(who)
    return Response(status_code=204)


@router.put("/users/me/password", status_code=204, tags=["users"])
async def change_password(body: PasswordChange, who: Customer, service: Service) -> Response:
    await service.change_password(who, body)
    return Response(status_code=204)


@router.get("/users/me/dashboard", response_model=Dashboard, tags=["users"])
async def dashboard(who: Customer, service: Service) -> Dashboard:
    return await service.dashboard(who)


@router.get("/users/me/rewards", response_model=Rewards, tags=["users"])
async def rewards(who: Customer, service: Service) -> Rewards:
    return (await service.me(who)).profile.rewards


@router.get("/users/me/preferences", response_model=Preferences, tags=["users"])
async def get_preferences(who: Customer, service: Service) -> Preferences:
    return await service.preferences(who)


@router.put("/users/me/preferences", response_model=Preferences, tags=["users"])
async def put_preferences(body: Preferences, who: Customer, service: Service) -> Preferences:
    return await service.preferences(who, body)


@router.get("/users/me/addresses", response_model=list[SavedAddress], tags=["users"])
async def addresses(who: Customer, service: Service) -> list[SavedAddress]:
    return (await service.me(who)).addresses


@router.post("/users/me/addresses", status_code=201, response_model=SavedAddress, tags=["users"])
async def add_address(body: AddressIn, who: Customer, service: Service) -> SavedAddress:
    return (await service.add_address(who, body)).addresses[-1]


@router.put("/users/me/addresses/{address_id}", response_model=SavedAddress, tags=["users"])
async def replace_address(
    address_id: str, body: AddressIn, who: Customer, service: Service
) -> SavedAddress:
    user = await service.replace_address(who, address_id, body)
    return next(a for a in user.addresses if a.address_id == address_id)


@router.delete("/users/me/addresses/{address_id}", status_code=204, tags=["users"])
async def remove_address(address_id: str, who: Customer, service: Service) -> Response:
    await service.remove_address(who, address_id)
    return Response(status_code=204)


@router.put("/users/me/addresses/{address_id}/default", response_model=SavedAddress, tags=["users"])
async def default_address(address_id: str, who: Customer, service: Service) -> SavedAddress:
    user = await service.default_address(who, address_id)
    return next(a for a in user.addresses if a.address_id == address_id)


@router.get("/users/me/payment-methods", response_model=list[SavedPaymentMethod], tags=["users"])
async def payment_methods(who: Customer, service: Service) -> list[SavedPaymentMethod]:
    return (await service.me(who)).payment_methods


@router.post(
    "/users/me/payment-methods",
    status_code=201,
    response_model=SavedPaymentMethod,
    tags=["users"],
)
async def add_payment_method(
    body: PaymentMethodIn, who: Customer, service: Service
) -> SavedPaymentMethod:
    return (await service.add_payment_method(who, body)).payment_methods[-1]


@router.delete("/users/me/payment-methods/{method_id}", status_code=204, tags=["users"])
async def remove_payment_method(method_id: str, who: Customer, service: Service) -> Response:
    await service.remove_payment_method(who, method_id)
    return Response(status_code=204)


@router.get("/users/me/wishlist", response_model=list[WishlistItem], tags=["users"])
async def wishlist(who: Customer, service: Service) -> list[WishlistItem]:
    return (await service.me(who)).wishlist


@router.post(
    "/users/me/wishlist", status_code=201, response_model=list[WishlistItem], tags=["users"]
)
async def wishlist_add(body: WishlistAdd, who: Customer, service: Service) -> list[WishlistItem]:
    return (await service.wishlist_add(who, body.product_id)).wishlist


@router.delete("/users/me/wishlist/{product_id}", response_model=list[WishlistItem], tags=["users"])
async def wishlist_remove(product_id: str, who: Customer, service: Service) -> list[WishlistItem]:
    return (await service.wishlist_remove(who, product_id)).wishlist


# -- admin -----------------------------------------------------------------------------------
@router.get("/admin/users", response_model=UserPage, tags=["admin"])
async def list_users(
    who: Admin,
    service: Service,
    role: Annotated[Role | None, Query()] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> UserPage:
    return await service.list_users(role, page, limit)


@router.post("/admin/users", status_code=201, response_model=UserProfile, tags=["admin"])
async def create_user(body: AdminUserCreate, who: Admin, service: Service) -> UserProfile:
    return await service.admin_create(who, body)


@router.put("/admin/users/{user_id}/role", response_model=UserProfile, tags=["admin"])
async def set_role(user_id: str, body: RoleChange, who: Admin, service: Service) -> UserProfile:
    return await service.set_role(who, user_id, body.role)


@router.delete("/admin/users/{user_id}", status_code=204, tags=["admin"])
async def delete_user(user_id: str, who: Admin, service: Service) -> Response:
    await service.admin_delete(who, user_id)
    return Response(status_code=204)


@router.get("/admin/audit", response_model=list[AuditEntry], tags=["admin"])
async def audit_log(
    who: Admin, service: Service, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[AuditEntry]:
    return await service.audit_log(limit)


@router.post("/admin/keys/rotate", tags=["admin"])
async def rotate_keys(who: Admin, service: Service) -> dict[str, Any]:
    return await service.rotate_keys(who)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: rewards points for a signed-in customer's paid order (once per event)."""
    service: IdentityService = request.app.state.service
    return await dispatch(
        cloud_event,
        {
            "OrderPaid": service.on_order_event,
            "OrderCancelled": service.on_order_reversed,
            "OrderStatusChanged": service.on_order_reversed,  # refunded, partially_refunded
        },
    )
