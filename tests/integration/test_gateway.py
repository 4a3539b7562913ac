"""The storefront as the only door: brute force slowed by limits every replica shares,
413 for oversized bodies, the standard error format on a dozen bad requests, security
headers and CORS."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import factories
from tests.cluster import STOREFRONT_LIMITS
from tests.harness import Cluster

PASSWORD = "SecurePassword123!"


@pytest.fixture(scope="module")
def second_storefront(cluster: Cluster) -> Iterator[str]:
    """A second storefront replica (its own sidecar), as the ingress scales out to."""
    cluster.start_app("storefront-2", app_id="storefront", env=dict(cluster.apps["storefront"].env))
    try:
        yield cluster.apps["storefront-2"].url
    finally:
        cluster.stop_app("storefront-2")


def test_brute_force_is_429_across_replicas(cluster: Cluster, second_storefront: str) -> None:
    email = factories.email()
    limit = int(STOREFRONT_LIMITS["STOREFRONT_RATE_LIMIT_AUTH_EMAIL_PER_MINUTE"])
    with (
        httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as one,
        httpx.Client(base_url=second_storefront, timeout=15) as two,
    ):
        signup = one.post(
            "/api/auth/signup", json={"email": email, "name": "Target", "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        answers = []
        for attempt in range(limit + 3):  # alternate replicas: the count is shared
            api = (one, two)[attempt % 2]
            answers.append(
                api.post("/api/auth/login", json={"email": email, "password": f"Guess-{attempt}9x"})
            )
        codes = [r.status_code for r in answers]
        # sign-up counted once; then wrong passwords until the shared limit, then 429s
        assert codes[: limit - 1] == [401] * (limit - 1), codes
        assert set(codes[limit - 1 :]) == {429}, codes
        refused = answers[-1]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        # the right password does not get through while the account is limited
        right = two.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert right.status_code == 429
        other = one.post(
            "/api/auth/signup", json={"email": factories.email(), "name": "B", "password": PASSWORD}
        )
        assert other.status_code == 201  # other accounts are not affected


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", "/api/nope", {}, 404, "RESOURCE_NOT_FOUND"),
    ("PUT", "/api/orders", {"json": {}}, 405, "METHOD_NOT_ALLOWED"),
    (
        "POST",
        "/api/orders",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        400,
        "INVALID_REQUEST",
    ),
    ("POST", "/api/orders", {"json": {"email": "not-an-email"}}, 400, "INVALID_REQUEST"),
    ("POST", "/api/auth/login", {"json": {"email": "a@example.com"}}, 400, "INVALID_REQUEST"),
    (
        "POST",
        "/api/auth/signup",
        {"json": {"email": "a@example.com", "name": "A", "password": "Password123"}},
        422,
        "UNPROCESSABLE_ENTITY",
    ),
    ("GET", "/api/users/me", {}, 401, "UNAUTHORIZED"),
    (
        "GET",
        "/api/users/me",
        {"headers": {"Authorization": "Bearer nonsense"}},
        401,
        "UNAUTHORIZED",
    ),
    ("GET", "/api/admin/users", {"headers": {"Authorization": "Basic YTpi"}}, 401, "UNAUTHORIZED"),
    ("GET", "/api/products", {"params": {"limit": "0"}}, 400, "INVALID_REQUEST"),
    ("GET", "/api/products/p-does-not-exist", {}, 404, "RESOURCE_NOT_FOUND"),
    ("POST", "/api/payments/webhook", {"content": b"{}"}, 400, "INVALID_REQUEST"),
    (
        "POST",
        "/api/orders",
        {"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}},
        413,
        "PAYLOAD_TOO_LARGE",
    ),
]


@pytest.mark.parametrize(("method", "path", "kw", "status", "code"), BAD_REQUESTS)
def test_every_error_has_the_standard_format(
    cluster: Cluster, method: str, path: str, kw: dict[str, Any], status: int, code: str
) -> None:
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as api:
        r = api.request(method, path, **kw)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert set(error) >= {"code", "message", "details", "timestamp", "request_id"}
    assert error["message"]


def test_a_streamed_oversized_body_is_413(cluster: Cluster) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as api:
        r = api.post("/api/orders", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_security_headers_and_cors(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as api:
        r = api.get("/api/categories")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "max-age" in r.headers["strict-transport-security"]
        assert "content-security-policy" not in api.get("/docs").headers  # Swagger UI loads
        assert api.get("/api/users/me").headers["cache-control"] == "no-store"
        preflight = {
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key",
        }
        ok = api.options("/api/orders", headers=preflight)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        evil = api.options("/api/orders", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        assert "/api/auth/login" in api.get("/openapi.json").json()["paths"]


def test_hostile_ids_and_headers_never_break_the_gateway(cluster: Cluster) -> None:
    """A 16 KB request id (a 64 KB one is over the header limit: 431), non-ASCII ids and
    trace headers: answered, never echoed or passed on as they are, and the gateway keeps
    answering."""
    with cluster.client("storefront") as api:
        too_long = api.get("/api/users/me", headers={"X-Request-ID": "x" * 65_536})
        assert too_long.status_code == 431
        assert too_long.json()["error"]["request_id"].startswith("req-")
        long_id = api.get("/api/users/me", headers={"X-Request-ID": "x" * 16_384})
        assert long_id.status_code == 401
        made = long_id.headers["X-Request-ID"]
        assert made.startswith("req-") and long_id.json()["error"]["request_id"] == made
        for name, value in [
            ("X-Request-ID", b"r\xff"),
            ("X-Correlation-ID", b"c\xe9"),
            ("traceparent", b"00-\xe9"),
            ("tracestate", b"a=\xe9"),
        ]:
            r = api.get("/api/products", headers=[(name.encode(), value)])
            assert r.status_code == 200, (name, r.text)
        good = api.get("/api/products/nope-1", headers={"X-Request-ID": "client:req-1"})
        assert good.headers["X-Request-ID"] == "client:req-1"  # a well-formed id is kept
        assert api.get("/health/live").status_code == 200


def test_405_lists_every_method_of_the_resource(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        r = api.request("PATCH", "/api/users/me")
        assert r.status_code == 405
        assert r.headers["Allow"] == "DELETE, GET, PUT"
        promo = api.request("GET", "/api/checkout/promo")  # not /api/checkout/{order_id}
        assert promo.status_code in (400, 404, 405)
        assert api.request("DELETE", "/api/checkout/promo").headers["Allow"] == "POST"


def test_nul_and_overlong_urls_are_refused_cleanly(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        r = api.post(
            "/api/addresses/validate",
            content=b'{"name": "a\\u0000b"}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400 and "NUL" in r.json()["error"]["message"]
        assert api.get("/api/products", params={"category": "a\x00"}).status_code == 400
        long = api.get("/api/products", params={"filters": "{" + " " * 40_000 + "}"})
        assert long.status_code == 414 and long.json()["error"]["code"] == "URI_TOO_LONG"


def test_text_is_measured_as_sent_and_its_schema_says_so(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        too_long = api.post("/api/addresses/validate", json={"name": "  " + "a" * 299})
        assert too_long.status_code == 400  # documented maxLength 300, as sent
        blank = api.post(
            "/api/auth/signup",
            json={"email": factories.email(), "name": "   ", "password": PASSWORD},
        )
        assert blank.status_code == 400
        schema = api.get("/openapi.json").json()
        name = schema["components"]["schemas"]["SignupRequest"]["properties"]["name"]
        assert name["minLength"] == 1 and "pattern" in name  # non-blank, as the server reads it
        me = schema["paths"]["/api/users/me/preferences"]["put"]["responses"]
        assert {"401", "429"} <= set(me) and "403" not in me
        staff = schema["paths"]["/api/staff/products"]["post"]["responses"]
        assert {"401", "403", "413"} <= set(staff)


def test_an_app_that_is_away_is_a_503_in_the_standard_format(cluster: Cluster) -> None:
    cluster.stop_app("identity")
    try:
        with cluster.client("storefront") as api:
            r = api.post("/api/auth/login", json={"email": "a@example.com", "password": "x"})
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert set(error) == {"code", "message", "details", "timestamp", "request_id"}
        assert error["code"] == "SERVICE_UNAVAILABLE" and error["timestamp"]
        assert "rpc" not in r.text.lower() and "ERR_" not in r.text  # daprd's text stays inside
    finally:
        cluster.start_app("identity")
