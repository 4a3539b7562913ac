"""Bearer tokens at the gateway: RS256 JWTs checked against the issuer's JWKS.

The identity app issues the tokens and publishes the JWKS (locally through Dapr; in Azure
Microsoft Entra ID works the same way with its own issuer, audience and JWKS URL).
Anything but a valid token with the configured issuer and audience is a 401: a tampered
signature, an expired token, another issuer or audience, `alg: none` or HS256.
"""

import asyncio
import time
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request

from apps.contracts.errors import DomainError, ErrorCode, Forbidden, Unauthorized
from apps.contracts.identity import ANONYMOUS, Principal, Role, TokenStatus, TokenStatusRequest
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar

log = structlog.stdlib.get_logger("storefront.auth")

ALGORITHMS = ["RS256"]


class TokenVerifier:
    def __init__(
        self,
        jwks_sources: list[tuple[str, dict[str, str]]],
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
    ) -> None:
        """`jwks_sources`: each JWKS URL with the headers its fetch sends (the sidecar's
        API token for the identity app's keys reached through the sidecar)."""
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        # Keys are cached; an unknown `kid` (a rotated key) triggers one refetch per JWKS.
        self.clients = [
            # A short refetch cooldown: a rotated-in key is found within seconds.
            jwt.PyJWKClient(
                url,
                cache_keys=True,
                lifespan=300,
                timeout=5,
                cooldown_duration=5,
                headers=headers,
            )
            for url, headers in jwks_sources
        ]
        #: kid -> (until, key): a known key is used without the JWKS clients' thread hop
        #: (they may fetch, so each lookup runs in a worker thread: ~10% of the gateway's
        #: CPU on signed-in calls). Kept `KEY_SECONDS`, well within the clients' own 300 s.
        self._keys: dict[str, tuple[float, jwt.PyJWK]] = {}

    KEY_SECONDS = 60.0

    async def _key(self, token: str, kid: Any) -> jwt.PyJWK:
        now = time.monotonic()
        known = self._keys.get(kid) if isinstance(kid, str) else None
        if known is not None and known[0] > now:
            return known[1]
        key = await asyncio.to_thread(self._signing_key, token)
        if isinstance(kid, str):
            if len(self._keys) > 64:  # kids are few; a flood of made-up ones never lands here
                self._keys.clear()
            self._keys[kid] = (now + self.KEY_SECONDS, key)
        return key

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """The key of the token's `kid` from the first JWKS that has it."""
        last: jwt.PyJWTError | None = None
        for client in self.clients:
            try:
                return client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError:
                raise
            except jwt.PyJWTError as exc:
                last = exc
        raise last or jwt.PyJWKClientError("no JWKS configured")

    async def verify(self, token: str) -> Principal:
        return principal_from(await self.claims(token))

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and times check out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized("Token algorithm not accepted", alg=str(header.get("alg")))
        try:
            key = await self._key(token, header.get("kid"))
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("JWKS unreachable", error=str(exc))
            raise DomainError(
                "Sign-in cannot be checked right now", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Unknown signing key") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token", reason=exc.__class__.__name__) from exc
        return claims


class SessionCheck:
    """Whether a verified access token still speaks for its user: the identity app knows if
    the sign-in (`sid`) ended (sign-out, password change, deletion) or the user's role is no
    longer the token's. Answers are kept `ttl` seconds per token, so a revoked token stops
    working within that time instead of at its expiry (15 min), for the cost of one call
    per session and `ttl`. Tokens without `sid` are not identity's sign-ins (the tests'
    own key set) and are not asked about."""

    MAX_ENTRIES = 20_000

    def __init__(self, sidecar: Sidecar, ttl: float) -> None:
        self.sidecar = sidecar
        self.ttl = ttl
        self._answers: dict[tuple[str, str, str], tuple[float, TokenStatus]] = {}

    async def ensure_current(self, claims: dict[str, Any]) -> None:
        if not isinstance(claims.get("sid"), str):
            return
        question = TokenStatusRequest(
            user_id=str(claims["sub"]), sid=claims["sid"], role=str(claims.get("role", ""))
        )
        key = (question.user_id, question.sid, question.role)
        now = time.monotonic()
        kept = self._answers.get(key)
        if kept is None or kept[0] <= now:
            reply = await self.sidecar.invoke(
                AppId.IDENTITY, "auth/token-status", method="POST", json_body=question.model_dump()
            )
            if not reply.ok:
                raise DomainError(
                    "Sign-in cannot be checked right now", code=ErrorCode.SERVICE_UNAVAILABLE
                )
            if len(self._answers) >= self.MAX_ENTRIES:
                self._answers.clear()
            kept = (now + self.ttl, TokenStatus.model_validate(reply.body))
            self._answers[key] = kept
        if not kept[1].valid:
            raise Unauthorized("This sign-in has ended; sign in again", reason=kept[1].reason)


def principal_from(claims: dict[str, Any]) -> Principal:
    """`sub` is the user id; `role` one of ours (unknown roles count as customer)."""
    raw_role = claims.get("role", Role.CUSTOMER)
    try:
        role = Role(raw_role)
    except ValueError:
        role = Role.CUSTOMER
    if role == Role.ANONYMOUS:
        role = Role.CUSTOMER
    return Principal(user_id=str(claims["sub"]), role=role, email=claims.get("email"))


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'")
    verifier: TokenVerifier = request.app.state.verifier
    claims = await verifier.claims(token.strip())
    await request.app.state.sessions.ensure_current(claims)
    principal = principal_from(claims)
    request.state.principal = principal
    settings = request.app.state.settings
    if settings.rate_limit_enabled and principal.user_id:
        request.app.state.limiter.hit_batched(
            f"user:{principal.user_id}", settings.rate_limit_user_per_minute, "requests"
        )
    return principal


async def signed_in(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.signed_in:
        raise Unauthorized("Sign in to use this")
    return principal


def at_least(role: Role) -> Any:
    async def check(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if not principal.role.at_least(role):
            raise Forbidden(f"This needs the {role} role", required=role.value)
        return principal

    return Depends(check)


Caller = Annotated[Principal, Depends(current_principal)]
Customer = Annotated[Principal, Depends(signed_in)]
Staff = Annotated[Principal, at_least(Role.STAFF)]
Admin = Annotated[Principal, at_least(Role.ADMIN)]
