"""Issue 12 #8: sidecars listen on loopback only and answer their API only with the Dapr
API token (the apps send it); without it nothing is readable, secrets included."""

from pathlib import Path

import httpx
import pytest

from tests.harness import Cluster

CLOSED = [
    ("GET", "/v1.0/metadata"),
    ("GET", "/v1.0/secrets/secretstore/bulk"),
    ("GET", "/v1.0/state/statestore/signing-keys"),
    ("GET", "/v1.0/invoke/orders/method/openapi.json"),
    ("POST", "/v1.0/publish/pubsub/order-events"),
]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.parametrize("app_id", ["storefront", "identity", "orders", "payments", "catalog"])
def test_a_sidecar_answers_only_with_its_token_and_only_on_loopback(
    cluster: Cluster, app_id: str
) -> None:
    app = cluster.apps[app_id]
    for port in (app.http_port, app.grpc_port):
        # 0100007F is 127.0.0.1; no 0.0.0.0 (00000000) or :: socket
        assert listening_addresses(port) == {"0100007F"}, (app_id, port)
    with httpx.Client(base_url=app.dapr_url, timeout=10) as raw:
        for method, path in CLOSED:
            for headers in ({}, {"dapr-api-token": "guessed"}):
                r = raw.request(method, path, headers=headers, json={})
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
                assert "signing" not in r.text and "BEGIN" not in r.text
    with cluster.sidecar(app_id) as dapr:
        assert dapr.get("/v1.0/metadata").status_code == 200
