"""The apps on Azure Container Apps come from one table, deploy/apps.json, and that table
agrees with what runs locally (dapr.yaml, components/local), with the Azure components and
with the apps' own code: every app has its Container App, identity, KEDA rules, replicas and
component scopes; every topic its subscriptions; the image runs as non-root with a health
check, and `./taskw image` says clearly where it cannot build.

No Bicep compiler runs here, so the Bicep side is read as text: the checks pin the
expressions that turn a table row into a Container App, and the table itself is checked in
full against the local sources of truth."""

import importlib
import inspect
import json
import os
import pkgutil
import re
import shlex
import stat
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from apps.contracts.names import AppId, Component, Topic, WorkflowName
from tests.unit.test_local_azure_consistency import (
    AZURE,
    BICEP,
    LOCAL,
    ROOT,
    _pubsub_scopes,
    app_subscriptions,
    bicep_components,
    components,
    run_file_apps,
)

TABLE_PATH = ROOT / "deploy" / "apps.json"
APPS_BICEP = BICEP / "modules" / "apps.bicep"
SERVICEBUS_BICEP = BICEP / "modules" / "servicebus.bicep"
MAIN_BICEP = BICEP / "main.bicep"
#: The only apps the internet reaches (SPEC "Azure mapping", issue 17 "Networking").
EXTERNAL = {AppId.STOREFRONT, AppId.WEB}


def table() -> dict[str, Any]:
    return json.loads(TABLE_PATH.read_text())


def rows() -> dict[str, dict[str, Any]]:
    return {row["appId"]: row for row in table()["apps"]}


def text(path: Path) -> str:
    return path.read_text()


def flat(text_: str) -> str:
    """Bicep without its comment lines and with runs of whitespace folded, so a check does
    not depend on line breaks or on a comment between two properties."""
    code = (line for line in text_.splitlines() if not line.lstrip().startswith("//"))
    return re.sub(r"\s+", " ", "\n".join(code))


# --- the table against dapr.yaml -----------------------------------------------------------


def test_every_run_file_app_has_exactly_one_row() -> None:
    ids = [row["appId"] for row in table()["apps"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(run_file_apps()) == {a.value for a in AppId}


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_row_matches_the_run_file(app_id: str) -> None:
    """Port, module and read buffer as `./taskw up` runs the app; public exactly where
    dapr.yaml binds the app to every interface (the others listen on loopback)."""
    row, spec = rows()[app_id], run_file_apps()[app_id]
    cmd = spec["command"]
    assert row["port"] == spec["appPort"] == int(cmd[cmd.index("--port") + 1])
    assert row["module"] == next(arg for arg in cmd if arg.startswith("apps."))
    assert row["module"] == f"apps.{app_id}.main:app"
    assert row.get("httpReadBufferSize", 4) == spec.get("daprHTTPReadBufferSize", 4)
    public = cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert row["external"] is public is (app_id in EXTERNAL)


def _uvicorn_options(cmd: list[str]) -> list[str]:
    """A uvicorn command's options after `--port N` (the part every runner shares)."""
    return cmd[cmd.index("--port") + 2 :]


def test_the_container_command_is_the_run_files() -> None:
    """apps.bicep's container command, the image's default command and dapr.yaml's commands
    pass uvicorn the same options."""
    local = {tuple(_uvicorn_options(a["command"])) for a in run_file_apps().values()}
    assert len(local) == 1
    options = list(local.pop())
    found = re.search(
        r"command: \[ 'python', '-m', 'uvicorn', a\.module, '--host', '0\.0\.0\.0', "
        r"'--port', string\(a\.port\), ([^\]]*)\]",
        text(APPS_BICEP),
    )
    assert found, "apps.bicep: the container command is built from the row"
    assert re.findall(r"'([^']*)'", found.group(1)) == options
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text(ROOT / "Dockerfile"), re.M).group(1))
    assert cmd[:2] == ["sh", "-c"]
    shell = shlex.split(cmd[2])
    assert shell[:5] == ["exec", "python", "-m", "uvicorn", "apps.${SC_APP}.main:app"]
    assert shell[5:9] == ["--host", "0.0.0.0", "--port", "${SC_APP_PORT}"]
    assert shell[9:] == options


# --- the Bicep is built from the table ----------------------------------------------------


