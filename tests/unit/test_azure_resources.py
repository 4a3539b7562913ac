"""What `azd up` creates is complete and keyless: bicep/main.bicep and its modules, read as
text (no Bicep compiler can be installed here), azure.yaml and bicep/main.parameters.json.

Checks: every module main.bicep calls exists, is called with parameters it declares and
gets every one it requires; every resource of the Azure issue is declared; every data plane
the apps reach grants the apps' identity a role (and PostgreSQL makes it an Entra admin);
nothing holds a key, password or connection-string secret; every secret the code reads has
its Key Vault entry (bicep/secrets.json); azure.yaml deploys exactly the apps of dapr.yaml;
every parameter without a default is in main.parameters.json; the operators' workbook and
alerts read what the code actually logs. Local <-> Azure component names and scopes are
tests/unit/test_local_azure_consistency.py's.
"""

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from apps.contracts.names import SECRET_STORE, Secret, WorkflowName
from tests.unit.test_local_azure_consistency import (
    AZURE,
    BICEP,
    ROOT,
    components,
    local_secret_files,
    run_file_apps,
)

MAIN = BICEP / "main.bicep"
MODULES = BICEP / "modules"


# -- reading Bicep as text -------------------------------------------------------------------
def code(text: str) -> str:
    """The text with comments blanked out (strings kept: `'https://…'` is not a comment)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("'''", i):
            end = text.find("'''", i + 3)
            end = n if end < 0 else end + 3
            out.append(text[i:end])
            i = end
        elif text[i] == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i)
            i = n if end < 0 else end + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@cache
def source(path: Path) -> str:
    return code(path.read_text())


def block(text: str, start: int) -> str:
    """The inside of the `{…}` (or `[…]`) that opens at or after `start` (strings skipped)."""
    opening = min(i for i in (text.find("{", start), text.find("[", start)) if i >= 0)
    close = {"{": "}", "[": "]"}[text[opening]]
    depth, i = 0, opening
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i = text.index("'", i + 1) + 1
            continue
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                assert ch == close
                return text[opening + 1 : i]
        i += 1
    raise AssertionError("unbalanced block")


def top_level_keys(inner: str) -> list[str]:
    """`key:` entries of an object body at its own level (not nested, not `a ? b : c`)."""
    keys, depth, i, last = [], 0, 0, "\n"
    while i < len(inner):
        ch = inner[i]
        if ch == "'":
            i = inner.index("'", i + 1) + 1
            last = "'"
            continue
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        elif depth == 0 and (ch.isalpha() or ch == "_") and last in "\n,{":
            m = re.match(r"(\w+)\s*:", inner[i:])
            if m:
                keys.append(m.group(1))
        if not ch.isspace():
            last = ch
        elif ch == "\n":
            last = "\n"
        i += 1
    return keys


def params(path: Path) -> dict[str, bool]:
    """Parameter name -> whether it has a default."""
    found = re.findall(r"^param (\w+) [\w\[\]]+( *=)?", source(path), re.M)
    return {name: bool(default) for name, default in found}


def modules(path: Path = MAIN) -> dict[str, tuple[Path, dict[str, str]]]:
    """Symbolic name -> (module file, {param: the expression passed})."""
    text = source(path)
    found = {}
    for m in re.finditer(r"^module (\w+) '([^']+)' = (?:if \([^\n]*\) )?\{", text, re.M):
        body = block(text, m.end() - 1)
        at = re.search(r"^\s*params: ", body, re.M)
        passed: dict[str, str] = {}
        if at:
            inner = block(body, at.end() - 1)
            for key in top_level_keys(inner):
                value = re.search(rf"(?:^|[{{,])\s*{key}\s*:\s*([^\n,}}]+)", inner, re.M)
                passed[key] = value.group(1).strip() if value else ""
        found[m.group(1)] = (path.parent / m.group(2), passed)
    return found


def declared_resources() -> dict[str, list[Path]]:
    """Resource type (no API version) -> files that create it (`existing` ones excluded)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(BICEP.rglob("*.bicep")):
        pattern = r"^resource \w+ '([\w./]+)@(\d{4}-\d{2}-\d{2}(?:-preview)?)' = (?!.*existing)"
        for rtype, _version in re.findall(pattern, source(path), re.M):
            found.setdefault(rtype.lower(), []).append(path)
    return found


