"""Names in apps/contracts, dapr.yaml, components/local, components/azure and Bicep agree,
so what runs locally has the same shape in Azure."""

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.contracts.names import (
    DAPR_CONFIGURATION,
    RESILIENCY_POLICY,
    SECRET_STORE,
    AppId,
    Component,
    Secret,
    Topic,
)

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "components" / "local"
AZURE = ROOT / "components" / "azure"
BICEP = ROOT / "bicep"

#: local type -> Azure type for the same component name (SPEC "Azure mapping").
AZURE_TYPE = {
    "state.postgresql": "state.postgresql",
    "pubsub.redis": "pubsub.azure.servicebus.topics",
    "secretstores.local.file": "secretstores.azure.keyvault",
    # Mailpit locally, Azure Communication Services' SMTP endpoint in Azure.
    "bindings.smtp": "bindings.smtp",
    # Runtime settings: a PostgreSQL table with a NOTIFY trigger locally, App Configuration
    # in Azure (both behind the Dapr Configuration API).
    "configuration.postgresql": "configuration.azure.appconfig",
}
#: Azure types that sign in with a secret, not the managed identity: ACS SMTP AUTH takes an
#: Entra application's client secret. Every credential of theirs is a Key Vault reference.
SECRET_CREDENTIALS = {"bindings.smtp": ("host", "port", "user", "password")}


def components(folder: Path) -> dict[str, dict[str, Any]]:
    docs = (yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml")))
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Component"}


def bicep_components() -> dict[str, dict[str, Any]]:
    text = (BICEP / "modules" / "dapr-components.bicep").read_text()
    found = {}
    pattern = r"name: '([\w-]+)'\s+componentType: '([\w.]+)'.*?scopes: \[([^\]]*)\]"
    for name, ctype, scopes in re.findall(pattern, text, re.S):
        found[name] = {"type": ctype, "scopes": re.findall(r"'([\w-]+)'", scopes)}
    return found


def run_file_apps() -> dict[str, dict[str, Any]]:
    return {a["appID"]: a for a in yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]}


def test_component_names_are_the_contract_names() -> None:
    assert set(components(LOCAL)) == {c.value for c in Component}
    assert set(components(AZURE)) == set(components(LOCAL))
    assert set(bicep_components()) == set(components(LOCAL))
    for name in components(LOCAL):
        assert "." not in name


@pytest.mark.parametrize("name", [c.value for c in Component])
def test_azure_form_matches_local(name: str) -> None:
    local, azure, bicep = components(LOCAL)[name], components(AZURE)[name], bicep_components()[name]
    assert AZURE_TYPE[local["spec"]["type"]] == azure["spec"]["type"] == bicep["type"]
    assert sorted(local["scopes"]) == sorted(azure["scopes"]) == sorted(bicep["scopes"])
    assert set(local["scopes"]) <= {a.value for a in AppId}


def test_azure_components_hold_no_secrets() -> None:
    for doc in components(AZURE).values():
        items = {m["name"]: str(m.get("value", "")) for m in doc["spec"]["metadata"]}
        refs = {m["name"] for m in doc["spec"]["metadata"] if "secretKeyRef" in m}
        assert not any(
            ("password" in k.lower() and k not in refs)
            or (k.lower() == "connectionstring" and "password" in v.lower())
            for k, v in items.items()
        )
        credentials = SECRET_CREDENTIALS.get(doc["spec"]["type"])
        if credentials is None:
            assert "azureClientId" in items  # managed identity
        else:  # from Key Vault, never written here
            assert set(credentials) <= refs
            # ... from a store that holds them (SECRET_STORE), loaded only by its readers.
            for item in doc["spec"]["metadata"]:
                if "secretKeyRef" in item:
                    secret = Secret(item["secretKeyRef"]["name"])
                    assert doc["auth"]["secretStore"] == SECRET_STORE[secret]


def test_bicep_email_component_reads_key_vault() -> None:
    """The Bicep form of `email` takes its credentials from notifications' own secret store,
    by the same secret names as the YAML (ACA: `secretStoreComponent` + `secretRef`)."""
    text = (BICEP / "modules" / "dapr-components.bicep").read_text()
    block = text[text.index("name: 'email'") :].split("scopes:")[0]
    assert f"secretStoreComponent: '{Component.NOTIFICATIONS_SECRETS}'" in block
    assert components(AZURE)["email"]["auth"]["secretStore"] == Component.NOTIFICATIONS_SECRETS
    for item in components(AZURE)["email"]["spec"]["metadata"]:
        if "secretKeyRef" in item:
            ref = item["secretKeyRef"]["name"]
            assert f"{{ name: '{item['name']}', secretRef: '{ref}' }}" in block
    assert "secretStoreComponent: c.?secretStoreComponent" in text


