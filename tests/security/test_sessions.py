"""Issue 12 #7: an access token stops working soon after its sign-in ends (sign-out),
its user's role changes or the account is deleted, not at its expiry 15 minutes later."""

import json
from pathlib import Path

import httpx

from tests import factories
from tests.harness import Cluster, eventually

PASSWORD = "Sessions-pass-2026"
ROOT = Path(__file__).resolve().parents[2]


def _account(api: httpx.Client, email: str | None = None) -> dict[str, str]:
    email = email or factories.email()
    body = {"email": email, "name": "Session Test", "password": PASSWORD}
    assert api.post("/api/auth/signup", json=body).status_code == 201
    r = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"email": email, **r.json()}


def _bearer(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _refused(api: httpx.Client, path: str, pair: dict[str, str]) -> None:
    def check() -> bool:
        r = api.get(path, headers=_bearer(pair))
        assert r.status_code == 401, r.status_code
        assert r.json()["error"]["code"] == "UNAUTHORIZED"
        return True

    eventually(check, timeout=15, interval=0.5)


def test_sign_out_ends_the_access_token(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        pair = _account(api)
        other = api.post(
            "/api/auth/login", json={"email": pair["email"], "password": PASSWORD}
        ).json()
        assert api.get("/api/users/me", headers=_bearer(pair)).status_code == 200
        out = api.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]})
        assert out.status_code == 204
        _refused(api, "/api/users/me", pair)
        # the user's other sign-in is untouched
        assert api.get("/api/users/me", headers=_bearer(other)).status_code == 200


def test_demotion_and_deletion_end_access_tokens(cluster: Cluster) -> None:
    secrets = json.loads((ROOT / "components" / "local" / "secrets.identity.json").read_text())
    admin = cluster.identity_token(
        "admin@smartcommerce.example", secrets["identity-admin-password"]
    )
    as_admin = {"Authorization": f"Bearer {admin}"}
    with cluster.client("storefront") as api:
        email = factories.email()
        created = api.post(
            "/api/admin/users",
            json={"email": email, "name": "Staff", "password": PASSWORD, "role": "staff"},
            headers=as_admin,
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["user_id"]
        staff = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
        assert api.get("/api/staff/orders", headers=_bearer(staff)).status_code == 200

        demoted = api.put(
            f"/api/admin/users/{user_id}/role", json={"role": "customer"}, headers=as_admin
        )
        assert demoted.status_code == 200, demoted.text
        _refused(api, "/api/staff/orders", staff)
        again = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
        assert api.get("/api/staff/orders", headers=_bearer(again)).status_code == 403
        assert api.get("/api/users/me", headers=_bearer(again)).status_code == 200

        customer = _account(api)
        assert api.delete("/api/users/me", headers=_bearer(customer)).status_code == 204
        _refused(api, "/api/users/me/orders", customer)