# -- modules and parameters ------------------------------------------------------------------
def test_every_module_main_calls_exists_and_every_module_is_called() -> None:
    called = {path.resolve() for path, _ in modules().values()}
    for path in called:
        assert path.is_file(), path
    assert called == {p.resolve() for p in MODULES.glob("*.bicep")}


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_called_with_the_parameters_it_declares(name: str) -> None:
    """Without a compiler, this is what catches a renamed or missing module parameter."""
    path, passed = modules()[name]
    declared = params(path)
    assert set(passed) <= set(declared), f"{name}: unknown {sorted(set(passed) - set(declared))}"
    required = {p for p, has_default in declared.items() if not has_default}
    assert required <= set(passed), f"{name}: missing {sorted(required - set(passed))}"


def test_every_parameter_without_default_is_in_the_parameters_file() -> None:
    given = json.loads((BICEP / "main.parameters.json").read_text())["parameters"]
    declared = params(MAIN)
    assert set(given) <= set(declared), sorted(set(given) - set(declared))
    assert {p for p, has_default in declared.items() if not has_default} <= set(given)


def test_main_creates_what_it_used_to_take_as_inputs() -> None:
    """PostgreSQL, Key Vault and the registry are created, not passed in by name."""
    declared = params(MAIN)
    assert not {"postgresHost", "keyVaultName", "registryServer"} & set(declared)
    passed = modules()
    assert passed["components"][1]["postgresHost"] == "postgres.outputs.host"
    assert passed["components"][1]["keyVaultName"] == "keyvault.outputs.name"
    assert passed["apps"][1]["registryServer"] == "registry.outputs.loginServer"


def test_apps_get_the_azure_settings() -> None:
    apps = modules()["apps"][1]
    for name in (
        "registryServer",
        "appInsightsConnectionString",
        "serviceBusNamespace",
        "ipRestrictions",
        "sagaEngine",
        "durableTaskEndpoint",
        "durableTaskHub",
        "emailEndpoint",
    ):
        assert name in apps, name
    assert apps["appInsightsConnectionString"] == "monitoring.outputs.appInsightsConnectionString"
    assert apps["emailEndpoint"] == "email.outputs.endpoint"
    assert "durabletask.outputs.endpoint" in apps["durableTaskEndpoint"]


def test_optional_parts_are_off_by_default() -> None:
    text = source(MAIN)
    assert re.search(r"^param sagaEngine string = 'dapr'$", text, re.M)
    assert re.search(r"^param frontDoor bool = false$", text, re.M)
    assert (
        "module durabletask 'modules/durabletask.bicep' = if (sagaEngine == 'durabletask')" in text
    )
    assert "module frontdoor 'modules/frontdoor.bicep' = if (frontDoor)" in text


# -- resources, identity and roles -----------------------------------------------------------
#: Every resource the Azure issue lists (type -> the module that creates it).
RESOURCES = {
    "Microsoft.ManagedIdentity/userAssignedIdentities": "identity",
    "Microsoft.ContainerRegistry/registries": "registry",
    "Microsoft.DBforPostgreSQL/flexibleServers": "postgres",
    "Microsoft.DBforPostgreSQL/flexibleServers/administrators": "postgres",
    "Microsoft.DBforPostgreSQL/flexibleServers/databases": "postgres",
    "Microsoft.KeyVault/vaults": "keyvault",
    "Microsoft.ServiceBus/namespaces": "servicebus",
    "Microsoft.ServiceBus/namespaces/topics": "servicebus",
    "Microsoft.ServiceBus/namespaces/topics/subscriptions": "servicebus",
    "Microsoft.AppConfiguration/configurationStores": "appconfig",
    "Microsoft.Communication/emailServices": "email",
    "Microsoft.Communication/emailServices/domains": "email",
    "Microsoft.Communication/communicationServices": "email",
    "Microsoft.OperationalInsights/workspaces": "monitoring",
    "Microsoft.Insights/components": "monitoring",
    "Microsoft.App/managedEnvironments": "environment",
    "Microsoft.Insights/diagnosticSettings": "environment",
    "Microsoft.App/managedEnvironments/daprComponents": "dapr-components",
    "Microsoft.App/containerApps": "apps",
    "Microsoft.Insights/workbooks": "workbook",
    "Microsoft.Insights/metricAlerts": "alerts",
    "Microsoft.Insights/scheduledQueryRules": "alerts",
    "Microsoft.DurableTask/schedulers": "durabletask",
    "Microsoft.DurableTask/schedulers/taskHubs": "durabletask",
    "Microsoft.Cdn/profiles": "frontdoor",
    "Microsoft.Network/FrontDoorWebApplicationFirewallPolicies": "frontdoor",
}


