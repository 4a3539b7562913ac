"""Account recovery and two-factor sign-in on real sidecars: email verification and
password reset with the tokens the identity app published on `user-events` (read from the
Redis stream behind the topic, as the notifications app would receive them), TOTP
enrolment and the two-step sign-in with pyotp codes and recovery codes, new-device
sign-ins, and the account events (`UserCreated`, `UserUpdated`, `UserDeleted`)."""

import json
import time
from typing import Any

import httpx
import pyotp

from tests import factories
from tests.cluster import IDENTITY_RESET_TTL_SECONDS
from tests.harness import Cluster, eventually

PASSWORD = "SecurePassword123!"
NEW_PASSWORD = "Another-pass-42x"


def user_events(cluster: Cluster, event_type: str, **data: Any) -> list[dict[str, Any]]:
    """The envelopes of `event_type` on `user-events` whose data has the fields `data`."""
    found = []
    for line in cluster.stream("user-events").splitlines():
        if not line.startswith("{"):
            continue
        cloud = json.loads(line)
        envelope = cloud.get("data")
        if isinstance(envelope, str):
            envelope = json.loads(envelope)
        if not isinstance(envelope, dict) or envelope.get("event_type") != event_type:
            continue
        if all(envelope["data"].get(k) == v for k, v in data.items()):
            found.append(envelope)
    return found


def one_event(cluster: Cluster, event_type: str, **data: Any) -> dict[str, Any]:
    found = eventually(lambda: user_events(cluster, event_type, **data), timeout=20)
    return dict(found[-1])


