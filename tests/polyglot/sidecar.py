"""One more `daprd` in a running test cluster, for a caller that is not one of our apps: a
Node.js service (tests/polyglot/node) that only calls out, so no app port, app channel or
app health check.

It is the daprd `Cluster.start_app` (tests/harness.py) starts, with the same resources,
configuration, placement and scheduler, listening on loopback only and requiring the
cluster's Dapr API token; keep the flags in step with `start_app`. A new app id needs no
change to components/: their scopes leave it without state store, pub/sub and secrets,
which a caller of service invocation and actors does not need, no access-control policy
limits who may invoke an app, and actors are reached through any sidecar connected to
placement (daprd: "actor hosting disabled, but invocation enabled").
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness import DAPR_BIN, READY_TIMEOUT, ROOT, Cluster, HarnessError, free_port, tail


@dataclass
class ExtraSidecar:
    app_id: str
    http_port: int
    grpc_port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self, cluster: Cluster) -> dict[str, str]:
        """What a Dapr SDK reads to reach this sidecar (ports and API token)."""
        return {
            "DAPR_HOST": "127.0.0.1",
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "DAPR_API_TOKEN": cluster.dapr_api_token,
        }


def start(cluster: Cluster, app_id: str) -> ExtraSidecar:
    http_port, grpc_port = free_port(), free_port()
    cluster.logs.mkdir(parents=True, exist_ok=True)
    log = cluster.logs / f"{app_id}_daprd.log"
    cmd = [
        str(DAPR_BIN / "daprd"),
        "--app-id",
        app_id,
        "--dapr-http-port",
        str(http_port),
        "--dapr-grpc-port",
        str(grpc_port),
        "--dapr-internal-grpc-port",
        str(free_port()),
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--metrics-port",
        str(free_port()),
        "--resources-path",
        str(cluster.resources),
        "--config",
        str(cluster.workdir / "config.yaml"),
        "--placement-host-address",
        f"127.0.0.1:{cluster.env['SC_PLACEMENT_PORT']}",
        "--scheduler-host-address",
        f"127.0.0.1:{cluster.env['SC_SCHEDULER_PORT']}",
        "--log-level",
        "info",
    ]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, "DAPR_API_TOKEN": cluster.dapr_api_token},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    sidecar = ExtraSidecar(app_id, http_port, grpc_port, log, process)
    try:
        _wait_ready(cluster, sidecar)
    except BaseException:
        stop(sidecar)
        raise
    return sidecar


def _wait_ready(cluster: Cluster, sidecar: ExtraSidecar, timeout: float = READY_TIMEOUT) -> None:
    """Up, and connected to placement: an actor call made before the placement tables
    arrive would fail for a reason that has nothing to do with the caller."""
    deadline = time.monotonic() + timeout
    last = ""
    with httpx.Client(
        base_url=sidecar.dapr_url, headers=cluster.sidecar_headers, timeout=2
    ) as dapr:
        while time.monotonic() < deadline:
            if sidecar.process.poll() is not None:
                raise HarnessError(
                    f"{sidecar.app_id} daprd exited ({sidecar.process.returncode}):\n"
                    f"{tail(sidecar.log)}"
                )
            try:
                r = dapr.get("/v1.0/metadata")
                actors = r.json().get("actorRuntime", {}) if r.status_code == 200 else {}
                if actors.get("runtimeStatus") == "RUNNING" and "connected" in str(
                    actors.get("placement", "")
                ):
                    return
                last = f"{r.status_code} {r.text[:300]}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            time.sleep(0.25)
    raise HarnessError(
        f"{sidecar.app_id} daprd not ready after {timeout}s (last: {last})\n{tail(sidecar.log)}"
    )


def stop(sidecar: ExtraSidecar) -> None:
    if sidecar.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sidecar.process.pid, signal.SIGTERM)
    try:
        sidecar.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sidecar.process.pid, signal.SIGKILL)
        sidecar.process.wait(timeout=10)


@contextlib.contextmanager
def running(cluster: Cluster, app_id: str) -> Iterator[ExtraSidecar]:
    """An extra sidecar for the block, stopped when it ends (even on failure)."""
    sidecar = start(cluster, app_id)
    try:
        yield sidecar
    finally:
        stop(sidecar)