def test_actor_store_is_postgres_on_both_sides() -> None:
    for folder in (LOCAL, AZURE):
        store = components(folder)["statestore"]
        meta = {m["name"]: m.get("value") for m in store["spec"]["metadata"]}
        assert store["spec"]["type"] == "state.postgresql"
        assert meta["actorStateStore"] == "true"


def test_run_file_apps_are_known_and_scoped() -> None:
    apps = run_file_apps()
    assert set(apps) <= {a.value for a in AppId}
    for name, doc in components(LOCAL).items():
        assert set(doc["scopes"]) <= set(apps), name
    # One Container App per row of the apps table (apps.bicep loads it; test_azure_apps.py).
    assert {row["appId"] for row in app_table()["apps"]} == set(apps)
    ports = [a["appPort"] for a in apps.values()]
    assert len(set(ports)) == len(ports)


def test_configuration_and_resiliency_names() -> None:
    docs = [yaml.safe_load(p.read_text()) for p in LOCAL.glob("*.yaml")]
    kinds = {d["kind"]: d["metadata"]["name"] for d in docs}
    assert kinds["Configuration"] == DAPR_CONFIGURATION
    assert kinds["Resiliency"] == RESILIENCY_POLICY
    resiliency = next(d for d in docs if d["kind"] == "Resiliency")
    assert set(resiliency["spec"]["targets"]["components"]) <= {c.value for c in Component}
    assert set(resiliency["spec"]["targets"]["apps"]) <= set(run_file_apps())


def app_table() -> dict[str, Any]:
    """deploy/apps.json: the apps, topics and subscriptions the Bicep is made from."""
    return json.loads((ROOT / "deploy" / "apps.json").read_text())


def test_topics_exist_in_bicep() -> None:
    assert set(app_table()["topics"]) == {t.value for t in Topic}
    assert "var topics = table.topics" in (BICEP / "modules" / "servicebus.bicep").read_text()


@pytest.mark.parametrize("folder", [LOCAL, AZURE], ids=["local", "azure"])
def test_apps_of_a_component_can_read_its_secrets(folder: Path) -> None:
    """A component whose metadata comes from a secret store loads only in apps that also
    have that store in scope (daprd skips it otherwise and the app never becomes ready)."""
    docs = components(folder)
    for name, doc in docs.items():
        store = (doc.get("auth") or {}).get("secretStore")
        if store and store in docs:
            missing = set(doc["scopes"]) - set(docs[store]["scopes"])
            assert not missing, f"{name}: {sorted(missing)} lack {store}"


def local_secret_files() -> dict[str, dict[str, str]]:
    """Local secret store name -> the secrets in its file (paths are relative to the repo
    root, where `./taskw up` runs daprd)."""
    found = {}
    for name, doc in components(LOCAL).items():
        if doc["spec"]["type"] == "secretstores.local.file":
            meta = {m["name"]: m.get("value") for m in doc["spec"]["metadata"]}
            found[name] = json.loads((ROOT / meta["secretsFile"]).read_text())
    return found


def test_each_secret_lives_in_exactly_one_store() -> None:
    """Every secret is in one local file, the one of the store `SECRET_STORE` names, and a
    component's `secretKeyRef` names a secret of the store its `auth.secretStore` gives."""
    files = local_secret_files()
    assert set(files) == set(SECRET_STORE.values())
    holders: dict[str, list[str]] = {}
    for store, values in files.items():
        for secret in values:
            holders.setdefault(secret, []).append(store)
    assert set(holders) == {s.value for s in Secret} == set(SECRET_STORE)
    for secret, stores in holders.items():
        assert stores == [SECRET_STORE[secret]], secret
    for name, doc in components(LOCAL).items():
        for item in doc["spec"]["metadata"]:
            if "secretKeyRef" in item:
                assert SECRET_STORE[item["secretKeyRef"]["name"]] == doc["auth"]["secretStore"], (
                    name
                )


