"""The whole system as developers run it: `dapr run -f` (the real CLI) on the apps of
dapr.yaml, against stores and a control plane of its own.

The run file is dapr.yaml with the ports moved to free ones and the resources pointed at the
test stores (the harness's copy of components/local), so it never collides with a running
`./taskw up`.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from scripts import seed as seed_script
from tests.harness import DAPR_BIN, ROOT, Cluster, HarnessError, free_port, tail


@dataclass
class System:
    cluster: Cluster
    run_file: Path
    ports: dict[str, dict[str, int]]

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.ports['storefront']['app']}", timeout=30
        )

    def staff(self) -> dict[str, str]:
        """Signed in as the admin identity creates on first start (local secrets)."""
        password = json.loads(
            (ROOT / "components" / "local" / "secrets.identity.json").read_text()
        )["identity-admin-password"]
        with self.api() as api:
            r = api.post(
                "/api/auth/login",
                json={"email": "admin@smartcommerce.example", "password": password},
            )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def dapr(self, *args: str) -> str:
        return subprocess.run(
            [str(DAPR_BIN / "dapr"), *args], capture_output=True, text=True, timeout=60, check=True
        ).stdout


def _run_file(cluster: Cluster) -> tuple[dict[str, object], dict[str, dict[str, int]]]:
    doc = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    doc["common"]["resourcesPath"] = str(cluster.resources)
    doc["common"]["configFilePath"] = str(cluster.workdir / "config.yaml")
    doc["common"]["placementHostAddress"] = f"127.0.0.1:{cluster.env['SC_PLACEMENT_PORT']}"
    doc["common"]["schedulerHostAddress"] = f"127.0.0.1:{cluster.env['SC_SCHEDULER_PORT']}"
    ports: dict[str, dict[str, int]] = {}
    for app in doc["apps"]:
        p = {"app": free_port(), "http": free_port(), "grpc": free_port(), "metrics": free_port()}
        ports[app["appID"]] = p
        app.update(
            appDirPath=str(ROOT),
            appPort=p["app"],
            daprHTTPPort=p["http"],
            daprGRPCPort=p["grpc"],
            metricsPort=p["metrics"],
        )
        if app["appID"] == "payments":  # the test cluster's stripe-mock, not ./taskw up's
            app.setdefault("env", {})["PAYMENTS_STRIPE_API_BASE"] = (
                f"http://127.0.0.1:{cluster.env['SC_STRIPE_PORT']}"
            )
        command = list(app["command"])
        command[command.index("--port") + 1] = str(p["app"])
        command[command.index("--host") + 1] = "127.0.0.1"
        app["command"] = command
    return doc, ports


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    cluster = Cluster.create()
    proc: subprocess.Popen[bytes] | None = None
    try:
        cluster.start_infrastructure()
        doc, ports = _run_file(cluster)
        run_file = cluster.workdir / "dapr.e2e.yaml"
        run_file.write_text(yaml.safe_dump(doc))
        cluster.logs.mkdir(parents=True, exist_ok=True)
        with open(cluster.logs / "dapr-run.log", "ab") as log:
            proc = subprocess.Popen(
                [str(DAPR_BIN / "dapr"), "run", "-f", str(run_file)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={
                    **os.environ,
                    "PATH": f"{DAPR_BIN}:{os.environ['PATH']}",
                    "APP_API_TOKEN": cluster.app_token,
                },
            )
        deadline = time.monotonic() + 120
        for app_id, p in ports.items():
            while True:
                try:
                    if (
                        httpx.get(
                            f"http://127.0.0.1:{p['app']}/health/ready", timeout=2
                        ).status_code
                        == 200
                    ):
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise HarnessError(
                        f"{app_id} not ready:\n{tail(cluster.logs / 'dapr-run.log')}"
                    )
                time.sleep(0.5)
        seed_script.main(
            ["--products", "500", "--sidecar", f"http://127.0.0.1:{ports['catalog']['http']}"]
        )
        yield System(cluster, run_file, ports)
    finally:
        if proc is not None and proc.poll() is None:
            subprocess.run(
                [str(DAPR_BIN / "dapr"), "stop", "-f", str(cluster.workdir / "dapr.e2e.yaml")],
                capture_output=True,
                timeout=60,
                check=False,
            )
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        cluster.stop()
        cluster.remove()
