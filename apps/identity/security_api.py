"""Routes of account recovery and two-factor sign-in on identity (reached through Dapr;
the storefront maps them to `/api/auth/*` and `/api/users/me/2fa/*`)."""

from fastapi import APIRouter, BackgroundTasks, Response

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
from apps.contracts.identity import TokenPair, UserProfile
from apps.identity.api import Client, Customer, Service

router = APIRouter()

FORGOT_ANSWER = "If an account uses this email, a link to reset its password is on its way"


@router.post("/auth/login/2fa", response_model=TokenPair, tags=["auth"])
async def login_second_step(body: MfaLogin, service: Service, client: Client) -> TokenPair:
    return await service.login_second_step(body, client)


@router.post("/auth/verify-email", response_model=UserProfile, tags=["auth"])
async def verify_email(body: EmailVerification, service: Service) -> UserProfile:
    return await service.verify_email(body.token)


@router.post("/auth/resend-verification", status_code=202, response_model=Accepted, tags=["auth"])
async def resend_verification(who: Customer, service: Service) -> Accepted:
    return await service.resend_verification(who)


@router.post("/auth/forgot-password", status_code=202, response_model=Accepted, tags=["auth"])
async def forgot_password(
    body: ForgotPassword, service: Service, background: BackgroundTasks
) -> Accepted:
    """Answered before the account is even looked up (the same answer, in the same time,
    for every email); the link is sent after."""
    background.add_task(service.forgot_password, str(body.email))
    return Accepted(message=FORGOT_ANSWER)


@router.post("/auth/reset-password", status_code=204, tags=["auth"])
async def reset_password(body: PasswordReset, service: Service) -> Response:
    await service.reset_password(body.token, body.new_password)
    return Response(status_code=204)


@router.post("/users/me/2fa/enable", response_model=TwoFactorSetup, tags=["users"])
async def enable_2fa(who: Customer, service: Service) -> TwoFactorSetup:
    return await service.enable_2fa(who)


@router.post("/users/me/2fa/verify", response_model=RecoveryCodes, tags=["users"])
async def verify_2fa(body: TwoFactorCode, who: Customer, service: Service) -> RecoveryCodes:
    return await service.verify_2fa(who, body.code)


@router.post("/users/me/2fa/disable", status_code=204, tags=["users"])
async def disable_2fa(body: TwoFactorDisable, who: Customer, service: Service) -> Response:
    await service.disable_2fa(who, body)
    return Response(status_code=204)
