"""Signing keys (pure): RS256 key pairs kept in the identity store, rotated on a schedule,
the newest signing, the last few published as the JWKS so tokens signed before a rotation
stay valid until they expire."""

import hashlib
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, Field


class SigningKey(BaseModel):
    kid: str
    private_pem: str
    created_at: datetime


class KeyRing(BaseModel):
    """`signing-keys` in the identity store; newest last."""

    kind: Literal["signing-keys"] = "signing-keys"
    keys: list[SigningKey] = Field(default_factory=list)

    @property
    def current(self) -> SigningKey:
        """The newest key (published; it signs once `signing` says so)."""
        return self.keys[-1]

    def signing(self, now: datetime, activation: timedelta) -> SigningKey:
        """The key that signs now: the newest one published at least `activation` ago (so
        every gateway can have fetched it), else the one before; a lone key signs at once."""
        ready = [k for k in self.keys if now - k.created_at >= activation]
        return ready[-1] if ready else self.keys[0]


def new_key(now: datetime) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(
        kid=hashlib.sha256(public_der).hexdigest()[:16], private_pem=pem, created_at=now
    )


def rotated(
    ring: KeyRing | None, now: datetime, every: timedelta, keep: int, force: bool = False
) -> KeyRing | None:
    """The ring with a new current key when none exists, the current one is older than
    `every`, or `force`; None when no rotation is due."""
    if ring is not None and ring.keys and not force and now - ring.current.created_at < every:
        return None
    keys = [*(ring.keys if ring else []), new_key(now)]
    return KeyRing(keys=keys[-keep:])


def jwks(ring: KeyRing) -> dict[str, Any]:
    out = []
    for key in ring.keys:
        private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)  # type: ignore[arg-type]
        out.append({**jwk, "kid": key.kid, "use": "sig", "alg": "RS256"})
    return {"keys": out}


def sign(
    ring: KeyRing, claims: dict[str, Any], now: datetime, activation: timedelta = timedelta(0)
) -> str:
    key = ring.signing(now, activation)
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
