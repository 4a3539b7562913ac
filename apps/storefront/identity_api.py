"""`/api/auth/*`, `/api/users/me*` and `/api/admin/*`, served by `identity`.

The caller identity `identity` sees is the gateway's signed context (built from the verified
bearer token), never a user id from the request. Admin routes need the admin role here and
again in `identity`.
"""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from apps.contracts.account_security import (
    CLIENT_IP_HEADER,
    CLIENT_USER_AGENT_HEADER,
    MfaChallenge,
)
from apps.contracts.errors import ErrorResponse
from apps.contracts.identity import (
    AddressIn,
    AdminUserCreate,
    AuditEntry,
    Dashboard,
    ExternalLogin,
    GuestSession,
    LoginRequest,
    PasswordChange,
    PaymentMethodIn,
    Preferences,
    ProfileUpdate,
    RefreshRequest,
    Rewards,
    Role,
    RoleChange,
    SavedAddress,
    SavedPaymentMethod,
    SignupRequest,
    TokenPair,
    UserPage,
    UserProfile,
    WishlistAdd,
    WishlistItem,
)
from apps.contracts.names import AppId
from apps.platform.params import Limit, Page
from apps.storefront.adapters import forward
from apps.storefront.auth import Admin, Customer
from apps.storefront.cart_api import session_of, set_session
from apps.storefront.gateway import client_ip
from apps.storefront.openapi import AUTH_REFUSED, ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


def _to(request: Request, path: str, method: str = "GET", body: Any = None, **kw: Any) -> Any:
    return forward(request, AppId.IDENTITY, path, method=method, body=body, **kw)


async def auth_limits(
    request: Request, email: str | None = None, account: str | None = None
) -> None:
    """Stricter limits on sign-in, sign-up and every other credential check (codes, links):
    per address, and per account, named by its email or by its id (guessing one account's
    password or codes from many addresses is slowed too)."""
    settings = request.app.state.settings
    if not settings.rate_limit_enabled:
        return
    limiter = request.app.state.limiter
    ip = client_ip(request, settings.trust_forwarded)
    await limiter.hit(f"auth-ip:{ip}", settings.rate_limit_auth_ip_per_minute, "sign-in attempts")
    per_account = f"auth-email:{email.strip().lower()}" if email is not None else None
    if account is not None:
        per_account = f"auth-account:{account}"
    if per_account is not None:
        await limiter.hit(
            per_account, settings.rate_limit_auth_email_per_minute, "attempts for this account"
        )


def client_headers(request: Request) -> dict[str, str]:
    """Where the client is, for identity's new-device check (the user agent and address
    the gateway saw, never a client's own headers of those names)."""
    ip = client_ip(request, request.app.state.settings.trust_forwarded)
    return {
        CLIENT_USER_AGENT_HEADER: _printable(request.headers.get("user-agent", ""))[:300],
        CLIENT_IP_HEADER: _printable(ip)[:64],
    }


def _printable(value: str) -> str:
    """Printable ASCII only: a header value is sent as ASCII, and a client may send any
    byte (a non-ASCII user agent must not turn a sign-in into a server error)."""
    return "".join(c if " " <= c <= "~" else "?" for c in value)


# -- sign-in -----------------------------------------------------------------------------------
@router.post("/auth/signup", status_code=201, response_model=UserProfile, tags=["auth"])
async def signup(body: SignupRequest, request: Request) -> Response:
    """Create an account (email normalised and unique: 409 if taken; password: 10+
    characters with a letter and a digit, not common, not your email)."""
    await auth_limits(request, str(body.email))
    body_json = body.model_dump(mode="json")
    return await _to(
        request, "auth/signup", "POST", body_json, extra_headers=client_headers(request)
    )


@router.post(
    "/auth/login",
    response_model=TokenPair | MfaChallenge,
    tags=["auth"],
    responses=AUTH_REFUSED,
)
async def login(body: LoginRequest, request: Request) -> Response:
    """An RS256 access token (15 min) and a refresh token (rotating; 30 days). For an
    account with two-factor sign-in on, the answer is instead `{"mfa_required": true,
    "mfa_token", "expires_in"}`: send the token with a code to `/api/auth/login/2fa`.
    A sign-in from a device the account has not used before is emailed to its owner."""
    await auth_limits(request, str(body.email))
    return await _to(
        request,
        "auth/login",
        "POST",
        body.model_dump(mode="json"),
        extra_headers=client_headers(request),
    )