@pytest.mark.parametrize("rtype", sorted(RESOURCES))
def test_every_listed_resource_is_created(rtype: str) -> None:
    files = declared_resources().get(rtype.lower(), [])
    assert MODULES / f"{RESOURCES[rtype]}.bicep" in files, f"{rtype} not created"


#: Data plane -> (module, built-in role definition ids the apps' identity must hold there).
ROLES = {
    "registry pull": ("registry", {"7f951dda-4ed3-4680-a7ca-43fe172d538d"}),  # AcrPull
    "key vault": ("keyvault", {"4633458b-17de-408a-b874-0445c86b69e6"}),  # Secrets User
    "service bus": (
        "servicebus",
        {
            "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",  # Data Sender
            "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",  # Data Receiver
            "090c5cfd-751d-490a-894a-3ce6f1109419",  # Data Owner (broadcast topics)
        },
    ),
    "app configuration": (
        "appconfig",
        {
            "516239f1-63e1-4d78-a4de-a74fb236a071",  # Data Reader
            "5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b",  # Data Owner (backoffice writes)
        },
    ),
    "durable task scheduler": ("durabletask", {"0ad04412-c4d5-4796-b79c-f76d14c8d402"}),
    "email": (
        "email",
        {"09976791-48a7-449e-bb21-39d1a415f350"},
    ),  # Communication and Email Service Owner
    "logs": ("operations", {"73c42c96-874c-492b-b04d-ab87d138a893"}),  # Log Analytics Reader
}


@pytest.mark.parametrize("plane", sorted(ROLES))
def test_the_apps_identity_holds_a_role_on_each_data_plane(plane: str) -> None:
    module, role_ids = ROLES[plane]
    text = source(MODULES / f"{module}.bicep")
    for role in role_ids:
        assert f"'{role}'" in text, f"{plane}: role {role} not assigned"
    assignments = re.findall(
        r"^resource \w+ 'Microsoft\.Authorization/roleAssignments@[\w-]+' = [^\n]*\{", text, re.M
    )
    assert assignments, plane
    assert "principalId: identityPrincipalId" in text
    # ... and main gives that module the apps' identity.
    called = {p.stem: passed for p, passed in modules().values()}
    assert called[module]["identityPrincipalId"] == "identity.outputs.principalId", plane


def test_postgres_is_entra_only_with_the_apps_identity_as_admin() -> None:
    text = source(MODULES / "postgres.bicep")
    assert "activeDirectoryAuth: 'Enabled'" in text
    assert "passwordAuth: 'Disabled'" in text
    admin = block(text, text.index("flexibleServers/administrators@"))
    assert "name: identityPrincipalId" in admin
    assert "principalType: 'ServicePrincipal'" in admin
    assert "principalName: identityName" in admin
    passed = modules()["postgres"][1]
    assert passed["identityName"] == "identity.outputs.name"
    # The components sign in as that admin, to the database created here.
    database = re.search(r"var databaseName = '(\w+)'", text).group(1)
    bicep_components = (MODULES / "dapr-components.bicep").read_text()
    for conn in re.findall(r"'host=\$\{postgresHost\}[^']*'", bicep_components):
        assert "user=${identityName}" in conn and f"dbname={database}" in conn
        assert "password" not in conn
    for doc in components(AZURE).values():
        meta = {m["name"]: str(m.get("value", "")) for m in doc["spec"]["metadata"]}
        if doc["spec"]["type"] == "state.postgresql":
            assert meta["useAzureAD"] == "true" and f"dbname={database}" in meta["connectionString"]


def test_registry_and_vault_take_no_keys_or_access_policies() -> None:
    registry = source(MODULES / "registry.bicep")
    assert "adminUserEnabled: false" in registry
    vault = source(MODULES / "keyvault.bicep")
    assert "enableRbacAuthorization: true" in vault
    assert "accessPolicies" not in vault
    for module in ("servicebus", "appconfig", "email"):
        assert "disableLocalAuth: true" in source(MODULES / f"{module}.bicep"), module


FORBIDDEN = [
    r"listKeys\(",
    r"listConnectionStrings?\(",
    r"listCredentials\(",
    r"adminPassword",
    r"administratorLoginPassword",
    r"adminUserEnabled: true",
    r"sharedKey",
    r"primaryKey",
    r"SharedAccessKey",
    r"AccountKey=",
    r"disableLocalAuth: false",
    r"passwordAuth: 'Enabled'",
    r"password=",
]


def deployment_files() -> list[Path]:
    return [
        *sorted(BICEP.rglob("*.bicep")),
        *sorted(BICEP.glob("*.json")),
        ROOT / "azure.yaml",
    ]


