"""Issue 12 #8: each secret lives in a store scoped to the apps that read it, and identity's
state in a store only identity loads. Another app's sidecar (with the sidecars' own API
token) cannot read the Stripe key, the first admin's password, the gateway-context key or
identity's signing keys: the store is not loaded there, so daprd refuses the call."""

import json

import pytest

from apps.contracts.names import SECRET_STORE, Component, Secret
from tests.harness import ROOT, Cluster

STRIPE_KEY = (Component.PAYMENTS_SECRETS, Secret.STRIPE_API_KEY)
WEBHOOK_SECRET = (Component.PAYMENTS_SECRETS, Secret.STRIPE_WEBHOOK_SECRET)
ADMIN_PASSWORD = (Component.IDENTITY_SECRETS, Secret.IDENTITY_ADMIN_PASSWORD)
CONTEXT_KEY = (Component.GATEWAY_SECRETS, Secret.GATEWAY_CONTEXT_KEY)
SMTP_PASSWORD = (Component.NOTIFICATIONS_SECRETS, Secret.SMTP_PASSWORD)

#: (app, store, secret) read by an app outside the store's scopes.
REFUSED = [
    ("catalog", *STRIPE_KEY),
    ("catalog", *WEBHOOK_SECRET),
    ("catalog", *ADMIN_PASSWORD),
    ("catalog", *CONTEXT_KEY),
    ("storefront", *STRIPE_KEY),
    ("storefront", *ADMIN_PASSWORD),
    ("orders", *STRIPE_KEY),
    ("identity", *STRIPE_KEY),
    ("payments", *ADMIN_PASSWORD),
    ("payments", *CONTEXT_KEY),
    ("cart", *CONTEXT_KEY),
    ("notifications", *STRIPE_KEY),
    ("notifications", *ADMIN_PASSWORD),
    ("orders", *SMTP_PASSWORD),
    ("storefront", *SMTP_PASSWORD),
    ("identity", *SMTP_PASSWORD),
    ("backoffice", *SMTP_PASSWORD),
    ("backoffice", *STRIPE_KEY),
]
#: (app, store, secret) each app's code reads.
ALLOWED = [
    ("payments", *STRIPE_KEY),
    ("payments", *WEBHOOK_SECRET),
    ("identity", *ADMIN_PASSWORD),
    ("storefront", *CONTEXT_KEY),
    ("identity", *CONTEXT_KEY),
    ("orders", *CONTEXT_KEY),
    ("checkout", *CONTEXT_KEY),
    ("notifications", *CONTEXT_KEY),
    ("backoffice", *CONTEXT_KEY),
]
#: Secrets that must not be in the store every app loads.
NOT_SHARED = [s for s, store in SECRET_STORE.items() if store != Component.SECRETS]
#: Their local values (none may appear in an answer to an app outside the store's scopes).
VALUES = [
    value
    for path in (ROOT / "components" / "local").glob("secrets.*.json")
    for value in json.loads(path.read_text()).values()
    if len(value) >= 8  # the local SMTP login is empty and its port "1025": not secrets
]


def loaded(cluster: Cluster, app_id: str) -> set[str]:
    with cluster.sidecar(app_id) as dapr:
        return {c["name"] for c in dapr.get("/v1.0/metadata").json()["components"]}


@pytest.mark.parametrize(("app_id", "store", "secret"), REFUSED)
def test_a_sidecar_cannot_read_a_secret_store_of_other_apps(
    cluster: Cluster, app_id: str, store: str, secret: str
) -> None:
    assert store not in loaded(cluster, app_id)
    with cluster.sidecar(app_id) as dapr:
        r = dapr.get(f"/v1.0/secrets/{store}/{secret}")
    # daprd: ERR_SECRET_STORE_NOT_FOUND, answered as 401 (the store is not there for it)
    assert r.status_code == 401, (app_id, store, r.status_code, r.text[:200])
    assert r.json()["errorCode"] == "ERR_SECRET_STORE_NOT_FOUND"
    assert not any(value in r.text for value in VALUES)


@pytest.mark.parametrize(("app_id", "store", "secret"), ALLOWED)
def test_an_app_reads_the_secrets_it_needs(
    cluster: Cluster, app_id: str, store: str, secret: str
) -> None:
    with cluster.sidecar(app_id) as dapr:
        r = dapr.get(f"/v1.0/secrets/{store}/{secret}")
    assert r.status_code == 200, (app_id, store, r.status_code, r.text[:200])
    assert r.json()[secret]


@pytest.mark.parametrize("app_id", ["catalog", "storefront", "payments", "identity"])
def test_the_shared_store_holds_only_infrastructure_secrets(cluster: Cluster, app_id: str) -> None:
    """`secretstore` is loaded by every app (components reference it): none of the secrets
    of the other stores is in it, by name or in bulk."""
    with cluster.sidecar(app_id) as dapr:
        bulk = dapr.get(f"/v1.0/secrets/{Component.SECRETS}/bulk")
        assert bulk.status_code == 200, bulk.text[:200]
        shared = {s for s, store in SECRET_STORE.items() if store == Component.SECRETS}
        assert set(bulk.json()) == shared  # connection strings, redis and SMTP host
        for secret in NOT_SHARED:
            r = dapr.get(f"/v1.0/secrets/{Component.SECRETS}/{secret}")
            assert r.status_code != 200, (app_id, secret)


def test_identity_state_is_in_a_store_only_identity_loads(cluster: Cluster) -> None:
    store = Component.IDENTITY_STATE
    for app_id in ("catalog", "storefront", "orders", "payments"):
        assert store not in loaded(cluster, app_id)
        with cluster.sidecar(app_id) as dapr:
            r = dapr.get(f"/v1.0/state/{store}/signing-keys")
        # daprd: ERR_STATE_STORE_NOT_FOUND, answered as 400
        assert r.status_code == 400, (app_id, r.status_code, r.text[:200])
        assert r.json()["errorCode"] == "ERR_STATE_STORE_NOT_FOUND"
        assert "BEGIN" not in r.text
    assert Component.STATE not in loaded(cluster, "identity")  # nor the shared store
    with cluster.sidecar("identity") as dapr:
        keys = dapr.get(f"/v1.0/state/{store}/signing-keys")  # created at identity's start
    assert keys.status_code == 200, keys.text[:200]
    assert keys.json()
    # Nothing of identity's is left in the shared state table (keyPrefix: the app-id).
    assert cluster.sql("SELECT count(*) FROM dapr_state WHERE key LIKE 'identity||%'") == "0"
    found = cluster.sql(
        "SELECT count(*) FROM dapr_identity_state WHERE key = 'identity||signing-keys'"
    )
    assert found == "1"