@router.post(
    "/auth/entra",
    response_model=TokenPair,
    tags=["auth"],
    responses={
        **AUTH_REFUSED,
        501: {"model": ErrorResponse, "description": "Entra ID sign-in is not configured"},
    },
)
async def login_entra(body: ExternalLogin, request: Request) -> Response:
    """Exchange a Microsoft Entra ID token (issuer, audience and JWKS from configuration;
    app roles mapped to ours) for ours; the profile is created on first sign-in."""
    await auth_limits(request)
    return await _to(
        request, "auth/entra", "POST", body.model_dump(), extra_headers=client_headers(request)
    )


@router.post("/auth/refresh", response_model=TokenPair, tags=["auth"], responses=AUTH_REFUSED)
async def refresh(body: RefreshRequest, request: Request) -> Response:
    """A new token pair; the refresh token sent is spent. Sending a spent one again revokes
    every session of that sign-in."""
    await auth_limits(request)
    return await _to(request, "auth/refresh", "POST", body.model_dump())


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(body: RefreshRequest, request: Request) -> Response:
    """End the sign-in the refresh token belongs to (its access tokens expire on their own)."""
    return await _to(request, "auth/logout", "POST", body.model_dump())


@router.post("/auth/guest", status_code=201, response_model=GuestSession, tags=["auth"])
async def guest(request: Request) -> Response:
    """A guest session (cookie `sc_session` and header `X-Session-Id`): the key of a guest's
    cart; checkout as a guest needs only an email. An existing session is kept."""
    session = session_of(request) or secrets.token_urlsafe(24)
    days = request.app.state.settings.guest_session_days
    response = JSONResponse(
        GuestSession(session_id=session, expires_in=days * 86400).model_dump(), status_code=201
    )
    set_session(request, response, session)
    return response


@router.get("/auth/jwks", tags=["auth"])
async def jwks(request: Request) -> Response:
    """The public keys access tokens are signed with (the current one and the previous)."""
    return await _to(request, ".well-known/jwks.json")


@router.get("/auth/me", response_model=UserProfile, tags=["auth"])
async def auth_me(request: Request, who: Customer) -> Response:
    """The signed-in user (401 without a valid token)."""
    return await _to(request, "users/me")


# -- the signed-in user -------------------------------------------------------------------------
@router.get("/users/me", response_model=UserProfile, tags=["users"])
async def me(request: Request, who: Customer) -> Response:
    return await _to(request, "users/me")


@router.put("/users/me", response_model=UserProfile, tags=["users"])
async def update_me(body: ProfileUpdate, request: Request, who: Customer) -> Response:
    return await _to(request, "users/me", "PUT", body.model_dump(mode="json", exclude_unset=True))


@router.delete("/users/me", status_code=204, tags=["users"])
async def delete_me(request: Request, who: Customer) -> Response:
    """Close the account: personal data erased, every session revoked (orders are kept)."""
    return await _to(request, "users/me", "DELETE")