@pytest.mark.parametrize("path", deployment_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_keys_passwords_or_connection_string_secrets(path: Path) -> None:
    text = source(path) if path.suffix == ".bicep" else path.read_text()
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text, re.I), f"{pattern} in {path.name}"
    # No Key Vault secret or Container App secret carries a connection string.
    for m in re.finditer(r"'Microsoft\.KeyVault/vaults/secrets@", text):
        assert "connection" not in block(text, m.end()).lower()
    assert not re.search(r"secrets: \[[^\]]*connection", text, re.I | re.S)


# -- secrets ---------------------------------------------------------------------------------
def secret_table() -> dict[str, dict[str, str]]:
    return json.loads((BICEP / "secrets.json").read_text())["secrets"]


def test_every_secret_the_code_reads_has_a_key_vault_entry() -> None:
    table = secret_table()
    in_files = {s for values in local_secret_files().values() for s in values}
    assert set(table) == {s.value for s in Secret} == in_files
    for name, row in table.items():
        assert row["kind"] in {"generated", "placeholder", "deployment", "local-only"}, name
        assert row["store"] == SECRET_STORE[name], name
        if row["kind"] == "deployment":
            assert row["value"] and "password" not in name, name
        else:
            assert "value" not in row, f"{name}: only values the deployment knows are written"


def test_secrets_azure_reads_are_not_local_only() -> None:
    """A secret an Azure component references is created in Key Vault (not `local-only`)."""
    table = secret_table()
    refs = {
        m["secretKeyRef"]["name"]
        for doc in components(AZURE).values()
        for m in doc["spec"]["metadata"]
        if "secretKeyRef" in m
    }
    refs |= set(re.findall(r"secretRef: '([\w-]+)'", source(MODULES / "dapr-components.bicep")))
    assert refs
    for name in refs:
        assert table[name]["kind"] != "local-only", name


def test_key_vault_entries_are_written_by_bicep_or_the_postprovision_hook() -> None:
    vault = source(MODULES / "keyvault.bicep")
    assert "loadJsonContent('../secrets.json')" in vault
    assert "s.value.kind == 'deployment'" in vault
    assert "'Microsoft.KeyVault/vaults/secrets@" in vault
    main = source(MAIN)
    hook = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]["postprovision"]
    for output in (
        "AZURE_KEY_VAULT_NAME",
        "KEY_VAULT_GENERATED_SECRETS",
        "KEY_VAULT_PLACEHOLDER_SECRETS",
    ):
        assert re.search(rf"^output {output} string = ", main, re.M), output
        for shell in ("posix", "windows"):
            assert output in hook[shell]["run"], (shell, output)
    for shell in ("posix", "windows"):
        run = hook[shell]["run"]
        assert "SecretNotFound" in run  # created only when missing
        assert "placeholder-change-me" in run


def test_placeholder_value_is_refused_by_the_apps_outside_local_mode() -> None:
    from apps.platform.settings import PLACEHOLDER_MARKERS

    assert any(marker in "placeholder-change-me" for marker in PLACEHOLDER_MARKERS)


def app_table() -> dict:
    return json.loads((ROOT / "deploy" / "apps.json").read_text())


# -- azd ----------------------------------------------------------------------------------------
def azure_yaml() -> dict:
    return yaml.safe_load((ROOT / "azure.yaml").read_text())


def test_azd_services_are_the_run_file_apps() -> None:
    doc = azure_yaml()
    assert set(doc["services"]) == set(run_file_apps()) | {"web"}
    images = set()
    for name, svc in doc["services"].items():
        assert svc["host"] == "containerapp", name
        assert svc["language"] == "python", name
        assert (ROOT / svc["project"] / svc["docker"]["path"]).is_file(), name
        images.add(svc["docker"]["image"])
    assert len(images) == 1  # one image, the command picks the app


def test_azd_infra_is_the_bicep_folder() -> None:
    infra = azure_yaml()["infra"]
    assert infra["provider"] == "bicep"
    assert (ROOT / infra["path"] / f"{infra.get('module', 'main')}.bicep").is_file()
    assert (ROOT / infra["path"] / f"{infra.get('module', 'main')}.parameters.json").is_file()


def test_azd_finds_the_registry_and_the_apps() -> None:
    """azd pushes to AZURE_CONTAINER_REGISTRY_ENDPOINT and finds each service's Container App
    by name (app-id = service name) or the `azd-service-name` tag."""
    assert re.search(r"^output AZURE_CONTAINER_REGISTRY_ENDPOINT string = ", source(MAIN), re.M)
    assert "tags: { 'azd-service-name': a.appId }" in source(MODULES / "apps.bicep")
    assert set(azure_yaml()["services"]) == {a["appId"] for a in app_table()["apps"]}