def secret_readers() -> dict[str, set[str]]:
    """Secret store -> the apps that read it: those whose code names one of its secrets
    (`Secret.X`, a quoted secret name, `ContextKey`/`CONTEXT_SECRET` for the context key) or
    the store itself (`Component.X`), and those that load a component whose metadata comes
    from it (`auth.secretStore`)."""
    readers: dict[str, set[str]] = {store: set() for store in SECRET_STORE.values()}
    for app in AppId:
        folder = ROOT / "apps" / app.value
        code = "\n".join(p.read_text() for p in sorted(folder.glob("*.py")))
        for secret in Secret:
            if f"Secret.{secret.name}" in code or f'"{secret.value}"' in code:
                readers[SECRET_STORE[secret]].add(app.value)
        if "ContextKey(" in code or "CONTEXT_SECRET" in code:
            readers[SECRET_STORE[Secret.GATEWAY_CONTEXT_KEY]].add(app.value)
        for store in set(SECRET_STORE.values()):
            if f"Component.{store.name}" in code:
                readers[store].add(app.value)
    for doc in components(LOCAL).values():
        store = (doc.get("auth") or {}).get("secretStore")
        if store:
            readers[store] |= set(doc["scopes"])
    return readers


@pytest.mark.parametrize("folder", [LOCAL, AZURE], ids=["local", "azure"])
def test_secret_stores_are_scoped_to_exactly_their_readers(folder: Path) -> None:
    """No sidecar loads a secret store its app does not read (it could read, e.g., the Stripe
    key), and every app that reads one has it."""
    readers = secret_readers()
    assert readers[Component.PAYMENTS_SECRETS] == {AppId.PAYMENTS}
    assert readers[Component.IDENTITY_SECRETS] == {AppId.IDENTITY}
    assert readers[Component.NOTIFICATIONS_SECRETS] == {AppId.NOTIFICATIONS}
    for name, doc in components(folder).items():
        if doc["spec"]["type"].startswith("secretstores."):
            assert sorted(doc["scopes"]) == sorted(readers[name]), name


def test_identity_keeps_its_state_in_a_store_only_it_loads() -> None:
    from apps.identity.settings import IdentitySettings

    assert IdentitySettings().state_store == Component.IDENTITY_STATE
    for folder in (LOCAL, AZURE):
        docs = components(folder)
        store = docs[Component.IDENTITY_STATE]
        meta = {m["name"]: m.get("value") for m in store["spec"]["metadata"]}
        assert store["scopes"] == [AppId.IDENTITY]
        assert "actorStateStore" not in meta
        assert (
            meta["tableName"]
            != {m["name"]: m.get("value") for m in docs[Component.STATE]["spec"]["metadata"]}[
                "tableName"
            ]
        )
        # identity hosts no actors or workflows: the shared store is not loaded there
        assert AppId.IDENTITY not in docs[Component.STATE]["scopes"]
    assert bicep_components()[Component.IDENTITY_STATE]["scopes"] == [AppId.IDENTITY]


def test_stores_script_precreates_the_state_stores_metadata_table() -> None:
    """scripts/stores.sh creates Dapr's metadata table before any sidecar starts (concurrent
    sidecars racing to create it can crash, see the script); the names must agree."""
    script = (ROOT / "scripts" / "stores.sh").read_text()
    tables = set()
    for name, doc in components(LOCAL).items():
        if doc["spec"]["type"].startswith("state.postgresql"):
            meta = {m["name"]: m.get("value") for m in doc["spec"]["metadata"]}
            assert f"CREATE TABLE IF NOT EXISTS {meta['metadataTableName']} " in script, name
            tables.add(meta["metadataTableName"])
    # Two state stores sharing one metadata table share one migration level: the second
    # would never create its own table.
    assert len(tables) == len(
        [d for d in components(LOCAL).values() if d["spec"]["type"].startswith("state.postgresql")]
    )


@functools.cache
def app_subscriptions() -> dict[str, dict[str, frozenset[str]]]:
    """Component -> app-id -> the topics the app subscribes to through it, as each app
    declares them to its sidecar (`/dapr/subscribe`, wherever in the app they are made)."""
    import importlib

    from fastapi.testclient import TestClient

    declared: dict[str, dict[str, set[str]]] = {}
    for app_id, spec in run_file_apps().items():
        module = next(a for a in spec["command"] if a.startswith("apps.")).split(":")[0]
        app = importlib.import_module(module).app
        if not any(getattr(r, "path", "") == "/dapr/subscribe" for r in app.routes):
            continue
        for sub in TestClient(app).get("/dapr/subscribe").json():
            declared.setdefault(sub["pubsubname"], {}).setdefault(app_id, set()).add(sub["topic"])
    return {
        name: {app: frozenset(topics) for app, topics in apps.items()}
        for name, apps in declared.items()
    }


