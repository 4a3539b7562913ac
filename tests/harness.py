"""Starts a real SmartCommerce cluster for tests: PostgreSQL, Redis, placement, scheduler,
and each app from dapr.yaml with its own `daprd`, all on free loopback ports.

Stores and control plane come from the same scripts `./taskw up` uses (scripts/stores.sh,
scripts/controlplane.sh); apps run the command dapr.yaml gives them with the ports
swapped. Components are components/local with two test-only changes: the secrets file
(connection strings with the test ports) and the name-resolution database path, so a
test cluster never talks to `task up` or to another test run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
DAPR_BIN = Path(os.environ.get("DAPR_HOME", Path.home() / ".dapr")) / "bin"
READY_TIMEOUT = float(os.environ.get("SC_TEST_READY_TIMEOUT", "90"))


class HarnessError(RuntimeError):
    pass


#: Ports are drawn below Linux's ephemeral range (32768+), so the outgoing connections the
#: stores and sidecars open cannot take a port between the moment it is chosen and bound.
PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def free_port(consecutive: int = 1) -> int:
    """A free loopback port (and the `consecutive - 1` after it), never handed out before."""
    rng = random.Random()
    for _ in range(2000):
        port = rng.randrange(PORT_RANGE[0], PORT_RANGE[1] - consecutive)
        wanted = range(port, port + consecutive)
        if any(p in _handed_out for p in wanted):
            continue
        if all(_bindable(p) for p in wanted):
            _handed_out.update(wanted)
            return port
    raise HarnessError("no free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class AppSpec:
    app_id: str
    command: list[str]
    read_buffer_kb: int | None = None


@dataclass
class AppProcess:
    spec: AppSpec
    app_port: int
    http_port: int
    grpc_port: int
    internal_grpc_port: int
    metrics_port: int
    env: dict[str, str]
    daprd: subprocess.Popen[bytes] | None = None
    app: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass
class Cluster:
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    apps: dict[str, AppProcess] = field(default_factory=dict)
    #: Makes a staff bearer token for the storefront's `/api/staff/*` (see `client`).
    staff_token: Callable[[], str] | None = None

    # -- paths -----------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def resources(self) -> Path:
        return self.workdir / "resources"

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def create(cls) -> Cluster:
        workdir = Path(tempfile.mkdtemp(prefix="smartcommerce-test-"))
        workdir.chmod(0o755)  # PostgreSQL runs as `postgres` when the tests run as root
        pg, redis = free_port(), free_port()
        etcd, stripe = free_port(consecutive=2), free_port(consecutive=2)
        env = {
            "SC_RUN_DIR": str(workdir),
            "SC_PG_PORT": str(pg),
            "SC_REDIS_PORT": str(redis),
            "SC_PG_FAST": "1",
            "SC_PLACEMENT_PORT": str(free_port()),
            "SC_PLACEMENT_HEALTH_PORT": str(free_port()),
            "SC_PLACEMENT_METRICS_PORT": str(free_port()),
            "SC_PLACEMENT_RAFT_PORT": str(free_port()),
            "SC_SCHEDULER_PORT": str(free_port()),
            "SC_SCHEDULER_HEALTH_PORT": str(free_port()),
            "SC_SCHEDULER_METRICS_PORT": str(free_port()),
            "SC_SCHEDULER_ETCD_PORT": str(etcd),
            "SC_STRIPE_PORT": str(stripe),
            # Mailpit: SMTP for the `email` binding, HTTP for reading what was sent.
            "SC_SMTP_PORT": str(free_port()),
            "SC_MAIL_UI_PORT": str(free_port()),
            # Dapr app API token: daprd sends it to its app, internal apps refuse calls
            # without it (only their own sidecar may call them).
            "SC_APP_API_TOKEN": secrets.token_urlsafe(24),
            # Dapr API token: every sidecar refuses API calls without it (apps send it).
            "SC_DAPR_API_TOKEN": secrets.token_urlsafe(24),
        }
        return cls(workdir=workdir, env=env)

    def _script(self, name: str, action: str) -> None:
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / name), action],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=180,
        )
        if proc.returncode != 0:
            raise HarnessError(f"{name} {action} failed:\n{proc.stdout}\n{proc.stderr}")

    def start_infrastructure(self) -> None:
        for binary in ("daprd", "placement", "scheduler"):
            if not (DAPR_BIN / binary).exists():
                raise HarnessError(f"{DAPR_BIN / binary} missing: run `./taskw setup` first")
        # The ML apps refuse to start without their models: train what is missing (~20 s once).
        subprocess.run(
            [sys.executable, "-m", "ml.train", "--if-missing"],
            cwd=ROOT,
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        self._script("stores.sh", "start")
        self._script("controlplane.sh", "start")
        self._write_resources()

    def _write_resources(self) -> None:
        self.resources.mkdir(parents=True, exist_ok=True)
        # This cluster's stores, in place of `./taskw up`'s, in whichever file holds them.
        infra = {
            "postgres-connection-string": (
                f"host=127.0.0.1 port={self.env['SC_PG_PORT']} user=smartcommerce "
                "password=smartcommerce-local dbname=smartcommerce sslmode=disable "
                "connect_timeout=10"
            ),
            "redis-host": f"127.0.0.1:{self.env['SC_REDIS_PORT']}",
            "smtp-host": "127.0.0.1",
            "smtp-port": self.env["SC_SMTP_PORT"],
        }
        rewritten: set[str] = set()
        for src in sorted((ROOT / "components" / "local").glob("*.yaml")):
            doc = yaml.safe_load(src.read_text())
            if doc.get("kind") == "Configuration":
                doc["spec"]["nameResolution"]["configuration"]["connectionString"] = str(
                    self.workdir / "nameresolution.db"
                )
                (self.workdir / "config.yaml").write_text(yaml.safe_dump(doc))
                continue
            if doc.get("kind") == "Component" and doc["spec"]["type"] == "secretstores.local.file":
                for item in doc["spec"]["metadata"]:
                    if item["name"] == "secretsFile":
                        # Each store's own file (its path is relative to the repository
                        # root, as `./taskw up` reads it), copied into this cluster's folder.
                        values = json.loads((ROOT / item["value"]).read_text())
                        ours = {k: v for k, v in infra.items() if k in values}
                        rewritten |= set(ours)
                        copy = self.workdir / Path(item["value"]).name
                        copy.write_text(json.dumps({**values, **ours}))
                        item["value"] = str(copy)
            (self.resources / src.name).write_text(yaml.safe_dump(doc))
        if rewritten != set(infra):
            raise HarnessError(f"no local secret store holds {sorted(set(infra) - rewritten)}")

    def app_specs(self) -> dict[str, AppSpec]:
        run_file = yaml.safe_load((ROOT / "dapr.yaml").read_text())
        return {
            a["appID"]: AppSpec(a["appID"], list(a["command"]), a.get("daprHTTPReadBufferSize"))
            for a in run_file["apps"]
        }

    def start_app(
        self,
        name: str,
        env: dict[str, str] | None = None,
        wait: bool = True,
        app_id: str | None = None,
    ) -> AppProcess:
        """Start (or restart, on the same ports) one app and its sidecar. `name` is the app-id,
        or the name of a further replica when `app_id` is given (e.g. "catalog-2" of
        "catalog"), as a scaled-out app runs."""
        proc = self.apps.get(name)
        if proc is None:
            proc = AppProcess(
                spec=self.app_specs()[app_id or name],
                app_port=free_port(),
                http_port=free_port(),
                grpc_port=free_port(),
                internal_grpc_port=free_port(),
                metrics_port=free_port(),
                env=dict(env or {}),
            )
            self.apps[name] = proc
        elif env:
            proc.env.update(env)
        app_id = proc.spec.app_id
        self.logs.mkdir(parents=True, exist_ok=True)
        daprd_cmd = [
            str(DAPR_BIN / "daprd"),
            "--app-id",
            app_id,
            "--app-port",
            str(proc.app_port),
            "--app-protocol",
            "http",
            "--dapr-http-port",
            str(proc.http_port),
            "--dapr-grpc-port",
            str(proc.grpc_port),
            "--dapr-internal-grpc-port",
            str(proc.internal_grpc_port),
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--metrics-port",
            str(proc.metrics_port),
            "--resources-path",
            str(self.resources),
            "--config",
            str(self.workdir / "config.yaml"),
            "--placement-host-address",
            f"127.0.0.1:{self.env['SC_PLACEMENT_PORT']}",
            "--scheduler-host-address",
            f"127.0.0.1:{self.env['SC_SCHEDULER_PORT']}",
            "--enable-app-health-check",
            "--app-health-check-path",
            "/health/live",
            "--app-health-probe-interval",
            "1",
            "--log-level",
            "info",
        ]
        if proc.spec.read_buffer_kb:
            daprd_cmd += ["--read-buffer-size", f"{proc.spec.read_buffer_kb}Ki"]
        app_cmd = list(proc.spec.command)
        app_cmd[app_cmd.index("--port") + 1] = str(proc.app_port)
        app_cmd[app_cmd.index("--host") + 1] = "127.0.0.1"
        process_env = {
            **os.environ,
            "APP_ID": app_id,
            "APP_PORT": str(proc.app_port),
            "DAPR_HTTP_PORT": str(proc.http_port),
            "DAPR_GRPC_PORT": str(proc.grpc_port),
            "SC_ENVIRONMENT": "test",
            "PYTHONUNBUFFERED": "1",
            "PAYMENTS_STRIPE_API_BASE": f"http://127.0.0.1:{self.env['SC_STRIPE_PORT']}",
            "APP_API_TOKEN": self.env["SC_APP_API_TOKEN"],
            "DAPR_API_TOKEN": self.dapr_api_token,
            **proc.env,
        }
        with (
            open(self.logs / f"{name}_daprd.log", "ab") as dlog,
            open(self.logs / f"{name}_app.log", "ab") as alog,
        ):
            proc.daprd = subprocess.Popen(
                daprd_cmd,
                cwd=ROOT,
                env=process_env,
                stdout=dlog,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            proc.app = subprocess.Popen(
                app_cmd,
                cwd=ROOT,
                env=process_env,
                stdout=alog,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(name)
        return proc

    def wait_ready(self, app_id: str, timeout: float = READY_TIMEOUT) -> None:
        proc = self.apps[app_id]
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for p, what in ((proc.daprd, "daprd"), (proc.app, "app")):
                if p is not None and p.poll() is not None:
                    raise HarnessError(
                        f"{app_id} {what} exited ({p.returncode}):\n"
                        f"{tail(self.logs / f'{app_id}_{what}.log')}"
                    )
            try:
                r = httpx.get(f"{proc.url}/health/ready", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise HarnessError(
            f"{app_id} not ready after {timeout}s (last: {last})\n"
            f"--- daprd ---\n{tail(self.logs / f'{app_id}_daprd.log')}\n"
            f"--- app ---\n{tail(self.logs / f'{app_id}_app.log')}"
        )

    def stop_app(self, app_id: str, crash: bool = False) -> None:
        """Stop an app and its sidecar; `crash=True` kills both without warning (SIGKILL)."""
        proc = self.apps[app_id]
        sig = signal.SIGKILL if crash else signal.SIGTERM
        # Both at once: a sidecar stopping first waits for the app's workflow stream to end,
        # an app stopping first makes its sidecar's actor deactivation calls fail; together
        # each finishes its own graceful shutdown.
        for p in (proc.daprd, proc.app):
            if p is not None and p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, sig)
        for p in (proc.daprd, proc.app):
            if p is None:
                continue
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)

    def restart_app(self, app_id: str, crash: bool = False) -> AppProcess:
        self.stop_app(app_id, crash=crash)
        return self.start_app(app_id)

    def stop(self) -> None:
        errors: list[str] = []
        for app_id in list(self.apps):
            try:
                self.stop_app(app_id)
            except Exception as exc:
                errors.append(f"{app_id}: {exc}")
        for name in ("controlplane.sh", "stores.sh"):
            try:
                self._script(name, "stop")
            except Exception as exc:
                errors.append(str(exc))
        if errors:
            raise HarnessError("teardown problems: " + "; ".join(errors))

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- helpers for tests ------------------------------------------------------------
    def client(self, app_id: str, timeout: float = 15) -> httpx.Client:
        """An HTTP client on `app_id` itself; for internal apps it carries the app API token,
        as the app's own sidecar does (without it they answer 401). On the storefront,
        requests to `/api/staff/*` without an Authorization header are made as staff (with
        `staff_token`), so tests act as staff exactly where staff act."""
        if app_id != "storefront":
            headers = {"dapr-api-token": self.app_token}
            return httpx.Client(base_url=self.apps[app_id].url, timeout=timeout, headers=headers)

        def as_staff(request: httpx.Request) -> None:
            staff = self.staff_token
            if (
                staff is not None
                and request.url.path.startswith("/api/staff/")
                and "authorization" not in request.headers
            ):
                request.headers["Authorization"] = f"Bearer {staff()}"

        return httpx.Client(
            base_url=self.apps[app_id].url, timeout=timeout, event_hooks={"request": [as_staff]}
        )

    def identity_token(self, email: str, password: str) -> str:
        """An access token from the identity app (through the storefront)."""
        with httpx.Client(base_url=self.apps["storefront"].url, timeout=30) as api:
            r = api.post("/api/auth/login", json={"email": email, "password": password})
            if r.status_code != 200:
                raise HarnessError(f"sign-in of {email} failed: {r.status_code} {r.text}")
            return str(r.json()["access_token"])

    def use_bootstrap_admin_as_staff(self) -> None:
        """Staff calls made as the admin identity creates on first start (local secrets)."""
        password = json.loads(
            (ROOT / "components" / "local" / "secrets.identity.json").read_text()
        )["identity-admin-password"]
        token = self.identity_token("admin@smartcommerce.example", password)
        self.staff_token = lambda: token

    @property
    def app_token(self) -> str:
        return self.env["SC_APP_API_TOKEN"]

    @property
    def dapr_api_token(self) -> str:
        return self.env["SC_DAPR_API_TOKEN"]

    @property
    def sidecar_headers(self) -> dict[str, str]:
        """What a caller of any sidecar's API must send (the sidecars' API token)."""
        return {"dapr-api-token": self.dapr_api_token}

    def invoker(self, app_id: str, via: str = "storefront", timeout: float = 20) -> httpx.Client:
        """Another app's view of `app_id`: service invocation through `via`'s sidecar."""
        base = f"{self.apps[via].dapr_url}/v1.0/invoke/{app_id}/method"
        return httpx.Client(base_url=base, timeout=timeout, headers=self.sidecar_headers)

    def publish(
        self, topic: str, event: dict[str, Any], via: str = "orders", times: int = 1
    ) -> None:
        """Publish `event` on `topic` through `via`'s sidecar (`times` > 1: a redelivery)."""
        with self.sidecar(via) as dapr:
            for _ in range(times):
                r = dapr.post(f"/v1.0/publish/pubsub/{topic}", json=event)
                if r.status_code != 204:
                    raise HarnessError(f"publish to {topic} failed: {r.status_code} {r.text}")

    def stream(self, topic: str) -> str:
        """The raw Redis stream behind a topic (what Dapr's Redis pub/sub writes)."""
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        out = subprocess.run(
            [cli, "-p", self.env["SC_REDIS_PORT"], "XRANGE", topic, "-", "+"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def sql(self, query: str) -> str:
        """`query` run by psql on the cluster's PostgreSQL (unaligned, tuples only): for
        checking what the store really holds, never for writing behind Dapr's back."""
        out = subprocess.run(
            [
                shutil.which("psql") or "/usr/bin/psql",
                "-h",
                "127.0.0.1",
                "-p",
                self.env["SC_PG_PORT"],
                "-U",
                "smartcommerce",
                "-d",
                "smartcommerce",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                query,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGPASSWORD": "smartcommerce-local"},
        )
        if out.returncode != 0:
            raise HarnessError(f"psql failed: {out.stderr}")
        return out.stdout.strip()

    def seed(self, *args: str) -> int:
        """`scripts/seed.py` with `args` against this cluster's catalog sidecar."""
        from scripts import seed as seed_script

        sidecar = ["--sidecar", self.apps["catalog"].dapr_url]
        return seed_script.main([*args, *sidecar, f"--dapr-api-token={self.dapr_api_token}"])

    # -- the mail server (Mailpit) --------------------------------------------------------
    @property
    def mail_url(self) -> str:
        return f"http://127.0.0.1:{self.env['SC_MAIL_UI_PORT']}"

    def mails(self, to: str) -> list[dict[str, Any]]:
        """Every message the mail server received for `to`, oldest first, each with its
        `Subject`, `HTML` and `Text` (Mailpit's message API)."""
        with httpx.Client(base_url=self.mail_url, timeout=10) as mail:
            found = mail.get("/api/v1/search", params={"query": f'to:"{to}"', "limit": 200})
            found.raise_for_status()
            summaries = [
                m
                for m in found.json()["messages"]
                if any(a["Address"].lower() == to.lower() for a in m["To"])
            ]
            messages = []
            for summary in reversed(summaries):  # the API answers newest first
                r = mail.get(f"/api/v1/message/{summary['ID']}")
                r.raise_for_status()
                messages.append(r.json())
            return messages

    def stop_mail(self) -> None:
        """Stop the mail server (the SMTP port then refuses connections)."""
        self._script("stores.sh", "stop-mail")

    def start_mail(self) -> None:
        self._script("stores.sh", "start-mail")

    def sidecar(self, app_id: str, timeout: float = 15) -> httpx.Client:
        """An HTTP client on `app_id`'s sidecar: call Dapr's APIs as that app would."""
        return httpx.Client(
            base_url=self.apps[app_id].dapr_url, timeout=timeout, headers=self.sidecar_headers
        )


def eventually(check: Any, timeout: float = 30.0, interval: float = 0.25) -> Any:
    """Retry `check()` until it returns a truthy value (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        time.sleep(interval)
    if last:
        raise last
    raise AssertionError(f"condition not met within {timeout}s")