def _loads_the_table(bicep: Path) -> None:
    found = re.search(r"var table = loadJsonContent\('([^']+)'\)", text(bicep))
    assert found, f"{bicep.name} loads deploy/apps.json"
    assert (bicep.parent / found.group(1)).resolve() == TABLE_PATH


def test_apps_bicep_makes_one_container_app_per_row() -> None:
    _loads_the_table(APPS_BICEP)
    bicep = flat(text(APPS_BICEP))
    assert "var apps = table.apps" in bicep
    assert re.search(
        r"resource containerApps 'Microsoft\.App/containerApps@[\w-]+' = \[for a in apps:", bicep
    )
    for pinned in (
        "name: a.appId",
        # Dapr: the row's app-id and port, HTTP, no API logging.
        "dapr: { enabled: true appId: a.appId appPort: a.port appProtocol: 'http' "
        "enableApiLogging: false",
        # Ingress: public for the row's external apps only; HTTPS only.
        "ingress: { external: a.external targetPort: a.port transport: 'http' "
        "allowInsecure: false ipSecurityRestrictions: a.external ? allowList : [] }",
        "resources: { cpu: json(a.cpu), memory: a.memory }",
        "minReplicas: a.minReplicas maxReplicas: a.maxReplicas",
        "registries: [ { server: registryServer, identity: identityId } ]",
        "param ipRestrictions array = []",
    ):
        assert pinned in bicep, pinned
    # No per-app list beside the table (a second one drifts).
    assert not re.search(r"appId: '[\w-]+'", bicep)


def test_every_container_app_runs_as_the_apps_identity() -> None:
    """Every row's Container App carries the apps' user-assigned identity (PostgreSQL,
    Service Bus, Key Vault, registry) and no system identity or secrets."""
    bicep = flat(text(APPS_BICEP))
    assert (
        "identity: { type: 'UserAssigned' userAssignedIdentities: union( { '${identityId}': {} },"
        in bicep
    )
    assert "SystemAssigned" not in bicep
    assert "secrets:" not in bicep and "secretRef" not in bicep and "passwordSecretRef" not in bicep


def test_probes_hit_the_health_endpoints_on_the_rows_port() -> None:
    bicep = flat(text(APPS_BICEP))
    for kind, path in (("Startup", "live"), ("Liveness", "live"), ("Readiness", "ready")):
        assert f"{{ type: '{kind}', httpGet: {{ path: '/health/{path}', port: a.port }}" in bicep


# --- KEDA rules -------------------------------------------------------------------------------