def test_service_bus_subscriptions_match_the_apps_subscriptions() -> None:
    """Each topic an app subscribes to through `pubsub` has a Service Bus subscription in
    Bicep (consumerID = app-id), and Bicep has none an app does not use (pubsub-broadcast
    makes its own, per replica)."""
    declared = {
        (topic, app_id)
        for app_id, topics in app_subscriptions()[Component.PUBSUB].items()
        for topic in topics
    }
    # servicebus.bicep makes one subscription per (topic, app) of the table's `subscribes`.
    in_bicep = {(t, row["appId"]) for row in app_table()["apps"] for t in row["subscribes"]}
    assert declared == in_bicep
    assert ("payment-events", "orders") in declared  # two topics on one app both count


def test_sidecar_read_buffers_match() -> None:
    """The storefront's sidecar reads long request lines (JSON filters) on both sides."""
    run_file = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    local = {a["appID"]: a.get("daprHTTPReadBufferSize", 4) for a in run_file}
    text = (BICEP / "modules" / "apps.bicep").read_text()
    assert "httpReadBufferSize: a.?httpReadBufferSize ?? 4" in text
    azure = {
        r["appId"]: r["httpReadBufferSize"]
        for r in app_table()["apps"]
        if "httpReadBufferSize" in r
    }
    assert {app: size for app, size in local.items() if size != 4} == azure
    assert local["storefront"] >= 64


def _scopes(value: str) -> dict[str, set[str]]:
    pairs = (item.split("=", 1) for item in value.split(";") if item)
    return {app: {t for t in topics.split(",") if t} for app, topics in pairs}


def _pubsub_scopes(doc: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    meta = {m["name"]: m.get("value", "") for m in doc["spec"]["metadata"]}
    return {k: _scopes(meta[k]) for k in ("publishingScopes", "subscriptionScopes")}


def test_pubsub_scopes_match_everywhere_and_the_code() -> None:
    local = _pubsub_scopes(components(LOCAL)["pubsub"])
    assert local == _pubsub_scopes(components(AZURE)["pubsub"])
    bicep = (BICEP / "modules" / "dapr-components.bicep").read_text()
    for key in ("publishingScopes", "subscriptionScopes"):
        found = re.search(rf"name: '{key}', value: '([^']*)'", bicep)
        assert found and _scopes(found.group(1)) == local[key]
    apps = set(components(LOCAL)["pubsub"]["scopes"])
    assert set(local["publishingScopes"]) == set(local["subscriptionScopes"]) == apps
    assert local["publishingScopes"]["storefront"] == set()  # the internet-facing app
    # Every subscription the apps declare on `pubsub` is allowed, and nothing more.
    declared = {app: set(app_subscriptions()[Component.PUBSUB].get(app, ())) for app in apps}
    assert declared == local["subscriptionScopes"]
    # Every topic a contract publishes has an owner allowed to publish it.
    owners = {t for topics in local["publishingScopes"].values() for t in topics}
    assert {Topic.ORDER_EVENTS, Topic.PAYMENT_EVENTS, Topic.PRODUCT_EVENTS} <= owners


def test_apps_keep_connections_open_longer_than_their_sidecars() -> None:
    """daprd reuses idle connections to its app for up to 90 s; an app closing them sooner
    (uvicorn's default 5 s) races with a reused connection and a call fails with a 503."""
    run_file = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    for app in run_file:
        cmd = app["command"]
        assert int(cmd[cmd.index("--timeout-keep-alive") + 1]) > 90, app["appID"]
    assert "'--timeout-keep-alive', '120'" in (BICEP / "modules" / "apps.bicep").read_text()


def test_local_sidecars_listen_on_loopback_and_require_a_token() -> None:
    """`dapr run -f dapr.yaml` binds every sidecar to 127.0.0.1 (the test harness does the
    same) and `./taskw up` exports a Dapr API token that every sidecar then requires."""
    run_file = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    assert run_file["common"]["apiListenAddresses"] == "127.0.0.1"
    assert all("apiListenAddresses" not in a for a in run_file["apps"])  # none overrides it
    up = (ROOT / "scripts" / "up.sh").read_text()
    assert re.search(r"^export DAPR_API_TOKEN$", up, re.M)
    harness = (ROOT / "tests" / "harness.py").read_text()
    assert '"--dapr-listen-addresses",\n            "127.0.0.1"' in harness
    assert '"DAPR_API_TOKEN": self.dapr_api_token' in harness


def test_every_app_runs_the_bounded_http_protocol() -> None:
    """Header count/size limits (431) and header/body deadlines (408) hold for every app,
    locally and in Azure."""
    protocol = "apps.platform.server:BoundedHttpToolsProtocol"
    for app in yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]:
        cmd = app["command"]
        assert cmd[cmd.index("--http") + 1] == protocol, app["appID"]
    assert f"'--http', '{protocol}'" in (BICEP / "modules" / "apps.bicep").read_text()


