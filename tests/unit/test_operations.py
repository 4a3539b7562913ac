"""The operations API's pure parts: shaping sidecar metadata and health answers, the bounded
fan-out over every app, the outbox backlog, finding and tailing log files, the Log Analytics
query, and who may call an app's `/ops/*` routes."""

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.backoffice.operations import (
    Answer,
    OperationsService,
    app_named,
    health_of,
    service_info,
    sidecar_metadata,
)
from apps.backoffice.operations_adapters import kql_for, oldest_first
from apps.backoffice.operations_settings import OperationsSettings
from apps.contracts.errors import NotFound
from apps.contracts.names import AppId
from apps.contracts.operations import LogLines, LogSource, RestartAccepted
from apps.platform.http import install_common
from apps.platform.ops import OutboxGauge, backlog, find_log, tail

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

#: What daprd 1.16's `GET /v1.0/metadata` answers for an app hosting actors.
METADATA: dict[str, Any] = {
    "id": "cart",
    "runtimeVersion": "1.16.3",
    "enabledFeatures": ["SchedulerReminders"],
    "actorRuntime": {
        "runtimeStatus": "RUNNING",
        "activeActors": [{"type": "CartActor", "count": 3}],
        "hostReady": True,
        "placement": "placement: connected",
    },
    "components": [
        {
            "name": "statestore",
            "type": "state.postgresql",
            "version": "v2",
            "capabilities": ["ETAG", "TRANSACTIONAL", "ACTOR"],
        },
        {"name": "pubsub", "type": "pubsub.redis", "version": "v1"},
    ],
    "subscriptions": [
        {
            "pubsubname": "pubsub",
            "topic": "product-events",
            "deadLetterTopic": "dead-letter-events",
            "rules": [{"match": "", "path": "/events/product-events"}],
            "type": "PROGRAMMATIC",
        }
    ],
    "appConnectionProperties": {
        "port": 8004,
        "protocol": "http",
        "channelAddress": "127.0.0.1",
        "health": {
            "healthCheckPath": "/health/live",
            "healthProbeInterval": "5s",
            "healthThreshold": 3,
        },
    },
}


def test_sidecar_metadata_is_what_the_sidecar_says() -> None:
    meta = sidecar_metadata(METADATA)
    assert meta.app_id == "cart" and meta.runtime_version == "1.16.3"
    assert [(a.type, a.count) for a in meta.actors] == [("CartActor", 3)]
    assert meta.actor_runtime_status == "RUNNING"
    assert {c.name: c.type for c in meta.components} == {
        "statestore": "state.postgresql",
        "pubsub": "pubsub.redis",
    }
    assert "ACTOR" in meta.components[0].capabilities
    sub = meta.subscriptions[0]
    assert (sub.pubsub_name, sub.topic, sub.routes) == (
        "pubsub",
        "product-events",
        ["/events/product-events"],
    )
    assert sub.dead_letter_topic == "dead-letter-events"
    assert meta.app_connection is not None and meta.app_connection.port == 8004
    assert meta.app_connection.health_check_path == "/health/live"


def test_metadata_of_an_older_sidecar_and_of_a_bare_one() -> None:
    legacy = {
        "id": "orders",
        "runtimeVersion": "1.12.0",
        "actors": [{"type": "OrderActor", "count": 2}],
    }
    assert [(a.type, a.count) for a in sidecar_metadata(legacy).actors] == [("OrderActor", 2)]
    bare = sidecar_metadata({"id": "fraud", "runtimeVersion": "1.16.3"})
    assert bare.actors == [] and bare.components == [] and bare.app_connection is None


def _error(status: int, problems: list[str]) -> Answer:
    body = {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "Not ready",
            "details": {"problems": problems},
        }
    }
    return Answer(status, body)


def test_health_up_degraded_down() -> None:
    up = health_of(
        AppId.FRAUD,
        Answer(200, {"status": "ok"}),
        Answer(200, {"status": "ready", "model_version": "v3"}),
        4.26,
    )
    assert (up.status, up.live, up.ready, up.details, up.latency_ms) == (
        "up",
        True,
        True,
        {"model_version": "v3"},
        4.3,
    )
    degraded = health_of(AppId.CART, Answer(200), _error(503, ["components not loaded: pubsub"]), 1)
    assert degraded.status == "degraded" and degraded.problems == ["components not loaded: pubsub"]
    down = health_of(AppId.CART, Answer(0), Answer(0), 3000)
    assert down.status == "down" and down.problems == ["no answer in time"]
    unreachable = health_of(AppId.CART, _error(503, []), Answer(0), 1)
    assert unreachable.status == "down" and unreachable.problems == ["Not ready"]