@router.put("/users/me/password", status_code=204, tags=["users"])
async def change_password(body: PasswordChange, request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/password", "PUT", body.model_dump())


@router.get("/users/me/dashboard", response_model=Dashboard, tags=["users"])
async def dashboard(request: Request, who: Customer) -> Response:
    """Profile, order count and recent orders, rewards, wishlist and address counts."""
    return await _to(request, "users/me/dashboard")


@router.get("/users/me/rewards", response_model=Rewards, tags=["users"])
async def rewards(request: Request, who: Customer) -> Response:
    """Points earned from paid orders (1 per 1.00) and the tier by lifetime spend."""
    return await _to(request, "users/me/rewards")


@router.get("/users/me/preferences", response_model=Preferences, tags=["users"])
async def preferences(request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/preferences")


@router.put("/users/me/preferences", response_model=Preferences, tags=["users"])
async def set_preferences(body: Preferences, request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/preferences", "PUT", body.model_dump())


@router.get("/users/me/addresses", response_model=list[SavedAddress], tags=["users"])
async def addresses(request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/addresses")


@router.post("/users/me/addresses", status_code=201, response_model=SavedAddress, tags=["users"])
async def add_address(body: AddressIn, request: Request, who: Customer) -> Response:
    """The first address of a type becomes its default."""
    return await _to(request, "users/me/addresses", "POST", body.model_dump())


@router.put("/users/me/addresses/{address_id}", response_model=SavedAddress, tags=["users"])
async def replace_address(
    address_id: Id, body: AddressIn, request: Request, who: Customer
) -> Response:
    return await _to(request, f"users/me/addresses/{address_id}", "PUT", body.model_dump())


@router.delete("/users/me/addresses/{address_id}", status_code=204, tags=["users"])
async def remove_address(address_id: Id, request: Request, who: Customer) -> Response:
    return await _to(request, f"users/me/addresses/{address_id}", "DELETE")


@router.put("/users/me/addresses/{address_id}/default", response_model=SavedAddress, tags=["users"])
async def default_address(address_id: Id, request: Request, who: Customer) -> Response:
    return await _to(request, f"users/me/addresses/{address_id}/default", "PUT")


@router.get("/users/me/payment-methods", response_model=list[SavedPaymentMethod], tags=["users"])
async def payment_methods(request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/payment-methods")


@router.post(
    "/users/me/payment-methods",
    status_code=201,
    response_model=SavedPaymentMethod,
    tags=["users"],
)
async def add_payment_method(body: PaymentMethodIn, request: Request, who: Customer) -> Response:
    """Stripe payment method ids only: anything that looks like a card number is refused."""
    return await _to(request, "users/me/payment-methods", "POST", body.model_dump())


@router.delete("/users/me/payment-methods/{method_id}", status_code=204, tags=["users"])
async def remove_payment_method(method_id: Id, request: Request, who: Customer) -> Response:
    return await _to(request, f"users/me/payment-methods/{method_id}", "DELETE")


@router.get("/users/me/wishlist", response_model=list[WishlistItem], tags=["users"])
async def wishlist(request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/wishlist")


@router.post(
    "/users/me/wishlist", status_code=201, response_model=list[WishlistItem], tags=["users"]
)
async def wishlist_add(body: WishlistAdd, request: Request, who: Customer) -> Response:
    return await _to(request, "users/me/wishlist", "POST", body.model_dump())


@router.delete("/users/me/wishlist/{product_id}", response_model=list[WishlistItem], tags=["users"])
async def wishlist_remove(product_id: Id, request: Request, who: Customer) -> Response:
    return await _to(request, f"users/me/wishlist/{product_id}", "DELETE")


# -- admin --------------------------------------------------------------------------------------
@router.get("/admin/users", response_model=UserPage, tags=["admin"])
async def list_users(
    request: Request,
    who: Admin,
    role: Annotated[Role | None, Query()] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    params: dict[str, Any] = {"page": page, "limit": limit}
    if role is not None:
        params["role"] = role.value
    return await _to(request, "admin/users", params=params)


@router.post("/admin/users", status_code=201, response_model=UserProfile, tags=["admin"])
async def create_user(body: AdminUserCreate, request: Request, who: Admin) -> Response:
    return await _to(request, "admin/users", "POST", body.model_dump(mode="json"))


@router.put("/admin/users/{user_id}/role", response_model=UserProfile, tags=["admin"])
async def set_role(user_id: Id, body: RoleChange, request: Request, who: Admin) -> Response:
    return await _to(request, f"admin/users/{user_id}/role", "PUT", body.model_dump())


@router.delete("/admin/users/{user_id}", status_code=204, tags=["admin"])
async def delete_user(user_id: Id, request: Request, who: Admin) -> Response:
    return await _to(request, f"admin/users/{user_id}", "DELETE")


@router.get("/admin/audit", response_model=list[AuditEntry], tags=["admin"])
async def audit_log(
    request: Request, who: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Response:
    """Every admin action, newest first."""
    return await _to(request, "admin/audit", params={"limit": limit})


@router.post("/admin/keys/rotate", tags=["admin"])
async def rotate_keys(request: Request, who: Admin) -> Response:
    """Start signing with a new key now (the previous one stays in the JWKS)."""
    return await _to(request, "admin/keys/rotate", "POST")
