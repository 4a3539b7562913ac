"""Dapr and Entra ID behind the identity service's ports."""

import asyncio
from typing import Any

import jwt

from apps.contracts.errors import DomainError, ErrorCode, Unauthorized
from apps.contracts.identity import Principal, Role
from apps.contracts.names import AppId
from apps.platform.context import CONTEXT_HEADER, sign_context
from apps.platform.dapr import Sidecar


class SidecarOrders:
    """The customer's orders for the dashboard (orders' projection, through Dapr), asked
    with a signed context for that customer (orders shows a user's orders only so)."""

    def __init__(self, sidecar: Sidecar, context_key: str) -> None:
        self.sidecar = sidecar
        self.context_key = context_key

    async def recent(self, user_id: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
        who = Principal(user_id=user_id, role=Role.CUSTOMER)
        res = await self.sidecar.invoke(
            AppId.ORDERS,
            "orders",
            params={"user_id": user_id, "limit": limit, "page": 1},
            headers={CONTEXT_HEADER: sign_context(who, self.context_key)},
        )
        page = res.body_or_raise()
        return int(page["total"]), list(page["items"])

    async def order(self, user_id: str, order_id: str) -> dict[str, Any] | None:
        """The order as its owner sees it (the orders app, not an event), or None if it is
        not this user's order or does not exist."""
        who = Principal(user_id=user_id, role=Role.CUSTOMER)
        res = await self.sidecar.invoke(
            AppId.ORDERS,
            f"orders/{order_id}",
            params={"user_id": user_id},
            headers={CONTEXT_HEADER: sign_context(who, self.context_key)},
        )
        if res.status == 404:
            return None
        return dict(res.body_or_raise())


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
