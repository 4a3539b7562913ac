"""The standard error format for every error the gateway can produce, framework ones
included. (HTTP edge only: no sidecar is called by these requests.)"""

from fastapi.testclient import TestClient

from apps.storefront.main import app

KEYS = {"code", "message", "details", "timestamp", "request_id"}


def test_unknown_route_405_and_validation_errors_use_the_standard_format() -> None:
    with TestClient(app) as client:
        r404 = client.get("/api/nowhere", headers={"X-Request-ID": "req-abc"})
        assert r404.status_code == 404
        assert set(r404.json()["error"]) == KEYS
        assert r404.json()["error"]["request_id"] == "req-abc"
        assert r404.headers["X-Request-ID"] == "req-abc"

        r405 = client.put("/api/orders")
        assert r405.status_code == 405
        assert r405.json()["error"]["code"] == "METHOD_NOT_ALLOWED"

        malformed = client.post(
            "/api/orders", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "INVALID_REQUEST"

        invalid = client.post("/api/orders", json={"email": "not-an-email", "items": []})
        assert invalid.status_code == 400
        locs = [e["loc"] for e in invalid.json()["error"]["details"]["errors"]]
        assert ["body", "email"] in locs and ["body", "items"] in locs


def test_liveness_needs_no_sidecar() -> None:
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "ok"}


def test_store_keys_are_dapr_safe_and_never_collide() -> None:
    from apps.platform.state import store_key

    keys = ["a||b", "a%7C%7Cb", "a%b", "a%25b", "a|b", "plain", "||", "%", "|"]
    stored = [store_key(k) for k in keys]
    assert len(set(stored)) == len(keys)
    assert all("||" not in s for s in stored)
    assert store_key("email:john+shop@example.com") == "email:john+shop@example.com"


def test_no_log_field_is_longer_than_the_cap() -> None:
    from apps.platform.logging import MAX_FIELD_CHARS, cap_values

    event = {"event": "x" * 70_000, "n": 5, "obj": ["y"] * 50_000, "short": "ok"}
    capped = cap_values(None, "info", event)
    assert len(capped["event"]) < MAX_FIELD_CHARS + 30
    assert capped["event"].endswith("[70000 chars]")
    assert len(capped["obj"]) < MAX_FIELD_CHARS + 30
    assert capped["n"] == 5 and capped["short"] == "ok"