#: Who reads which topics on every replica (pubsub-broadcast), and why: catalog's read
#: model applies every product and stock event; each storefront replica feeds the live
#: order streams (SSE) it holds. Nobody publishes there but catalog's dead letters.
BROADCAST_READERS = {
    AppId.CATALOG: {Topic.PRODUCT_EVENTS, Topic.INVENTORY_EVENTS},
    AppId.STOREFRONT: {Topic.ORDER_EVENTS, Topic.SHIPPING_EVENTS},
}


def test_broadcast_subscriptions_are_per_replica_catalog_and_storefront_only() -> None:
    """pubsub-broadcast: a consumer group / subscription per sidecar ({uuid}), the same on
    both sides and in Bicep, loaded by exactly catalog and storefront, each reading only its
    topics and publishing nothing but catalog's dead letters; the code declares exactly those
    subscriptions on it, and in Azure the identity may manage subscriptions of exactly those
    topics."""
    expected = {app.value: {t.value for t in topics} for app, topics in BROADCAST_READERS.items()}
    bicep = (BICEP / "modules" / "dapr-components.bicep").read_text()
    block = bicep[bicep.index("name: 'pubsub-broadcast'") :].split("\n  }")[0]
    for folder in (LOCAL, AZURE):
        doc = components(folder)[Component.PUBSUB_BROADCAST]
        meta = {m["name"]: m.get("value") for m in doc["spec"]["metadata"]}
        assert sorted(doc["scopes"]) == sorted(expected)
        assert meta["consumerID"] == "{uuid}"
        scopes = _pubsub_scopes(doc)
        assert scopes["subscriptionScopes"] == expected
        assert scopes["publishingScopes"] == {
            AppId.CATALOG: {Topic.DEAD_LETTER},
            AppId.STOREFRONT: set(),
        }
        for key in ("publishingScopes", "subscriptionScopes"):
            found = re.search(rf"name: '{key}', value: '([^']*)'", block)
            assert found and _scopes(found.group(1)) == scopes[key]
    assert "{ name: 'consumerID', value: '{uuid}' }" in block
    declared = {
        app: set(topics) for app, topics in app_subscriptions()[Component.PUBSUB_BROADCAST].items()
    }
    assert declared == expected
    azure = {
        m["name"]: m.get("value")
        for m in components(AZURE)[Component.PUBSUB_BROADCAST]["spec"]["metadata"]
    }
    assert azure["disableEntityManagement"] == "false" and int(azure["autoDeleteOnIdleInSec"]) > 0
    servicebus = (BICEP / "modules" / "servicebus.bicep").read_text()
    managed = re.search(r"var broadcastTopics = \[([^\]]*)\]", servicebus)
    assert managed and set(re.findall(r"'([\w-]+)'", managed.group(1))) == set().union(
        *expected.values()
    )


def test_runtime_config_store_scopes_the_apps_that_apply_its_keys() -> None:
    """Every app that applies a runtime setting (and backoffice, which serves and writes
    them) loads the configuration store, locally and in Azure alike; no other app does."""
    from apps.contracts.runtime_config import REGISTRY

    readers = {k.applied_by.value for k in REGISTRY.values()} | {AppId.BACKOFFICE.value}
    local = components(LOCAL)[Component.RUNTIME_CONFIG]
    azure = components(AZURE)[Component.RUNTIME_CONFIG]
    assert set(local["scopes"]) == set(azure["scopes"]) == readers
    assert set(bicep_components()[Component.RUNTIME_CONFIG]["scopes"]) == readers
    table = {m["name"]: m.get("value") for m in local["spec"]["metadata"]}["table"]
    sql = (ROOT / "scripts" / "sql" / "runtime_config.sql").read_text()
    assert f"CREATE TABLE IF NOT EXISTS {table} (" in sql
    assert f"pg_notify('{table}'" in sql
