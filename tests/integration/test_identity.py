"""Identity and the hardened gateway on real sidecars: sign-up and sign-in with identity's
own RS256 keys, profile and address book as a new user would use them, refresh-token
rotation and reuse detection, Entra ID tokens from a second local key set, roles on staff
and admin routes, cross-user access, rewards from a paid order, the signed gateway context."""

import base64
import json
import re
import time
import uuid
from typing import Any

import httpx
import jwt

from tests import factories, webhooks
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

PASSWORD = "SecurePassword123!"


def _signup(api: httpx.Client, email: str | None = None, name: str = "New User") -> str:
    email = email or factories.email()
    r = api.post("/api/auth/signup", json={"email": email, "name": name, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return email


def _login(api: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    r = api.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_a_new_user_signs_up_signs_in_keeps_a_profile_and_signs_out(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api, email=f"  {factories.ref('New')}@Example.COM ")
        pair = _login(api, email.strip().upper())  # emails are normalised
        auth = _bearer(pair)
        assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
        published = api.get("/api/auth/jwks").json()["keys"]
        kid = jwt.get_unverified_header(pair["access_token"])["kid"]
        key = jwt.PyJWK(next(k for k in published if k["kid"] == kid))
        claims = jwt.decode(
            pair["access_token"], key.key, algorithms=["RS256"], audience="smartcommerce-api"
        )
        assert claims["role"] == "customer" and claims["iss"] == "smartcommerce-identity"

        me = api.get("/api/users/me", headers=auth).json()
        assert me["email"] == email.strip().lower() and "password_hash" not in me
        assert api.get("/api/auth/me", headers=auth).json()["user_id"] == me["user_id"]
        r = api.put(
            "/api/users/me", json={"name": "Ada Lovelace", "phone": "+1 415 555 0100"}, headers=auth
        )
        assert r.status_code == 200 and r.json()["name"] == "Ada Lovelace"

        home = api.post("/api/users/me/addresses", json=factories.address(), headers=auth)
        assert home.status_code == 201, home.text
        assert home.json()["is_default"] is True  # the first shipping address
        work = api.post(
            "/api/users/me/addresses",
            json={**factories.address(line1="2 Mission St"), "is_default": False},
            headers=auth,
        ).json()
        r = api.put(f"/api/users/me/addresses/{work['address_id']}/default", headers=auth)
        assert r.status_code == 200
        book = api.get("/api/users/me/addresses", headers=auth).json()
        assert [a["is_default"] for a in book] == [False, True]

        card = {"stripe_payment_method_id": "pm_card_visa", "brand": "4242 4242 4242 4242"}
        refused = api.post("/api/users/me/payment-methods", json=card, headers=auth)
        assert refused.status_code == 400 and "Card numbers" in refused.text
        saved = api.post(
            "/api/users/me/payment-methods",
            json={"stripe_payment_method_id": "pm_card_visa", "brand": "visa", "last4": "4242"},
            headers=auth,
        )
        assert saved.status_code == 201 and saved.json()["is_default"] is True
        r = api.post("/api/users/me/wishlist", json={"product_id": "p-1"}, headers=auth)
        assert r.status_code == 201 and len(r.json()) == 1
        prefs = {"language": "fr", "currency": "EUR", "notifications": {"email_marketing": True}}
        assert api.put("/api/users/me/preferences", json=prefs, headers=auth).status_code == 200
        board = api.get("/api/users/me/dashboard", headers=auth).json()
        assert (board["order_count"], board["wishlist_count"], board["addresses_count"]) == (
            0,
            1,
            2,
        )

        assert (
            api.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code
            == 204
        )
        again = api.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401


def test_signup_and_login_refusals(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api)
        fresh = api.post(
            "/api/auth/signup",
            json={"email": factories.email(), "name": "X", "password": "Another-pass-42"},
        )
        dup = api.post(
            "/api/auth/signup",
            json={"email": email.upper(), "name": "X", "password": "Another-pass-42"},
        )
        # a taken email is answered exactly as a new one (no account discovery)...
        assert dup.status_code == fresh.status_code == 201
        assert set(dup.json()) == set(fresh.json())
        assert dup.json()["user_id"] != fresh.json()["user_id"]
        # ...but nothing changed: the owner's password still signs in, the other does not
        login = {"email": email, "password": "Another-pass-42"}
        assert api.post("/api/auth/login", json=login).status_code == 401
        assert api.post("/api/auth/login", json={**login, "password": PASSWORD}).status_code == 200
        short = api.post(
            "/api/auth/signup", json={"email": factories.email(), "name": "X", "password": "short1"}
        )
        assert short.status_code == 400  # the schema says 10+ with a letter and a digit
        common = api.post(
            "/api/auth/signup",
            json={"email": factories.email(), "name": "X", "password": "Password123"},
        )
        assert common.status_code == 422
        wrong = api.post("/api/auth/login", json={"email": email, "password": "Wrong-password-1"})
        unknown = api.post(
            "/api/auth/login", json={"email": factories.email(), "password": PASSWORD}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_refresh_rotates_and_reuse_revokes_the_whole_sign_in(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api)
        first = _login(api, email)
        second = api.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200, second.text
        third = api.post(
            "/api/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
        )
        assert third.status_code == 200
        # The first token again: stolen. The family is revoked, the newest token too.
        reused = api.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401 and "revoked" in reused.json()["error"]["message"]
        latest = api.post(
            "/api/auth/refresh", json={"refresh_token": third.json()["refresh_token"]}
        )
        assert latest.status_code == 401
        other = _login(api, email)  # another sign-in is untouched
        assert (
            api.post(
                "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
            ).status_code
            == 200
        )


def test_bad_tokens_are_401(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        pair = _login(api, _signup(api))
        good = pair["access_token"]
        head, body, sig = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        forged_body = (
            base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode())
            .decode()
            .rstrip("=")
        )
        none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        bad = {
            "tampered": f"{head}.{forged_body}.{sig}",
            "expired": issuer.token("u-x", ttl=-120),
            "wrong issuer": issuer.token("u-x", iss="someone-else"),
            "wrong audience": issuer.token("u-x", aud="another-api"),
            "alg none": f"{none_head}.{body}.",
            "hs256": jwt.encode({**claims}, "secret", algorithm="HS256"),
            "garbage": "not-a-token",
        }
        for name, token in bad.items():
            r = api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, name
            assert r.json()["error"]["code"] == "UNAUTHORIZED", name
        assert (
            api.get("/api/users/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
        )


def test_roles_on_staff_and_admin_routes(cluster: Cluster, issuer: TokenIssuer) -> None:
    customer = issuer.headers(factories.ref("u"), "customer")
    staff = issuer.headers(factories.ref("s"), "staff")
    admin_id = factories.ref("a")
    admin = issuer.headers(admin_id, "admin")
    with cluster.client("storefront") as api:
        product = factories.product()
        with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as anonymous:
            assert anonymous.post("/api/staff/products", json=product).status_code == 401
        assert api.post("/api/staff/products", json=product, headers=customer).status_code == 403
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        assert api.get("/api/admin/users", headers=staff).status_code == 403
        assert api.get("/api/admin/users", headers=customer).status_code == 403

        email = factories.email()
        made = api.post(
            "/api/admin/users",
            json={"email": email, "name": "Sam Staff", "password": PASSWORD, "role": "customer"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["user_id"]
        promoted = api.put(
            f"/api/admin/users/{user_id}/role", json={"role": "staff"}, headers=admin
        )
        assert promoted.status_code == 200 and promoted.json()["role"] == "staff"
        assert (
            jwt.decode(_login(api, email)["access_token"], options={"verify_signature": False})[
                "role"
            ]
            == "staff"
        )
        listed = api.get("/api/admin/users", params={"role": "staff"}, headers=admin).json()
        assert user_id in {u["user_id"] for u in listed["items"]}
        assert api.delete(f"/api/admin/users/{user_id}", headers=admin).status_code == 204
        assert (
            api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code
            == 401
        )
        audit = api.get("/api/admin/audit", headers=admin).json()
        mine = [(e["action"], e["target_id"]) for e in audit if e["actor_id"] == admin_id]
        assert ("users.create", user_id) in mine
        assert ("users.set_role", user_id) in mine
        assert ("users.delete", user_id) in mine


def test_another_users_data_is_a_404(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        alice = _bearer(_login(api, _signup(api)))
        bob = _bearer(_login(api, _signup(api)))
        address = api.post(
            "/api/users/me/addresses", json=factories.address(), headers=alice
        ).json()
        path = f"/api/users/me/addresses/{address['address_id']}"
        assert api.put(path, json=factories.address(), headers=bob).status_code == 404
        assert api.delete(path, headers=bob).status_code == 404
        assert api.delete(path, headers=alice).status_code == 204


def test_closing_an_account_erases_it(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api, name="Erase Me")
        pair = _login(api, email)
        api.post("/api/users/me/addresses", json=factories.address(), headers=_bearer(pair))
        assert api.delete("/api/users/me", headers=_bearer(pair)).status_code == 204
        assert api.get("/api/users/me", headers=_bearer(pair)).status_code == 404
        assert (
            api.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
            == 401
        )
        # The email is free again; the old data is gone.
        _signup(api, email=email)
        fresh = _bearer(_login(api, email))
        assert api.get("/api/users/me/addresses", headers=fresh).json() == []


def test_entra_id_sign_in_creates_the_profile_once(cluster: Cluster, entra: TokenIssuer) -> None:
    oid = factories.ref("oid")
    email = factories.email()
    token = entra.token(oid, oid=oid, email=email, name="Erin Entra", roles=["SmartCommerce.Staff"])
    with cluster.client("storefront") as api:
        first = api.post("/api/auth/entra", json={"token": token})
        assert first.status_code == 200, first.text
        assert first.json()["user"]["role"] == "staff"
        assert first.json()["user"]["auth_provider"] == "entra"
        again = api.post("/api/auth/entra", json={"token": entra.token(oid, oid=oid, email=email)})
        assert again.json()["user"]["user_id"] == first.json()["user"]["user_id"]
        assert again.json()["user"]["role"] == "customer"  # roles follow Entra
        wrong_audience = entra.token(oid, oid=oid, email=email, aud="api://other")
        assert api.post("/api/auth/entra", json={"token": wrong_audience}).status_code == 401
        stranger = TokenIssuer(issuer=entra.issuer, audience=entra.audience)
        forged = stranger.token(oid, oid=oid, email=email, roles=["SmartCommerce.Admin"])
        assert api.post("/api/auth/entra", json={"token": forged}).status_code == 401


def test_internal_identity_trusts_only_the_signed_context(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        pair = _login(api, _signup(api))
    user_id = jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
    with cluster.invoker("identity") as identity:
        assert identity.get("/users/me").status_code == 401  # no context: anonymous
        forged = base64.urlsafe_b64encode(
            json.dumps({"sub": user_id, "role": "admin", "exp": time.time() + 60}).encode()
        ).decode()
        r = identity.get("/users/me", headers={"X-SC-Context": f"{forged}.AAAA"})
        assert r.status_code == 401
    with cluster.client("storefront") as api:  # a client's own context header is ignored
        r = api.get("/api/users/me", headers={"X-SC-Context": f"{forged}.AAAA"})
        assert r.status_code == 401
    with cluster.invoker("orders") as orders:  # orders lists a user's orders only for them
        assert orders.get("/orders", params={"user_id": user_id}).status_code == 404
        forged_call = orders.get(
            "/orders", params={"user_id": user_id}, headers={"X-SC-Context": f"{forged}.AAAA"}
        )
        assert forged_call.status_code == 401
    with cluster.invoker("checkout") as checkout:  # nor order in someone else's name
        start = {
            "order": factories.checkout({"product_id": "p-x", "quantity": 1}),
            "user_id": user_id,
        }
        r = checkout.post("/checkouts", json=start, headers={"Idempotency-Key": factories.ref("k")})
        assert r.status_code == 403, r.text


def test_signed_in_checkout_earns_rewards(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api)
        auth = _bearer(_login(api, email))
        product = factories.product()
        staff = issuer.headers(factories.ref("s"), "staff")
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        line = {"product_id": product["product_id"], "quantity": 1}
        assert api.post("/api/cart/items", json=line, headers=auth).status_code in (200, 201)
        r = api.post(
            "/api/orders",
            json=factories.checkout(email=email),
            headers={**auth, "Idempotency-Key": factories.ref("idem")},
        )
        assert r.status_code == 202, r.text
        order_id = r.json()["order_id"]

        webhooks.pay(cluster, order_id)

        def rewarded() -> dict[str, Any]:
            rewards = api.get("/api/users/me/rewards", headers=auth).json()
            assert rewards["points"] > 0, rewards
            return dict(rewards)

        rewards = eventually(rewarded, timeout=60)
        order = api.get(f"/api/orders/{order_id}", headers=auth).json()
        assert order["status"] == "paid" and order["user_id"]
        assert rewards["points"] == int(float(order["totals"]["total"]))
        assert rewards["lifetime_spend"] == order["totals"]["total"]
        board = api.get("/api/users/me/dashboard", headers=auth).json()
        assert board["order_count"] == 1
        assert board["recent_orders"][0]["order_id"] == order_id
        assert api.get("/api/cart", headers=auth).json()["items"] == []

        # A forged OrderPaid (published where order events are published, as an insider
        # could): a made-up order for this user, and the real order with a bigger total.
        user_id = api.get("/api/users/me", headers=auth).json()["user_id"]
        for forged_id, total in ((f"forged-{uuid.uuid4()}", "12345.00"), (order_id, "999.00")):
            cluster.publish(
                "order-events",
                {
                    "event_id": f"forged-{uuid.uuid4()}",
                    "event_type": "OrderPaid",
                    "event_version": 1,
                    "occurred_at": order["updated_at"],
                    "correlation_id": "forged",
                    "source": "orders",
                    "data": {
                        **{k: order[k] for k in ("order_number", "email", "items")},
                        "order_id": forged_id,
                        "user_id": user_id,
                        "status": "paid",
                        "previous_status": "awaiting_payment",
                        "reason": "",
                        "totals": {**order["totals"], "total": total},
                        "version": 9,
                        "at": order["updated_at"],
                    },
                },
            )
        time.sleep(3)  # both delivered and judged by now (the real one took < 1 s)
        after = api.get("/api/users/me/rewards", headers=auth).json()
        assert after["points"] == rewards["points"], after  # nothing credited


def test_key_rotation_keeps_earlier_tokens_valid(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        email = _signup(api)
        before = _login(api, email)
        admin = issuer.headers(factories.ref("a"), "admin")
        assert api.post("/api/admin/keys/rotate", headers=_bearer(before)).status_code == 403
        rotated = api.post("/api/admin/keys/rotate", headers=admin)
        assert rotated.status_code == 200, rotated.text
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        new_kid = rotated.json()["kid"]
        assert new_kid != old_kid
        assert {old_kid, new_kid} <= {k["kid"] for k in api.get("/api/auth/jwks").json()["keys"]}

        def signed_with_the_new_key() -> dict[str, Any]:
            pair = _login(api, email)  # published first, signing a few seconds later
            assert jwt.get_unverified_header(pair["access_token"])["kid"] == new_kid
            return pair

        after = eventually(signed_with_the_new_key, timeout=20, interval=1)

        # The gateway has not seen the new key yet: it refetches the JWKS and accepts it.
        def accepted() -> bool:
            assert api.get("/api/users/me", headers=_bearer(after)).status_code == 200
            return True

        eventually(accepted, timeout=20, interval=1)
        assert api.get("/api/users/me", headers=_bearer(before)).status_code == 200


ODD_LOCAL_PARTS = [
    "john+shop",
    "a?b",
    "a#b",
    "a/b",
    "a%b",
    "a&b",
    '"a;b"',
    '"john q. public"',
    "jürgen.müller",
    "%2Fadmin",
    "a+b%20c",
    "a||b",
]


def test_emails_with_url_characters_sign_up_sign_in_change_password_and_close(
    cluster: Cluster,
) -> None:
    """Every key and id reaches the sidecar percent-encoded: `+` is not a space, `?` and `#`
    do not end the key, `/` and `%` do not change the route."""
    with cluster.client("storefront") as api:
        for local in ODD_LOCAL_PARTS:
            tag = factories.ref("odd").split("-")[1][:6]
            quoted = local.startswith('"')
            email = f'{local[:-1]} {tag}"@example.com' if quoted else f"{local}.{tag}@example.com"
            _signup(api, email=email)
            pair = _login(api, email)
            me = api.get("/api/users/me", headers=_bearer(pair)).json()
            assert me["email"] == email.lower(), email
            new_password = "Another-secret-42"
            r = api.put(
                "/api/users/me/password",
                json={"current_password": PASSWORD, "new_password": new_password},
                headers=_bearer(pair),
            )
            assert r.status_code == 204, (email, r.text)
            assert (
                api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code
                == 401
            )
            fresh = _login(api, email, new_password)
            assert api.delete("/api/users/me", headers=_bearer(fresh)).status_code == 204
            gone = api.post("/api/auth/login", json={"email": email, "password": new_password})
            assert gone.status_code == 401, email
            _signup(api, email=email)  # the address is free again


def test_passwords_are_taken_exactly_as_typed(cluster: Cluster) -> None:
    spaced = "  Spaced-password-7  "
    with cluster.client("storefront") as api:
        email = factories.email()
        r = api.post("/api/auth/signup", json={"email": email, "name": "S", "password": spaced})
        assert r.status_code == 201, r.text
        assert (
            api.post(
                "/api/auth/login", json={"email": email, "password": spaced.strip()}
            ).status_code
            == 401
        )
        pair = _login(api, email, spaced)
        r = api.put(
            "/api/users/me/password",
            json={"current_password": spaced, "new_password": " Trailing-space-9 "},
            headers=_bearer(pair),
        )
        assert r.status_code == 204, r.text
        _login(api, email, " Trailing-space-9 ")


def test_special_use_domains_are_refused_as_the_schema_says(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        schema = api.get("/openapi.json").json()["components"]["schemas"]["SignupRequest"]
        pattern = schema["properties"]["email"]["pattern"]
        for refused in ("x@y.test", "x@printer.local", "x@Y.INVALID"):
            assert not re.match(pattern, refused)
            r = api.post(
                "/api/auth/signup", json={"email": refused, "name": "T", "password": PASSWORD}
            )
            assert r.status_code == 400 and "special-use" in r.text, r.text
        assert re.match(pattern, "x@test.example.com")


def test_entra_sign_in_not_configured_is_501_not_a_server_error(cluster: Cluster) -> None:
    env = cluster.apps["identity"].env
    configured = env["IDENTITY_ENTRA_ISSUER"]
    cluster.stop_app("identity")
    try:
        cluster.start_app("identity", env={"IDENTITY_ENTRA_ISSUER": ""})
        with cluster.client("storefront") as api:
            r = api.post("/api/auth/entra", json={"token": "x" * 40})
            assert r.status_code == 501, r.text
            assert r.json()["error"]["code"] == "NOT_IMPLEMENTED"
    finally:
        cluster.stop_app("identity")
        cluster.start_app("identity", env={"IDENTITY_ENTRA_ISSUER": configured})
