"""The actor runtime's sidecar calls over one pooled session (actors/sidecar_http.py), against
a real local HTTP server (no Dapr: this is about connections): calls reuse a connection,
send the SDK's headers, and errors come back as the SDK's own."""

import asyncio

import pytest
from dapr.clients.exceptions import DaprHttpError
from dapr.clients.health import DaprHealth
from dapr.clients.http.client import DaprHttpClient
from dapr.serializers import DefaultJSONSerializer

from actors.sidecar_http import close_pool, pool_actor_calls


def test_actor_calls_share_connections_and_keep_the_sdks_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the client waits for a sidecar when made: this server stands in for its HTTP API
    monkeypatch.setattr(DaprHealth, "wait_for_sidecar", staticmethod(lambda: None))
    connections = 0
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                seen.append(head)
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if head.startswith(b"PUT /missing"):
                    body = b'{"errorCode":"ERR_ACTOR_INSTANCE_MISSING","message":"no actor"}'
                    writer.write(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(body), body)
                    )
                else:
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def scenario() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        pool_actor_calls()
        client = DaprHttpClient(DefaultJSONSerializer())
        try:
            for _ in range(20):
                body, response = await client.send_bytes(
                    "PUT", f"http://127.0.0.1:{port}/v1.0/actors/T/1/state", b"[]"
                )
                assert response.status == 204 and body == b""
            with pytest.raises(DaprHttpError) as refused:
                await client.send_bytes("PUT", f"http://127.0.0.1:{port}/missing", b"{}")
            assert refused.value.error_code == "ERR_ACTOR_INSTANCE_MISSING"
        finally:
            await close_pool()
            srv.close()
        assert connections == 1  # the SDK alone opens one per call: 21
        assert all(b"content-type: application/json" in h.lower() for h in seen)
        assert all(b"user-agent: dapr-sdk-python" in h.lower() for h in seen)

    asyncio.run(scenario())