def signup(api: httpx.Client, **headers: str) -> tuple[str, str]:
    email = factories.email()
    r = api.post(
        "/api/auth/signup",
        json={"email": email, "name": "Grace Hopper", "password": PASSWORD},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return email, str(r.json()["user_id"])


def login(api: httpx.Client, email: str, password: str = PASSWORD, **headers: str) -> Any:
    r = api.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_sign_up_is_announced_and_the_email_is_verified_once(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        created = one_event(cluster, "UserCreated", user_id=user_id)
        assert created["data"]["email"] == email and created["data"]["email_verified"] is False
        assert created["event_id"] == f"{user_id}:1" and created["source"] == "identity"
        asked = one_event(cluster, "EmailVerificationRequested", user_id=user_id)
        token = asked["data"]["token"]
        assert token.startswith(f"{user_id}.")
        auth = bearer(login(api, email))
        assert api.get("/api/users/me", headers=auth).json()["email_verified"] is False
        # what identity keeps is a hash, never the token
        kept = cluster.sql(
            f"SELECT value::text FROM dapr_identity_state WHERE key LIKE '%user:{user_id}'"
        )
        assert user_id in kept and token not in kept

        r = api.post("/api/auth/verify-email", json={"token": token})
        assert r.status_code == 200 and r.json()["email_verified"] is True, r.text
        again = api.post("/api/auth/verify-email", json={"token": token})
        assert again.status_code == 422
        assert again.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
        updated = one_event(cluster, "UserUpdated", user_id=user_id)
        assert updated["data"]["changed"] == ["email_verified"]
        assert api.post("/api/auth/resend-verification", headers=auth).status_code == 409
        assert api.post("/api/auth/resend-verification").status_code == 401


def test_a_new_verification_link_replaces_the_old_one(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        first = one_event(cluster, "EmailVerificationRequested", user_id=user_id)["data"]["token"]
        r = api.post("/api/auth/resend-verification", headers=bearer(login(api, email)))
        assert r.status_code == 202, r.text
        second = eventually(
            lambda: [
                e
                for e in user_events(cluster, "EmailVerificationRequested", user_id=user_id)
                if e["data"]["token"] != first
            ]
        )[0]["data"]["token"]
        assert api.post("/api/auth/verify-email", json={"token": first}).status_code == 422
        assert api.post("/api/auth/verify-email", json={"token": second}).status_code == 200
        bad = {"token": "not a token!"}
        assert api.post("/api/auth/verify-email", json=bad).status_code == 400


def test_a_password_reset_works_once_and_ends_every_session(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        pair = login(api, email)
        r = api.post("/api/auth/forgot-password", json={"email": email.upper()})
        assert r.status_code == 202, r.text
        token = one_event(cluster, "PasswordResetRequested", user_id=user_id)["data"]["token"]

        weak = api.post(
            "/api/auth/reset-password", json={"token": token, "new_password": "password1234"}
        )
        assert weak.status_code == 422  # refused, and the token is not spent by it
        r = api.post(
            "/api/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert r.status_code == 204, r.text

        refreshed = api.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401
        assert eventually(lambda: api.get("/api/users/me", headers=bearer(pair)).status_code == 401)
        old = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert old.status_code == 401
        fresh = login(api, email, NEW_PASSWORD)
        assert fresh["user"]["email_verified"] is True  # the link was read in the inbox

        third = "Third-pass-77zq"
        reused = api.post("/api/auth/reset-password", json={"token": token, "new_password": third})
        assert reused.status_code == 422
        assert reused.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
        assert (
            api.post("/api/auth/login", json={"email": email, "password": third}).status_code == 401
        )
        assert api.get("/api/users/me", headers=bearer(fresh)).status_code == 200
        changed = one_event(cluster, "UserUpdated", user_id=user_id)["data"]["changed"]
        assert changed == ["password", "email_verified"]


def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        nobody = factories.email()
        unknown = api.post("/api/auth/forgot-password", json={"email": nobody})
        known = api.post("/api/auth/forgot-password", json={"email": email})
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()
        one_event(cluster, "PasswordResetRequested", user_id=user_id)
        time.sleep(1)
        assert user_events(cluster, "PasswordResetRequested", email=nobody) == []
        assert nobody not in cluster.stream("user-events")


def test_an_expired_reset_token_is_refused_and_changes_nothing(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        assert api.post("/api/auth/forgot-password", json={"email": email}).status_code == 202
        event = one_event(cluster, "PasswordResetRequested", user_id=user_id)
        time.sleep(IDENTITY_RESET_TTL_SECONDS + 1)
        r = api.post(
            "/api/auth/reset-password",
            json={"token": event["data"]["token"], "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["reason"] == "expired"
        login(api, email)  # the password is unchanged
        wrong = api.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
        assert wrong.status_code == 401


def test_two_factor_sign_in_with_codes_and_recovery_codes(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        auth = bearer(login(api, email))
        setup = api.post("/api/users/me/2fa/enable", headers=auth)
        assert setup.status_code == 200, setup.text
        totp = pyotp.parse_uri(setup.json()["otpauth_uri"])
        assert isinstance(totp, pyotp.TOTP) and totp.secret == setup.json()["secret"]
        assert "access_token" in login(api, email)  # not on until a code is verified

        wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
        refused = api.post("/api/users/me/2fa/verify", json={"code": wrong}, headers=auth)
        assert refused.status_code == 422
        code = totp.now()
        on = api.post("/api/users/me/2fa/verify", json={"code": code}, headers=auth)
        assert on.status_code == 200, on.text
        recovery = on.json()["recovery_codes"]
        assert len(recovery) == 10
        assert api.get("/api/users/me", headers=auth).json()["two_factor_enabled"] is True
        announced = one_event(cluster, "UserUpdated", user_id=user_id)["data"]["changed"]
        assert announced == ["two_factor_enabled"]

        challenge = login(api, email)
        assert challenge["mfa_required"] is True and "access_token" not in challenge
        step = {"mfa_token": challenge["mfa_token"]}
        replay = api.post("/api/auth/login/2fa", json={**step, "code": code})
        assert replay.status_code == 401  # the code that turned it on is spent
        later = totp.at(time.time() + 30)  # the next step's code: within the drift allowed
        pair = api.post("/api/auth/login/2fa", json={**step, "code": later})
        assert pair.status_code == 200, pair.text
        assert api.get("/api/users/me", headers=bearer(pair.json())).status_code == 200
        spent = api.post("/api/auth/login/2fa", json={**step, "code": later})
        assert spent.status_code == 401

        step = {"mfa_token": login(api, email)["mfa_token"]}
        r = api.post("/api/auth/login/2fa", json={**step, "recovery_code": recovery[0].upper()})
        assert r.status_code == 200, r.text
        step = {"mfa_token": login(api, email)["mfa_token"]}
        again = api.post("/api/auth/login/2fa", json={**step, "recovery_code": recovery[0]})
        assert again.status_code == 401

        off = api.post(
            "/api/users/me/2fa/disable", json={"password": PASSWORD}, headers=bearer(r.json())
        )
        assert off.status_code == 204, off.text
        assert "access_token" in login(api, email)


def test_a_sign_in_from_a_new_device_is_announced_once(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api, **{"User-Agent": "Laptop/1.0"})
        login(api, email, **{"User-Agent": "Laptop/1.0"})
        login(api, email, **{"User-Agent": "Phone/2.0"})
        seen = one_event(cluster, "NewDeviceSignIn", user_id=user_id)
        assert seen["data"]["user_agent"] == "Phone/2.0" and seen["data"]["ip"]
        login(api, email, **{"User-Agent": "Phone/2.0"})
        time.sleep(1)
        assert len(user_events(cluster, "NewDeviceSignIn", user_id=user_id)) == 1
        # any byte a client sends as its user agent is a sign-in, not a server error
        r = api.post(
            "/api/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"User-Agent": b"Caf\xe9/3.0"},
        )
        assert r.status_code == 200, r.text
        assert eventually(
            lambda: user_events(cluster, "NewDeviceSignIn", user_id=user_id, user_agent="Caf?/3.0")
        )


def test_closing_an_account_is_announced_with_the_email_it_had(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        auth = bearer(login(api, email))
        assert api.put("/api/users/me", json={"name": "G. Hopper"}, headers=auth).status_code == 200
        assert one_event(cluster, "UserUpdated", user_id=user_id)["data"]["changed"] == ["name"]
        assert api.delete("/api/users/me", headers=auth).status_code == 204
        deleted = one_event(cluster, "UserDeleted", user_id=user_id)
        assert deleted["data"]["email"] == email
        # its 4th event (UserCreated, the verification link, the rename, this)
        assert deleted["event_id"] == f"{user_id}:4"


def test_events_a_crash_left_in_the_outbox_are_swept_out(cluster: Cluster) -> None:
    """What a crash between the account's write and its publish leaves (an event in the
    document's outbox, `outbox_state: pending`) goes out by the sweep, and the outbox is
    cleared."""
    with cluster.client("storefront") as api:
        email, user_id = signup(api)
        one_event(cluster, "UserCreated", user_id=user_id)  # the write's own relay is done
    key = f"user:{user_id}"
    with cluster.sidecar("identity") as dapr:
        doc = dapr.get(f"/v1.0/state/identitystore/{key}").json()
        assert doc["outbox"] == [] and doc["outbox_state"] == "clear"
        left = {
            "event_id": f"{user_id}:left-by-a-crash",
            "event_type": "UserUpdated",
            "event_version": 1,
            "occurred_at": "2026-01-01T00:00:00Z",
            "correlation_id": "sweep-test",
            "source": "identity",
            "data": {
                "user_id": user_id,
                "email": email,
                "name": "Grace Hopper",
                "language": "en",
                "at": "2026-01-01T00:00:00Z",
                "changed": ["name"],
            },
        }
        pending = {**doc, "outbox": [{"topic": "user-events", "event": left}]}
        r = dapr.post(
            "/v1.0/state/identitystore",
            json=[{"key": key, "value": {**pending, "outbox_state": "pending"}}],
        )
        assert r.status_code == 204, r.text
        swept = one_event(cluster, "UserUpdated", user_id=user_id)
        assert swept["event_id"] == left["event_id"]
        cleared = eventually(
            lambda: dapr.get(f"/v1.0/state/identitystore/{key}").json()["outbox_state"] == "clear"
        )
        assert cleared
