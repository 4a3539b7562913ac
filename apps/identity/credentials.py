"""Account credentials beyond the password, pure (like `domain.py`): single-use expiring
tokens (email verification, password reset, the second step of a sign-in), TOTP codes with
their drift and replay rules, recovery codes, and the devices an account signed in from.

What is kept: a SHA-256 of every token and recovery code (they are 256-bit and 80-bit
random values, out of reach of a dictionary or brute force, so a slow hash buys nothing),
never the value; the TOTP secret itself, which both sides need to compute a code.

A token names its account: `{user_id}.{random}` (the link in an email carries it, as
Django's reset links carry the user id). One read of the account then finds the token's
hash, and a token is consumed in the same compare-and-set that applies what it allows, so
it works once even when two requests race.
"""

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Literal

import pyotp
from pydantic import BaseModel, Field

TokenPurpose = Literal["verify_email", "reset_password", "mfa"]
TokenVerdict = Literal["ok", "invalid", "expired", "exhausted"]

#: Random bytes in a token after the account id (256 bits).
TOKEN_BYTES = 32
USER_ID = re.compile(r"^u-[0-9a-f]{16}$")
TOKEN_SECRET = re.compile(r"^[A-Za-z0-9_-]{40,64}$")

#: RFC 6238 defaults: 6 digits every 30 s. One step either side is accepted (a phone's
#: clock a little off, a code typed as it changes).
TOTP_DIGITS = 6
TOTP_INTERVAL = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
#: 16 base32 characters (80 bits), shown as four groups of four.
RECOVERY_CODE_CHARS = 16
#: Wrong codes a sign-in's second step takes before the password must be given again.
MFA_ATTEMPTS = 5
#: Devices (user agents) remembered per account; the oldest is forgotten first.
DEVICES_KEPT = 20


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class OneTimeToken(BaseModel):
    """The hash of an outstanding token of one purpose (an account holds one per purpose:
    a new one replaces the one before)."""

    purpose: TokenPurpose
    token_hash: str
    expires_at: datetime
    attempts: int = 0


def issue_token(
    user_id: str, purpose: TokenPurpose, now: datetime, ttl: timedelta
) -> tuple[str, OneTimeToken]:
    """A new token (to send, never to keep) and what the account keeps of it."""
    token = f"{user_id}.{secrets.token_urlsafe(TOKEN_BYTES)}"
    return token, OneTimeToken(purpose=purpose, token_hash=sha256(token), expires_at=now + ttl)


def token_owner(token: str) -> str | None:
    """The account a token names (None: not shaped like one of ours)."""
    user_id, dot, secret = token.partition(".")
    if not dot or not USER_ID.match(user_id) or not TOKEN_SECRET.match(secret):
        return None
    return user_id


def judge_token(
    stored: OneTimeToken | None,
    token: str,
    purpose: TokenPurpose,
    now: datetime,
    max_attempts: int | None = None,
) -> TokenVerdict:
    """Whether `token` is the account's outstanding token of `purpose`, unexpired (a used
    token is no longer stored, so it is `invalid`)."""
    if stored is None or stored.purpose != purpose:
        return "invalid"
    if not hmac.compare_digest(stored.token_hash, sha256(token)):
        return "invalid"
    if stored.expires_at <= now:
        return "expired"
    if max_attempts is not None and stored.attempts >= max_attempts:
        return "exhausted"
    return "ok"


# -- TOTP ----------------------------------------------------------------------------------
class TwoFactor(BaseModel):
    """TOTP two-factor state of an account. `pending_secret` is set by enabling and becomes
    `secret` once a code from it is verified; `last_step` is the newest time step a code
    was accepted for (no code of that step or an older one is accepted again)."""

    secret: str | None = None
    pending_secret: str | None = None
    enabled_at: datetime | None = None
    last_step: int = 0
    recovery_hashes: list[str] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.secret is not None


def new_totp_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads (usually from a QR code)."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    return totp.provisioning_uri(name=account, issuer_name=issuer)


def totp_step(secret: str, code: str, now: datetime, last_step: int) -> int | None:
    """The time step `code` is the code of: the current one or one either side, newer than
    `last_step` (None: wrong, too old or too new, or a replay of a used step)."""
    if not re.fullmatch(rf"\d{{{TOTP_DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    current = totp.timecode(now)
    matched = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # every candidate compared, in constant time: no hint from which one matched
        if hmac.compare_digest(totp.generate_otp(step), code) and step > last_step:
            matched = step
    return matched


def accept_second_factor(
    two: TwoFactor, now: datetime, code: str | None = None, recovery_code: str | None = None
) -> TwoFactor | None:
    """The two-factor state once a proof is used (the code's step recorded, or the recovery
    code spent); None: not accepted (two-factor off, wrong, replayed or used code)."""
    if two.secret is None:
        return None
    if code is not None:
        step = totp_step(two.secret, code, now, two.last_step)
        return None if step is None else two.model_copy(update={"last_step": step})
    if recovery_code is not None:
        rest = use_recovery_code(two.recovery_hashes, recovery_code)
        return None if rest is None else two.model_copy(update={"recovery_hashes": rest})
    return None


# -- recovery codes ------------------------------------------------------------------------
def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """`count` codes like `k3fq-2mzt-ap7x-c4de` (shown once; only hashes are kept)."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:RECOVERY_CODE_CHARS]
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_CHARS, 4)))
    return codes


def recovery_hash(code: str) -> str:
    """Case, spaces and dashes do not matter when a code is typed back."""
    return sha256(re.sub(r"[\s-]", "", code).lower())


def use_recovery_code(hashes: list[str], code: str) -> list[str] | None:
    """The hashes left once `code` is used (None: not one of the unused codes)."""
    wanted = recovery_hash(code)
    if not any(hmac.compare_digest(h, wanted) for h in hashes):
        return None
    return [h for h in hashes if h != wanted]


# -- devices ---------------------------------------------------------------------------------
def device_id(user_agent: str) -> str:
    return sha256(" ".join(user_agent.split()).lower())[:32]


def remember_device(devices: list[str], user_agent: str) -> tuple[list[str], bool]:
    """The devices with this one most recent, and whether to tell the owner about it: a
    device not seen before, on an account that had signed in from some device already (the
    first one is where the account was made)."""
    known = device_id(user_agent)
    is_new = bool(devices) and known not in devices
    return [*(d for d in devices if d != known), known][-DEVICES_KEPT:], is_new


class Device(BaseModel):
    """Where a sign-in comes from, as the gateway saw it (bounded there and here)."""

    user_agent: str = Field(default="", max_length=300)
    ip: str = Field(default="", max_length=64)