# -- workbook and alerts ----------------------------------------------------------------------
def workbook() -> dict:
    return json.loads((BICEP / "workbook.json").read_text())


def test_workbook_shows_what_operators_need() -> None:
    items = {item["name"]: item for item in workbook()["items"]}
    for name in ("saga-outcomes", "error-rates", "latency-p95", "dlq-depth", "ingress-5xx"):
        assert name in items, name
    metric = items["dlq-depth"]["content"]["metrics"][0]
    assert metric["metric"].endswith("--DeadletteredMessages")
    assert metric["splitBy"] == "EntityName"
    saga = items["saga-outcomes"]["content"]["query"]
    assert f"workflow == '{WorkflowName.CHECKOUT}'" in saga
    # Every placeholder of the file is filled in by workbook.bicep.
    module = source(MODULES / "workbook.bicep")
    for placeholder in set(re.findall(r"__[A-Z_]+__", (BICEP / "workbook.json").read_text())):
        assert f"'{placeholder}'" in module, placeholder


def test_workbook_reads_the_request_lines_the_apps_log() -> None:
    """Error rates and p95 come from the apps' JSON request lines: the field names the
    middleware logs (apps/platform/http.py) are the ones the queries parse."""
    http = (ROOT / "apps" / "platform" / "http.py").read_text()
    call = http[http.index('log.info(\n                        "request"') :][:400]
    for field in ("status=", "duration_ms="):
        assert field in call
    query = {i["name"]: i for i in workbook()["items"]}["latency-p95"]["content"]["query"]
    assert "tostring(e.event) == 'request'" in query
    assert "e.status" in query and "e.duration_ms" in query


def test_alerts_cover_dead_letters_5xx_and_stuck_sagas() -> None:
    text = source(MODULES / "alerts.bicep")
    assert "metricName: 'DeadletteredMessages'" in text
    assert "metricName: 'Requests'" in text and "values: [ '5xx' ]" in text
    assert "'Microsoft.Insights/scheduledQueryRules@" in text
    assert "ContainerAppName == 'checkout'" in text
    main = source(MAIN)
    assert "var appTable = loadJsonContent('../deploy/apps.json')" in main
    assert "var publicApps = map(filter(appTable.apps, a => a.external), a => a.appId)" in main
    assert "publicAppIds: map(publicApps, " in main
    assert {a["appId"] for a in app_table()["apps"] if a["external"]} == {"storefront", "web"}


def test_the_stuck_saga_alert_matches_a_line_checkout_logs() -> None:
    text = source(MODULES / "alerts.bicep")
    phrase = re.search(r"ContainerName == 'checkout' and Log has '([^']+)'", text).group(1)
    checkout = "".join(p.read_text() for p in (ROOT / "apps" / "checkout").glob("*.py"))
    assert f'"{phrase}"' in checkout


def test_operations_api_queries_the_table_the_environment_writes() -> None:
    """The environment sends console logs through diagnostic settings (no workspace key), to
    the resource-specific table ContainerAppConsoleLogs; the operations API must read it."""
    assert "destination: 'azure-monitor'" in source(MODULES / "environment.bicep")
    from apps.backoffice.operations_adapters import kql_for
    from apps.contracts.names import AppId

    query = kql_for(AppId.CHECKOUT, "app", 10)
    assert query.startswith("ContainerAppConsoleLogs |") or query.startswith(
        "ContainerAppConsoleLogs\n"
    )
    assert "ContainerAppName ==" in query and "_s ==" not in query


def test_readme_costs_use_the_sizes_of_the_app_table() -> None:
    """The cost section prices the replicas `deploy/apps.json` asks for at min replicas."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploy to Azure") :]
    section = section[: section.index("\n## ", 3)]
    m = re.search(r"\((\d+(?:\.\d+)?) vCPU / (\d+(?:\.\d+)?) GiB over (\d+) apps at min", section)
    assert m, "the sizes line is missing"
    apps = app_table()["apps"]
    cpu = sum(float(a["cpu"]) * a["minReplicas"] for a in apps)
    memory = sum(float(a["memory"].removesuffix("Gi")) * a["minReplicas"] for a in apps)
    assert (float(m.group(1)), float(m.group(2)), int(m.group(3))) == (cpu, memory, len(apps))
    for step in ("azd auth login", "azd env new", "azd env set", "azd up", "azd down --purge"):
        assert step in section, step
