"""The gateway's token verifier keeps each signing key by `kid` for a short while, so a
signed-in call does not hop to a worker thread for a key it already has; unknown kids are
never kept and a kept key is looked up again once its time is up."""

import asyncio
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.contracts.errors import Unauthorized
from apps.storefront.auth import TokenVerifier

ISSUER, AUDIENCE = "https://id.example", "smartcommerce"


def _token(private: Any, kid: str) -> str:
    now = int(time.time())
    claims = {"sub": "u-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def _verifier(lookups: list[str], keys: dict[str, jwt.PyJWK]) -> TokenVerifier:
    verifier = TokenVerifier([], ISSUER, AUDIENCE)

    def signing_key(token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token)["kid"]
        lookups.append(kid)
        if kid not in keys:
            raise jwt.PyJWKClientError(f"no key {kid}")
        return keys[kid]

    verifier._signing_key = signing_key  # type: ignore[method-assign]
    return verifier


def test_a_known_key_is_looked_up_once_and_again_after_its_time() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK.from_dict(
        {**jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1"}
    )
    lookups: list[str] = []
    verifier = _verifier(lookups, {"k1": public})
    for _ in range(3):
        assert asyncio.run(verifier.claims(_token(private, "k1")))["sub"] == "u-1"
    assert lookups == ["k1"]
    verifier.KEY_SECONDS = 0.0
    verifier._keys.clear()
    asyncio.run(verifier.claims(_token(private, "k1")))
    asyncio.run(verifier.claims(_token(private, "k1")))
    assert lookups == ["k1", "k1", "k1"]


def test_an_unknown_kid_is_refused_every_time_and_never_kept() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    lookups: list[str] = []
    verifier = _verifier(lookups, {})
    for _ in range(2):
        with pytest.raises(Unauthorized):
            asyncio.run(verifier.claims(_token(private, "made-up")))
    assert lookups == ["made-up", "made-up"] and verifier._keys == {}


def test_a_kept_key_still_checks_the_signature() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK.from_dict(
        {**jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1"}
    )
    verifier = _verifier([], {"k1": public})
    asyncio.run(verifier.claims(_token(private, "k1")))
    with pytest.raises(Unauthorized):
        asyncio.run(verifier.claims(_token(other, "k1")))  # signed by another key, same kid
