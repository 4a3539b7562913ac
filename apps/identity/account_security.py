"""Account recovery and two-factor sign-in, the use cases (rules in `credentials.py`):
email verification, password reset, TOTP enrolment and its recovery codes, and the second
step of a sign-in. A mixin of `IdentityService`: it works on the same account document
through the same compare-and-set (`_change`), so a token is consumed in the very write that
applies what it allows, and the email it causes leaves through the account's outbox.

Refusals say only what the caller may know: a reset or verification token that is unknown,
used or expired is one 422 that changes nothing (the request was well-formed: the
refusal is a business one, as everywhere in the API); `forgot_password` finishes in the
background after the same 202 for every email.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from apps.contracts.account_security import (
    Accepted,
    MfaChallenge,
    MfaLogin,
    RecoveryCodes,
    TwoFactorDisable,
    TwoFactorSetup,
)
from apps.contracts.errors import (
    Conflict,
    NotFound,
    Unauthorized,
    UnprocessableError,
)
from apps.contracts.identity import Principal, TokenPair, UserProfile
from apps.contracts.user_events import PasswordResetRequested
from apps.identity import credentials, domain
from apps.identity.credentials import Device, TwoFactor
from apps.identity.domain import UserRecord
from apps.platform.logging import current_correlation_id

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from apps.identity.settings import IdentitySettings

log = structlog.stdlib.get_logger("identity.security")

__all__ = ["AccountSecurity", "MfaChallenge"]

LINK_REFUSED = {
    "invalid": "This link is not valid or was used already; ask for a new one",
    "expired": "This link has expired; ask for a new one",
}
SIGN_IN_AGAIN = "This sign-in step has expired or was used; sign in with your password again"


def _now() -> datetime:
    return datetime.now(UTC)


def _refused(verdict: str) -> UnprocessableError:
    return UnprocessableError(LINK_REFUSED.get(verdict, LINK_REFUSED["invalid"]), reason=verdict)


class AccountSecurity:
    # What the mixin uses of IdentityService.
    settings: "IdentitySettings"
    hasher: "PasswordHasher"
    _change: Callable[..., Any]
    _update: Callable[..., Any]
    _user: Callable[..., Any]
    _by_email: Callable[..., Any]
    _session: Callable[..., Any]
    _verify: Callable[[str, str], bool]
    _verification_requested: Callable[[UserRecord, datetime], UserRecord]
    password_set: Callable[..., UserRecord]
    revoke_family: Callable[..., Any]
    audit: Callable[..., Any]
    me: Callable[..., Any]
    _id: Callable[[Principal], str]

    # -- email verification ---------------------------------------------------------------
    async def verify_email(self, token: str) -> UserProfile:
        """Mark the email verified; the token is spent by the same write."""
        owner = credentials.token_owner(token)
        if owner is None:
            raise _refused("invalid")
        now = _now()

        def verified(user: UserRecord) -> UserRecord:
            stored = user.tokens.get("verify_email")
            verdict = credentials.judge_token(stored, token, "verify_email", now)
            if verdict != "ok":
                raise _refused(verdict)
            rest = {k: v for k, v in user.tokens.items() if k != "verify_email"}
            return user.model_copy(update={"tokens": rest}).touch(now, email_verified=True)

        try:
            user: UserRecord = await self._update(owner, verified)
        except NotFound as exc:
            raise _refused("invalid") from exc
        return user.profile

    async def resend_verification(self, caller: Principal) -> Accepted:
        """A new link (the previous one stops working)."""
        user: UserRecord = await self.me(caller)
        if user.profile.email_verified:
            raise Conflict("This email address is verified already")
        await self._change(user.profile.user_id, self._resend)
        return Accepted(message="A new verification link is on its way")

    def _resend(self, user: UserRecord) -> UserRecord | None:
        return None if user.profile.email_verified else self._verification_requested(user, _now())

    # -- password reset ------------------------------------------------------------------
    async def forgot_password(self, email: str) -> None:
        """Send a reset link to an active password account (nothing for an unknown email,
        a closed account or one that signs in with Entra ID). Runs after the answer."""
        user: UserRecord | None = await self._by_email(email)
        if user is None or user.status != "active" or user.password_hash is None:
            log.info("password reset asked for no password account")
            return
        ttl = timedelta(seconds=self.settings.password_reset_ttl_seconds)

        def asked(u: UserRecord) -> UserRecord | None:
            if u.password_hash is None:
                return None
            now = _now()
            token, kept = credentials.issue_token(u.profile.user_id, "reset_password", now, ttl)
            u = u.model_copy(update={"tokens": {**u.tokens, "reset_password": kept}})
            event = PasswordResetRequested(
                **domain.event_fields(u, now), token=token, expires_at=kept.expires_at
            )
            return domain.record_event(u, event, now, current_correlation_id())

        await self._change(user.profile.user_id, asked)

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set the password the token allows, once: the token is spent in the same write,
        every sign-in of the account ends, and the email counts as verified (the link was
        read in its inbox). A bad password is refused (422) without spending the token."""
        owner = credentials.token_owner(token)
        if owner is None:
            raise _refused("invalid")
        try:
            user: UserRecord = await self._user(owner)
        except NotFound as exc:
            raise _refused("invalid") from exc
        stored = user.tokens.get("reset_password")
        verdict = credentials.judge_token(stored, token, "reset_password", _now())
        if verdict != "ok" or user.status != "active":
            raise _refused(verdict if verdict != "ok" else "invalid")
        problem = domain.password_problem(new_password, user.profile.email, user.profile.name)
        if problem:
            raise UnprocessableError(problem, field="new_password")
        hashed = await asyncio.to_thread(self.hasher.hash, new_password)

        def reset(u: UserRecord) -> UserRecord:
            now = _now()
            again = credentials.judge_token(
                u.tokens.get("reset_password"), token, "reset_password", now
            )
            if again != "ok":  # spent by a concurrent reset
                raise _refused(again)
            changed = ["password"] if u.profile.email_verified else ["password", "email_verified"]
            u = u.model_copy(update={"tokens": {}}).touch(now, email_verified=True)
            return self.password_set(u, hashed, now, changed)  # its links and challenges end

        try:
            user = await self._change(owner, reset)
        except NotFound as exc:
            raise _refused("invalid") from exc
        for family in user.families:
            await self.revoke_family(family, "password reset")
        await self.audit(Principal(user_id=owner), "auth.password_reset", owner, {})

    # -- two-factor: enrolment -------------------------------------------------------------
    async def enable_2fa(self, caller: Principal) -> TwoFactorSetup:
        """A new TOTP secret, pending until a code from it is verified (enabling again
        before that replaces it)."""
        user: UserRecord = await self.me(caller)
        if user.password_hash is None:
            raise UnprocessableError(
                "This account signs in with Microsoft Entra ID; its multi-factor rules apply"
            )
        secret = credentials.new_totp_secret()

        def pending(u: UserRecord) -> UserRecord:
            if u.two_factor.active:
                raise Conflict("Two-factor sign-in is on already; disable it first")
            two = u.two_factor.model_copy(update={"pending_secret": secret})
            return u.model_copy(update={"two_factor": two}).touch(_now())

        await self._change(user.profile.user_id, pending)
        uri = credentials.provisioning_uri(secret, user.profile.email, self.settings.totp_issuer)
        return TwoFactorSetup(secret=secret, otpauth_uri=uri)

    async def verify_2fa(self, caller: Principal, code: str) -> RecoveryCodes:
        """Turn two-factor on with a code from the pending secret; the recovery codes are
        answered now and never again (only their hashes are kept)."""
        codes = credentials.new_recovery_codes()
        now = _now()

        def activated(u: UserRecord) -> UserRecord:
            two = u.two_factor
            if two.active:
                raise Conflict("Two-factor sign-in is on already")
            if two.pending_secret is None:
                raise Conflict("Start with POST /api/users/me/2fa/enable")
            step = credentials.totp_step(two.pending_secret, code, now, 0)
            if step is None:
                raise UnprocessableError(
                    "Wrong code: enter the current code of your authenticator app", field="code"
                )
            on = TwoFactor(
                secret=two.pending_secret,
                enabled_at=now,
                last_step=step,
                recovery_hashes=[credentials.recovery_hash(c) for c in codes],
            )
            return u.model_copy(update={"two_factor": on}).touch(now, two_factor_enabled=True)

        await self._update(self._id(caller), activated)
        return RecoveryCodes(recovery_codes=codes)

    async def disable_2fa(self, caller: Principal, proof: TwoFactorDisable) -> None:
        """Off with a current code, a recovery code or the password."""
        user: UserRecord = await self.me(caller)
        if not user.two_factor.active:
            raise Conflict("Two-factor sign-in is not on")
        if proof.password is not None:
            ok = await asyncio.to_thread(self._verify, user.password_hash or "", proof.password)
            if not ok:
                raise Unauthorized("Wrong password")
        now = _now()

        def off(u: UserRecord) -> UserRecord:
            two = u.two_factor
            if proof.password is None:
                used = credentials.accept_second_factor(two, now, proof.code, proof.recovery_code)
                if used is None:
                    raise Unauthorized("Wrong or used code")
            tokens = {k: v for k, v in u.tokens.items() if k != "mfa"}
            cleared = TwoFactor(last_step=two.last_step)  # no code of a used step again
            return u.model_copy(update={"two_factor": cleared, "tokens": tokens}).touch(
                now, two_factor_enabled=False
            )

        await self._update(user.profile.user_id, off)

    # -- two-factor: sign-in ---------------------------------------------------------------
    async def mfa_challenge(self, user_id: str) -> MfaChallenge:
        """The password was right: a short-lived token for the second step (replacing an
        earlier one)."""
        ttl = self.settings.mfa_challenge_seconds
        token, kept = credentials.issue_token(user_id, "mfa", _now(), timedelta(seconds=ttl))
        await self._change(
            user_id, lambda u: u.model_copy(update={"tokens": {**u.tokens, "mfa": kept}})
        )
        return MfaChallenge(mfa_token=token, expires_in=ttl)

    async def login_second_step(self, body: MfaLogin, device: Device | None) -> TokenPair:
        """Tokens for a challenge and a code (or a recovery code). A wrong code counts
        against the challenge (`MFA_ATTEMPTS`, then the password is asked again); a right
        one spends it and records the code's step, so neither works twice."""
        owner = credentials.token_owner(body.mfa_token)
        if owner is None:
            raise Unauthorized(SIGN_IN_AGAIN)
        now = _now()
        outcome: dict[str, Any] = {}

        def step(u: UserRecord) -> UserRecord:
            stored = u.tokens.get("mfa")
            verdict = credentials.judge_token(
                stored, body.mfa_token, "mfa", now, credentials.MFA_ATTEMPTS
            )
            if verdict != "ok" or stored is None:
                raise Unauthorized(SIGN_IN_AGAIN, reason=verdict)
            used = credentials.accept_second_factor(
                u.two_factor, now, body.code, body.recovery_code
            )
            outcome["accepted"] = used is not None
            if used is None:
                counted = stored.model_copy(update={"attempts": stored.attempts + 1})
                outcome["left"] = credentials.MFA_ATTEMPTS - counted.attempts
                return u.model_copy(update={"tokens": {**u.tokens, "mfa": counted}})
            rest = {k: v for k, v in u.tokens.items() if k != "mfa"}
            return u.model_copy(update={"tokens": rest, "two_factor": used})

        try:
            user: UserRecord = await self._change(owner, step)
        except NotFound as exc:
            raise Unauthorized(SIGN_IN_AGAIN) from exc
        if not outcome.get("accepted"):
            raise Unauthorized("Wrong or used code", attempts_left=outcome.get("left", 0))
        if body.recovery_code is not None:
            left = len(user.two_factor.recovery_hashes)
            await self.audit(
                Principal(user_id=owner), "auth.recovery_code_used", owner, {"left": left}
            )
        pair: TokenPair = await self._session(owner, device=device)
        return pair