def test_service_info_shapes() -> None:
    down = service_info(AppId.CART, _error(503, []), Answer(0))
    assert down.status == "down" and down.sidecar is None and down.error
    no_outbox = service_info(AppId.CART, Answer(200, METADATA), Answer(200, None))
    assert no_outbox.status == "up" and no_outbox.outbox is None and no_outbox.sidecar
    counted = {"pending_documents": 1, "pending_events": 2, "outboxes": ["users"]}
    with_outbox = service_info(AppId.IDENTITY, Answer(200, METADATA), Answer(200, counted))
    assert with_outbox.outbox is not None and with_outbox.outbox.pending_events == 2
    failed = service_info(AppId.IDENTITY, Answer(200, METADATA), Answer(0))
    assert failed.status == "degraded" and failed.sidecar is not None


def test_unknown_app_is_not_found() -> None:
    assert app_named("recommendations") is AppId.RECOMMENDATIONS
    with pytest.raises(NotFound):
        app_named("mainframe")


class SlowOrDownApps:
    """Our AppProbe port: `hang` never answers, `down` is unreachable, the rest are fine."""

    def __init__(self, hang: AppId, down: AppId) -> None:
        self.hang, self.down = hang, down

    async def call(self, app_id: str, path: str, method: str = "GET", **params: Any) -> Answer:
        if app_id == self.hang:
            await asyncio.sleep(3600)
        if app_id == self.down:
            return _error(503, [])
        if path == "ops/metadata":
            return Answer(200, {**METADATA, "id": app_id})
        if path == "ops/outbox":
            return Answer(200, None)
        return Answer(200, {"status": "ok"})


class Unused:
    async def lines(self, app_id: AppId, source: LogSource, lines: int) -> LogLines:
        raise AssertionError("not asked")

    async def restart(self, app_id: AppId) -> RestartAccepted:
        raise AssertionError("not asked")


def test_every_app_is_asked_at_once_and_a_hung_one_shows_as_down() -> None:
    probe = SlowOrDownApps(hang=AppId.FORECAST, down=AppId.PRICING)
    service = OperationsService(probe, Unused(), Unused(), 0.3, lambda: NOW)
    started = time.monotonic()
    health = asyncio.run(service.health())
    services = asyncio.run(service.services())
    assert time.monotonic() - started < 2.0  # two rounds of one bounded wait, not 13 each
    by_app = {a.app_id: a.status for a in health.apps}
    assert set(by_app) == set(AppId)
    assert by_app[AppId.FORECAST] == by_app[AppId.PRICING] == "down"
    assert all(s == "up" for a, s in by_app.items() if a not in (AppId.FORECAST, AppId.PRICING))
    assert health.status == "degraded"
    listed = {a.app_id: a for a in services.apps}
    assert listed[AppId.FORECAST].status == "down" and listed[AppId.CART].sidecar is not None
    assert listed[AppId.CART].sidecar.app_id == "cart"  # type: ignore[union-attr]


def test_outbox_backlog_counts_pending_entries() -> None:
    def entry(at: str) -> dict[str, Any]:
        return {"topic": "user-events", "event": {"event_id": at, "occurred_at": at}}

    gauges = [
        OutboxGauge("users", {}, "profile.user_id"),
        OutboxGauge("batches", {}, "key", entries="events"),
    ]
    found = {
        "users": [
            {"outbox": [entry("2026-12-02T00:00:05+00:00"), entry("2026-12-02T00:00:06+00:00")]},
            {"outbox": []},  # cleared meanwhile
        ],
        "batches": [{"events": [entry("2026-12-02T00:00:01+00:00")]}],
    }
    counted = backlog(found, gauges)
    assert (counted.pending_documents, counted.pending_events) == (2, 3)
    assert counted.oldest_pending_at == datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)
    assert counted.outboxes == ["users", "batches"]
    empty = backlog({}, gauges)
    assert (empty.pending_events, empty.oldest_pending_at) == (0, None)


