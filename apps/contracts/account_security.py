"""Account recovery and two-factor sign-in (identity app): email verification, password
reset, TOTP enrolment, recovery codes and the second step of a sign-in. Request bodies are
strict (unknown fields refused); tokens and codes are bounded before anything reads them."""

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apps.contracts.email import Email
from apps.contracts.identity import NewPassword, Password
from apps.contracts.schema import StrippedInput

#: A token from an email link or a sign-in's first step: `{user_id}.{random}`.
Token = Annotated[str, Field(min_length=20, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
#: Six digits from an authenticator app.
TotpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["492039"])]
#: A recovery code as shown (`k3fq-2mzt-ap7x-c4de`); case, spaces and dashes do not matter.
RecoveryCode = Annotated[
    str,
    Field(
        min_length=16, max_length=40, pattern=r"^[A-Za-z2-7 -]+$", examples=["k3fq-2mzt-ap7x-c4de"]
    ),
]


SecondFactor = Literal["totp", "recovery_code"]
SECOND_FACTORS: tuple[SecondFactor, ...] = ("totp", "recovery_code")


class Accepted(BaseModel):
    """A 202: the request is taken; what follows arrives by email."""

    status: Literal["accepted"] = "accepted"
    message: str


class EmailVerification(BaseModel):
    """`POST /api/auth/verify-email`: the token from the verification email."""

    model_config = ConfigDict(extra="forbid")

    token: Token


class ForgotPassword(StrippedInput):
    """`POST /api/auth/forgot-password`: where to send a reset link (answered the same
    whether or not an account has this email)."""

    email: Email


class PasswordReset(BaseModel):
    """`POST /api/auth/reset-password`: the token from the reset email and the new password
    (the sign-up rules apply)."""

    model_config = ConfigDict(extra="forbid")

    token: Token
    new_password: NewPassword


class TwoFactorSetup(BaseModel):
    """`POST /api/users/me/2fa/enable`: the secret to add to an authenticator app (the URI
    is what a QR code would hold). Two-factor is not on until a code from it is verified."""

    secret: str
    otpauth_uri: str
    digits: int = 6
    period_seconds: int = 30


class TwoFactorCode(BaseModel):
    """`POST /api/users/me/2fa/verify`: a code from the authenticator app."""

    model_config = ConfigDict(extra="forbid")

    code: TotpCode


class RecoveryCodes(BaseModel):
    """Single-use codes for signing in without the authenticator app: shown once, only
    their hashes are kept."""

    enabled: bool = True
    recovery_codes: list[str]


def _exactly_one_of(*fields: str) -> dict[str, Any]:
    """The JSON Schema of "exactly one of these fields" (what `_exactly_one` checks)."""
    return {"oneOf": [{"required": [f], "properties": {f: {"type": "string"}}} for f in fields]}


class _OneProof(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_exactly_one_of("code", "recovery_code")
    )

    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None

    def _proofs(self) -> list[object]:
        return [v for v in (self.code, self.recovery_code) if v is not None]

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if len(self._proofs()) != 1:
            raise ValueError(f"Send exactly one of: {', '.join(self._names())}")
        return self

    def _names(self) -> list[str]:
        return ["code", "recovery_code"]


class TwoFactorDisable(_OneProof):
    """`POST /api/users/me/2fa/disable`: exactly one of a current code, a recovery code or
    the account's password."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_exactly_one_of("code", "recovery_code", "password")
    )

    password: Password | None = None

    def _proofs(self) -> list[object]:
        return [*super()._proofs(), *([self.password] if self.password is not None else [])]

    def _names(self) -> list[str]:
        return ["code", "recovery_code", "password"]


class MfaChallenge(BaseModel):
    """What `POST /api/auth/login` answers for an account with two-factor on: the password
    was right; send `mfa_token` with a code to `POST /api/auth/login/2fa` within
    `expires_in` seconds (a few wrong codes spend it)."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int
    methods: list[SecondFactor] = Field(default_factory=lambda: list(SECOND_FACTORS))


class MfaLogin(_OneProof):
    """`POST /api/auth/login/2fa`: the challenge's token and exactly one of a code or a
    recovery code."""

    mfa_token: Token


#: Where a sign-in comes from, as the gateway saw it: set by the storefront on the calls it
#: makes to identity (a client's own headers of these names are never passed on).
CLIENT_USER_AGENT_HEADER = "X-SC-Client-User-Agent"
CLIENT_IP_HEADER = "X-SC-Client-IP"