def expected_rules(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The scale rules apps.bicep gives a row: (rule name, trigger)."""
    rules = [("http-concurrency", "http")] if row["external"] else []
    rules += [
        (f"servicebus-{t}", f"azure-servicebus:{t}/{row['appId']}") for t in row["subscribes"]
    ]
    return [*rules, ("cpu", "cpu")]


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_each_app_has_its_scale_rules(app_id: str) -> None:
    """HTTP concurrency for web and storefront, one Service Bus rule per subscription of a
    subscriber, CPU for the rest of the traffic; rule names are unique and valid."""
    rules = expected_rules(rows()[app_id])
    names = [name for name, _ in rules]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]", n) for n in names)
    assert (("http-concurrency", "http") in rules) is (app_id in EXTERNAL)
    for topic in app_subscriptions().get(Component.PUBSUB, {}).get(app_id, ()):
        assert (f"servicebus-{topic}", f"azure-servicebus:{topic}/{app_id}") in rules


def test_scale_rules_are_built_from_the_row_with_the_scaler_identity() -> None:
    """The Bicep expressions behind `expected_rules`: an HTTP rule when external, a Service
    Bus rule per `subscribes` topic on the app's own subscription, signed in with the scaler
    identity (no connection string, no secret), a CPU rule for every app."""
    bicep = flat(text(APPS_BICEP))
    assert (
        "a.external ? [ { name: 'http-concurrency', http: { metadata: { concurrentRequests: "
        "string(a.httpConcurrency) } } } ] : []" in bicep
    )
    sb = re.search(
        r"map\(a\.subscribes, t => \{ name: 'servicebus-\$\{t\}' custom: \{(.*?)\} \} \}\)", bicep
    )
    assert sb, "one azure-servicebus rule per subscribed topic"
    rule = sb.group(1)
    for pinned in (
        "type: 'azure-servicebus'",
        "identity: scalerIdentityId",
        "namespace: serviceBusNamespace",
        "topicName: t",
        "subscriptionName: a.appId",
    ):
        assert pinned in rule, pinned
    assert "auth" not in rule and "connection" not in rule.lower()
    assert "{ name: 'cpu', custom: { type: 'cpu', metadata: { type: 'Utilization'" in bicep
    # The scaler identity is assigned to subscribers only, and never handed to their code.
    assert "empty(a.subscribes) ? {} : { '${scalerIdentityId}': {} }" in bicep
    assert (
        "identitySettings: empty(a.subscribes) ? [] : [ { identity: scalerIdentityId, "
        "lifecycle: 'None' } ]" in bicep
    )
    # ... and it may read subscription lengths: Data Owner on the namespace.
    servicebus = flat(text(SERVICEBUS_BICEP))
    owner = re.search(r"var dataOwner = '([0-9a-f-]+)'", servicebus)
    assert owner and owner.group(1) == "090c5cfd-751d-490a-894a-3ce6f1109419"
    assert "principalId: scaler.properties.principalId" in servicebus
    assert "output scalerIdentityId string = scaler.id" in servicebus


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_actor_and_workflow_hosts_keep_a_replica(app_id: str) -> None:
    """The row names what the app's code registers (actors, workflows); an app that hosts
    either never scales to zero, so reminders, timers and sagas keep a host."""
    code = "\n".join(p.read_text() for p in sorted((ROOT / "apps" / app_id).rglob("*.py")))
    actors = set(re.findall(r"register_actor\((\w+)", code))
    workflows = set(re.findall(r"register_workflow\((?:\w+\.)?(\w+)\)", code))
    row = rows()[app_id]
    assert set(row["actors"]) == actors
    assert set(row["workflows"]) == workflows
    assert workflows <= {w.value for w in WorkflowName}
    assert 0 <= row["minReplicas"] <= row["maxReplicas"]
    if actors or workflows:
        assert row["minReplicas"] >= 1


def test_the_workflow_host_is_the_checkout() -> None:
    hosts = {app for app, row in rows().items() if row["workflows"]}
    assert hosts == {AppId.CHECKOUT}


# --- resources --------------------------------------------------------------------------------

#: Container Apps consumption sizes: 0.25 vCPU steps up to 4, memory 2 GiB per vCPU.
STEPS = [(Decimal("0.25") * n, Decimal("0.5") * n) for n in range(1, 17)]


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_resources_are_the_next_step_above_twice_the_measured_peak(app_id: str) -> None:
    row = rows()[app_id]
    cpu = Decimal(row["cpu"])
    memory = Decimal(row["memory"].removesuffix("Gi"))
    assert row["memory"].endswith("Gi")
    assert (cpu, memory) in STEPS, "a Container Apps consumption size"
    need_gib = Decimal(2 * row["peakRssMiB"]) / 1024
    fitting = [m for _, m in STEPS if m >= need_gib]
    assert fitting and memory == fitting[0], f"{app_id}: {need_gib:.2f} GiB needed"


def test_the_measured_peaks_are_recorded_and_plausible() -> None:
    """A Python app with FastAPI and the Dapr SDK takes ~90 MiB before any data: a smaller
    figure was not measured on the app's process."""
    for app_id, row in rows().items():
        assert 80 <= row["peakRssMiB"] <= 4096, app_id


# --- topics, subscriptions, scopes ------------------------------------------------------------


def test_topics_are_the_contract_topics() -> None:
    assert table()["topics"] == list(dict.fromkeys(table()["topics"]))
    assert set(table()["topics"]) == {t.value for t in Topic}
    used = set()
    for row in table()["apps"]:
        used |= set(row["subscribes"]) | set(row["broadcast"]) | set(row["publishes"] or ())
    assert used <= set(table()["topics"])


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_rows_subscriptions_are_what_the_app_declares(app_id: str) -> None:
    """`subscribes` / `broadcast`: exactly the topics the app subscribes to through `pubsub`
    / `pubsub-broadcast` (its /dapr/subscribe answer)."""
    declared = app_subscriptions()
    row = rows()[app_id]
    assert set(row["subscribes"]) == set(declared.get(Component.PUBSUB, {}).get(app_id, ()))
    assert set(row["broadcast"]) == set(
        declared.get(Component.PUBSUB_BROADCAST, {}).get(app_id, ())
    )
    assert len(row["subscribes"]) == len(set(row["subscribes"]))


def test_every_topic_has_its_readers_and_writers() -> None:
    """Each topic is read by someone (a Service Bus subscription per subscribing app, or the
    per-replica broadcast), and each topic read has an app allowed to publish it."""
    readers: dict[str, set[str]] = {t: set() for t in table()["topics"]}
    writers: dict[str, set[str]] = {t: set() for t in table()["topics"]}
    for row in table()["apps"]:
        for t in [*row["subscribes"], *row["broadcast"]]:
            readers[t].add(row["appId"])
        for t in row["publishes"] or ():
            writers[t].add(row["appId"])
    assert all(readers.values()), {t for t, r in readers.items() if not r}
    assert all(writers[t] for t, r in readers.items() if r)


@pytest.mark.parametrize("folder", [LOCAL, AZURE], ids=["local", "azure"])
def test_pubsub_scopes_are_the_tables(folder: Path) -> None:
    """`publishingScopes` / `subscriptionScopes` of `pubsub` (both sides; Bicep is held to
    the YAML by test_local_azure_consistency) say what the table says, and the component is
    loaded by exactly the apps the table gives a `publishes` entry."""
    doc = components(folder)[Component.PUBSUB]
    scopes = _pubsub_scopes(doc)
    in_scope = {app for app, row in rows().items() if row["publishes"] is not None}
    assert set(doc["scopes"]) == in_scope
    assert scopes["publishingScopes"] == {app: set(rows()[app]["publishes"]) for app in in_scope}
    assert scopes["subscriptionScopes"] == {app: set(rows()[app]["subscribes"]) for app in in_scope}


def test_subscribers_may_publish_their_dead_letters() -> None:
    """A subscriber's sidecar publishes what it cannot deliver to the dead-letter topic
    (apps/platform/subscriptions.py), which its publishing scope must allow."""
    for app_id, row in rows().items():
        if row["subscribes"] or (row["broadcast"] and app_id != AppId.STOREFRONT):
            assert Topic.DEAD_LETTER in (row["publishes"] or ()), app_id


@pytest.mark.parametrize("app_id", sorted(a.value for a in AppId))
def test_component_scopes_hold_what_the_row_needs(app_id: str) -> None:
    """An app that publishes or subscribes loads `pubsub`; one that hosts actors or a
    workflow loads the actor store; the same in both YAML sets and in Bicep."""
    row = rows()[app_id]
    bicep = bicep_components()
    for folder in (LOCAL, AZURE):
        docs = components(folder)
        if row["publishes"] is not None or row["subscribes"]:
            assert app_id in docs[Component.PUBSUB]["scopes"]
        if row["broadcast"]:
            assert app_id in docs[Component.PUBSUB_BROADCAST]["scopes"]
        if row["actors"] or row["workflows"]:
            store = docs[Component.STATE]
            meta = {m["name"]: m.get("value") for m in store["spec"]["metadata"]}
            assert meta["actorStateStore"] == "true" and app_id in store["scopes"]
    if row["publishes"] is not None:
        assert app_id in bicep[Component.PUBSUB]["scopes"]
    if row["actors"] or row["workflows"]:
        assert app_id in bicep[Component.STATE]["scopes"]


def test_servicebus_bicep_makes_topics_and_subscriptions_from_the_table() -> None:
    """Topics = the table's; one subscription per (subscribed topic, app) named after the
    app (= Dapr's consumerID); the broadcast topics it lets replicas manage = the table's."""
    _loads_the_table(SERVICEBUS_BICEP)
    bicep = flat(text(SERVICEBUS_BICEP))
    assert "var topics = table.topics" in bicep
    assert (
        "var subscriptions = flatten(map(table.apps, a => map(a.subscribes, t => "
        "{ topic: t, app: a.appId })))" in bicep
    )
    assert "[for t in topics: {" in bicep and "[for s in subscriptions: {" in bicep
    assert "name: '${ns.name}/${s.topic}/${s.app}'" in bicep
    managed = re.search(r"var broadcastTopics = \[([^\]]*)\]", bicep)
    assert managed
    broadcast = {t for row in table()["apps"] for t in row["broadcast"]}
    assert set(re.findall(r"'([\w-]+)'", managed.group(1))) == broadcast


def _duration_seconds(value: str) -> int:
    found = re.fullmatch(r"(?:(\d+)s)|(?:PT(?:(\d+)M)?(?:(\d+)S)?)", value)
    assert found, value
    secs, minutes, seconds = (int(g) if g else 0 for g in found.groups())
    return secs or minutes * 60 + seconds


def test_dead_letter_settings_match_the_components() -> None:
    """Service Bus subscriptions deliver like the components say: the same delivery count
    and lock as components/azure/pubsub.yaml (the lock = the local processing timeout),
    dead-lettering on expiry, dead letters forwarded into the dead-letter topic; Entra only."""
    bicep = flat(text(SERVICEBUS_BICEP))
    azure = {m["name"]: m.get("value") for m in components(AZURE)["pubsub"]["spec"]["metadata"]}
    local = {m["name"]: m.get("value") for m in components(LOCAL)["pubsub"]["spec"]["metadata"]}
    count = re.search(r"var maxDeliveryCount = (\d+)", bicep)
    lock = re.search(r"var lockDuration = '(PT\w+)'", bicep)
    ttl = re.search(r"var messageTimeToLive = '(P\w+)'", bicep)
    assert count and lock and ttl
    assert int(count.group(1)) == int(azure["maxDeliveryCount"])
    lock_seconds = _duration_seconds(lock.group(1))
    assert (
        lock_seconds
        == int(azure["lockDurationInSec"])
        == _duration_seconds(local["processingTimeout"])
    )
    subscription = bicep[bicep.index("resource subscription ") :]
    for pinned in (
        "maxDeliveryCount: maxDeliveryCount",
        "lockDuration: lockDuration",
        "defaultMessageTimeToLive: messageTimeToLive",
        "deadLetteringOnMessageExpiration: true",
        f"forwardDeadLetteredMessagesTo: s.topic == '{Topic.DEAD_LETTER}' ? null : "
        f"'{Topic.DEAD_LETTER}'",
    ):
        assert pinned in subscription, pinned
    assert "disableLocalAuth: true" in bicep
    assert "listKeys" not in bicep and "AuthorizationRules" not in bicep


# --- what main.bicep hands the modules ----------------------------------------------------------


def declared_params(bicep: Path) -> dict[str, bool]:
    """Parameter name -> whether it has a default."""
    return {
        name: bool(default)
        for name, default in re.findall(r"^param (\w+) [\w.]+( =.*)?$", text(bicep), re.M)
    }


def top_level_keys(body: str) -> set[str]:
    """The keys of a Bicep object body (what follows its `{`, up to its `}`), not those of
    the objects nested in it; strings are skipped."""
    top, depth, quoted = [], 0, False
    for char in body:
        if quoted:
            quoted = char != "'"
            top.append(" ")
            continue
        if char == "'":
            quoted = True
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth < 0:
                break
        top.append(char if depth == 0 and char not in "}])" else " ")
    return set(re.findall(r"(?:^|[\n,])\s*(\w+)\s*:", "".join(top)))


def passed_params(module: str) -> set[str]:
    main = text(MAIN_BICEP)
    start = re.search(rf"^module \w+ 'modules/{module}\.bicep' = \{{", main, re.M)
    assert start, f"main.bicep uses modules/{module}.bicep"
    block = main[start.end() :]
    return top_level_keys(block[block.index("params: {") + len("params: {") :])


@pytest.mark.parametrize("module", ["apps", "servicebus", "dapr-components"])
def test_main_passes_every_required_param_and_nothing_unknown(module: str) -> None:
    """What a Bicep compiler would refuse: a module call missing a parameter without a
    default, or passing one the module does not declare."""
    declared = declared_params(BICEP / "modules" / f"{module}.bicep")
    passed = passed_params(module)
    assert passed <= set(declared), sorted(passed - set(declared))
    assert {p for p, has_default in declared.items() if not has_default} <= passed


def settings_fields() -> dict[str, set[str]]:
    """Env prefix -> the field names of every settings class of the apps (an env var
    PREFIX_FIELD is read only if such a field exists)."""
    fields: dict[str, set[str]] = {}
    for app in AppId:
        package = importlib.import_module(f"apps.{app.value}")
        for info in pkgutil.walk_packages(package.__path__, f"apps.{app.value}."):
            if not info.name.endswith("settings"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__:
                    prefix = cls.model_config.get("env_prefix", "")
                    fields.setdefault(prefix.upper(), set()).update(cls.model_fields)
    return fields


def test_every_app_setting_in_bicep_is_read_by_its_app() -> None:
    """An env var apps.bicep sets with an app's prefix (CHECKOUT_SAGA_ENGINE, ...) names a
    field of that app's settings: a misspelt one would be silently ignored."""
    fields = settings_fields()
    prefixes = {p for p in fields if p and p != "SC_"}
    names = re.findall(r"\{ name: '([A-Z][A-Z0-9_]+)', value:", text(APPS_BICEP))
    checked = 0
    for name in names:
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix:
            assert name.removeprefix(prefix).lower() in fields[prefix], name
            checked += 1
    assert checked >= 20
    for name in (
        "CHECKOUT_SAGA_ENGINE",
        "CHECKOUT_DURABLETASK_ENDPOINT",
        "CHECKOUT_DURABLETASK_TASKHUB",
    ):
        assert name in names, name


# --- the image ------------------------------------------------------------------------------------


def dockerfile_final_stage() -> str:
    return text(ROOT / "Dockerfile").split("\nFROM ")[-1]


def test_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    stage = dockerfile_final_stage()
    users = re.findall(r"^USER (\S+)$", stage, re.M)
    assert users, "the serving stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit() and int(user) >= 1000, "numeric, so runAsNonRoot can check it"
    assert stage.rindex("USER ") > stage.rindex("RUN ")  # nothing runs as root after it
    health = re.search(r"^HEALTHCHECK (.*?)(?<!\\)$", stage, re.M | re.S)
    assert health and "/health/live" in health.group(1)
    assert "SC_APP_PORT" in health.group(1)
    # Every Container App tells its container the port the health check asks.
    assert "{ name: 'SC_APP_PORT', value: string(a.port) }" in text(APPS_BICEP)


def test_image_needs_no_network_at_run_time() -> None:
    """Dependencies installed and models trained while building; nothing fetched later."""
    stage = dockerfile_final_stage()
    assert "COPY --from=train /app/models ./models" in stage
    cmd = stage[stage.index("\nCMD ") :]
    assert "pip" not in cmd and "curl" not in cmd and "wget" not in cmd
    assert "python -m ml.train" in text(ROOT / "Dockerfile").split("\nFROM ")[1]


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = text(ROOT / ".dockerignore").splitlines()
    assert "**" in ignore  # everything else stays out (.venv, .run, secrets, models)
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = set()
    for line in text(ROOT / "Dockerfile").splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources |= set(line.split()[1:-1])
    assert sources == allowed


def _stub(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _image(
    tmp_path: Path, *args: str, engines: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)}
    if engines:
        env["SC_IMAGE_ENGINE"] = engines
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "image.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_image_task_says_so_where_no_engine_exists(tmp_path: Path) -> None:
    result = _image(tmp_path)
    assert result.returncode == 3
    assert "no container engine available here" in result.stderr
    assert "docker: not installed" in result.stderr and "podman: not installed" in result.stderr
    assert "az acr build" in result.stderr


def test_image_task_does_not_count_a_cli_without_its_daemon(tmp_path: Path) -> None:
    _stub(tmp_path, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1\n')
    result = _image(tmp_path)
    assert result.returncode == 3
    assert "docker: installed, but no engine answers" in result.stderr


def test_image_task_builds_the_dockerfile_with_a_working_engine(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    _stub(tmp_path, "podman", f'echo "$@" >> {log}\nexit 0\n')
    result = _image(tmp_path, "smartcommerce:test", engines="docker podman")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "info"
    assert calls[1] == f"build --file {ROOT}/Dockerfile --tag smartcommerce:test {ROOT}"


def test_image_task_is_in_the_taskfile() -> None:
    tasks = yaml.safe_load(text(ROOT / "Taskfile.yml"))["tasks"]
    assert "{{.SCRIPTS}}/image.sh" in " ".join(tasks["image"]["cmds"])
    assert os.access(ROOT / "scripts" / "image.sh", os.X_OK)
