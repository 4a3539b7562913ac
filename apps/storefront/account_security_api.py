"""`/api/auth/*` of account recovery and two-factor sign-in, and `/api/users/me/2fa/*`,
served by `identity`.

Every route checks a credential (a link's token, a code, a password), so every one counts
against the sign-in limits: per address, and per account (the account a token names, or
the signed-in user), like `/api/auth/login`.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from apps.contracts.account_security import (
    Accepted,
    EmailVerification,
    ForgotPassword,
    MfaLogin,
    PasswordReset,
    RecoveryCodes,
    TwoFactorCode,
    TwoFactorDisable,
    TwoFactorSetup,
)
from apps.contracts.identity import Principal, TokenPair, UserProfile
from apps.contracts.names import AppId
from apps.storefront.adapters import forward
from apps.storefront.auth import Customer
from apps.storefront.identity_api import auth_limits, client_headers
from apps.storefront.openapi import AUTH_REFUSED, ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)


def _owner(token: str) -> str:
    """The account a token names (its part before the dot), for the per-account limit."""
    return token.partition(".")[0][:64]


def _user(who: Principal) -> str:
    return str(who.user_id)


# -- email verification ----------------------------------------------------------------------
@router.post("/auth/verify-email", response_model=UserProfile, tags=["auth"])
async def verify_email(body: EmailVerification, request: Request) -> Response:
    """Verify the account's email with the token from the verification email (sent at
    sign-up; valid 48 hours; works once). An unknown, used or expired token is a 422."""
    await auth_limits(request, account=_owner(body.token))
    return await forward(
        request, AppId.IDENTITY, "auth/verify-email", method="POST", body=body.model_dump()
    )


@router.post("/auth/resend-verification", status_code=202, response_model=Accepted, tags=["auth"])
async def resend_verification(request: Request, who: Customer) -> Response:
    """Send a new verification link to the signed-in user (the previous one stops working;
    409 if the email is verified already)."""
    await auth_limits(request, account=_user(who))
    return await forward(request, AppId.IDENTITY, "auth/resend-verification", method="POST")


# -- password reset --------------------------------------------------------------------------
@router.post("/auth/forgot-password", status_code=202, response_model=Accepted, tags=["auth"])
async def forgot_password(body: ForgotPassword, request: Request) -> Response:
    """Email a password reset link (valid 30 minutes). The answer is the same whether or
    not an account uses this email."""
    await auth_limits(request, str(body.email))
    return await forward(
        request,
        AppId.IDENTITY,
        "auth/forgot-password",
        method="POST",
        body=body.model_dump(mode="json"),
    )


@router.post("/auth/reset-password", status_code=204, tags=["auth"])
async def reset_password(body: PasswordReset, request: Request) -> Response:
    """Set a new password with the token from the reset email (the sign-up password rules
    apply, 422 otherwise). The token works once; every session of the account ends. An
    unknown, used or expired token is a 422 and changes nothing."""
    await auth_limits(request, account=_owner(body.token))
    return await forward(
        request, AppId.IDENTITY, "auth/reset-password", method="POST", body=body.model_dump()
    )


# -- two-factor sign-in ----------------------------------------------------------------------
@router.post("/auth/login/2fa", response_model=TokenPair, tags=["auth"], responses=AUTH_REFUSED)
async def login_second_step(body: MfaLogin, request: Request) -> Response:
    """The second step of a sign-in with two-factor on: the `mfa_token` the login answered
    (valid 5 minutes, 5 tries) with a current authenticator `code` or one unused
    `recovery_code`. A code is accepted once, one step (30 s) early or late."""
    await auth_limits(request, account=_owner(body.mfa_token))
    return await forward(
        request,
        AppId.IDENTITY,
        "auth/login/2fa",
        method="POST",
        body=body.model_dump(),
        extra_headers=client_headers(request),
    )


@router.post("/users/me/2fa/enable", response_model=TwoFactorSetup, tags=["users"])
async def enable_2fa(request: Request, who: Customer) -> Response:
    """A TOTP secret and its `otpauth://` URI for an authenticator app. Two-factor sign-in
    is on only once a code from it is verified (`/api/users/me/2fa/verify`)."""
    await auth_limits(request, account=_user(who))
    return await forward(request, AppId.IDENTITY, "users/me/2fa/enable", method="POST")


@router.post(
    "/users/me/2fa/verify", response_model=RecoveryCodes, tags=["users"], responses=AUTH_REFUSED
)
async def verify_2fa(body: TwoFactorCode, request: Request, who: Customer) -> Response:
    """Turn two-factor sign-in on with a current code; answers 10 single-use recovery codes,
    shown this once."""
    await auth_limits(request, account=_user(who))
    return await forward(
        request, AppId.IDENTITY, "users/me/2fa/verify", method="POST", body=body.model_dump()
    )


@router.post("/users/me/2fa/disable", status_code=204, tags=["users"], responses=AUTH_REFUSED)
async def disable_2fa(body: TwoFactorDisable, request: Request, who: Customer) -> Response:
    """Turn two-factor sign-in off with exactly one of: a current `code`, a `recovery_code`
    or the account's `password`."""
    await auth_limits(request, account=_user(who))
    return await forward(
        request,
        AppId.IDENTITY,
        "users/me/2fa/disable",
        method="POST",
        body=body.model_dump(exclude_none=True),
    )