def test_log_files_found_beside_stdout_or_in_the_run_dir(tmp_path: Path) -> None:
    harness = tmp_path / "logs"
    harness.mkdir()
    app_log = harness / "cart_app.log"
    app_log.write_text("a\n")
    (harness / "cart_daprd.log").write_text("d\n")
    (harness / "cart-2_daprd.log").write_text("other replica\n")
    assert find_log("cart", "app", app_log, []) == app_log
    assert find_log("cart", "daprd", app_log, []) == harness / "cart_daprd.log"
    run = tmp_path / ".dapr" / "logs"  # dapr run -f: <app>_<source>_<time>.log
    run.mkdir(parents=True)
    old, new = run / "cart_app_20261201.log", run / "cart_app_20261202.log"
    old.write_text("old\n")
    new.write_text("new\n")
    os.utime(old, (1, 1))
    assert find_log("cart", "app", None, [run]) == new
    assert find_log("orders", "app", None, [run]) is None
    assert find_log("cart", "daprd", None, [run]) is None


def test_tail_reads_only_the_end(tmp_path: Path) -> None:
    path = tmp_path / "x_app.log"
    path.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(path, 3) == ["line 997", "line 998", "line 999"]
    assert tail(path, 5000)[0] == "line 0"
    window = tail(path, 5000, max_bytes=30)  # a cut first line is dropped
    assert window == ["line 997", "line 998", "line 999"]


def test_log_analytics_query_and_order() -> None:
    query = kql_for(AppId.CART, "daprd", 50)
    assert query.startswith("ContainerAppConsoleLogs |")
    assert "ContainerAppName == 'cart'" in query and "ContainerName == 'daprd'" in query
    assert "top 50 by TimeGenerated desc" in query
    assert "ContainerName == 'cart'" in kql_for(AppId.CART, "app", 1)
    assert oldest_first([["t3", "c"], ["t2", "b"], ["t1", "a"]]) == ["a", "b", "c"]


def test_azure_settings_need_their_targets() -> None:
    with pytest.raises(ValueError, match="ops_subscription_id"):
        OperationsSettings(ops_platform="azure")
    ok = OperationsSettings(
        ops_platform="azure",
        ops_subscription_id="sub",
        ops_resource_group="rg",
        ops_log_workspace_id="ws",
    )
    assert ok.ops_platform == "azure"


def test_only_the_operations_api_through_the_sidecar_may_call_ops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_API_TOKEN", "app-token")
    app = FastAPI()
    install_common(app, internal=False)  # the storefront: no token middleware in front
    token = {"dapr-api-token": "app-token"}
    with TestClient(app) as client:
        assert client.get("/ops/outbox").status_code == 403
        forged = {"dapr-caller-app-id": "backoffice"}  # a client sending the header itself
        assert client.get("/ops/outbox", headers=forged).status_code == 403
        other = client.get("/ops/outbox", headers={**token, "dapr-caller-app-id": "cart"})
        assert other.status_code == 403 and other.json()["error"]["code"] == "FORBIDDEN"
        ok = client.get("/ops/outbox", headers={**token, "dapr-caller-app-id": "backoffice"})
        assert ok.status_code == 200 and ok.json() is None  # no document outbox here
        bad = client.get(
            "/ops/logs", params={"lines": 0}, headers={**token, "dapr-caller-app-id": "backoffice"}
        )
        assert bad.status_code == 400
    monkeypatch.delenv("APP_API_TOKEN")
    with TestClient(app) as client:
        refused = client.get("/ops/outbox", headers={"dapr-caller-app-id": "backoffice"})
        assert refused.status_code == 403  # no token configured: no operations at all


def test_a_caller_id_sent_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_TOKEN", "app-token")
    app = FastAPI()
    install_common(app, internal=False)
    headers = [
        ("dapr-api-token", "app-token"),
        ("dapr-caller-app-id", "backoffice"),  # what a caller wrote itself
        ("dapr-caller-app-id", "storefront"),  # what its sidecar added
    ]
    with TestClient(app) as client:
        assert client.get("/ops/outbox", headers=headers).status_code == 403
