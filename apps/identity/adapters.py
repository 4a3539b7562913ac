"""Dapr and Entra ID behind the identity service's ports."""

import asyncio
from typing import Any

import jwt

from apps.contracts.errors import DomainError, ErrorCode, Unauthorized
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar


class SidecarOrders:
    """The customer's orders for the dashboard (orders' projection, through Dapr)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def recent(self, user_id: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
        res = await self.sidecar.invoke(
            AppId.ORDERS, "orders", params={"user_id": user_id, "limit": limit, "page": 1}
        )
        page = res.body_or_raise()
        return int(page["total"]), list(page["items"])


class EntraTokens:
    """Microsoft Entra ID tokens: RS256 only, signed by a key of the tenant's JWKS, with the
    configured issuer and audience, not expired."""

    def __init__(self, issuer: str, audience: str, jwks_url: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            if jwt.get_unverified_header(token).get("alg") != "RS256":
                raise Unauthorized("Token algorithm not accepted")
            key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise DomainError(
                "Microsoft Entra ID cannot be reached", code=ErrorCode.SERVICE_UNAVAILABLE
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid Entra ID token", reason=exc.__class__.__name__) from exc
        return claims
