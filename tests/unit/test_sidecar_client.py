"""The sidecar's HTTP client against a real local HTTP server (no Dapr: this is about the
connection pool): a full pool times out as httpx does, a cancelled caller frees its slot, and the
client records when calls began to fail (what liveness reads)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from apps.platform.dapr import Sidecar, sidecar_transport
from apps.platform.settings import AppSettings


@asynccontextmanager
async def server(release: asyncio.Event) -> AsyncIterator[int]:
    """HTTP/1.1 on a free port: `/slow` answers once `release` is set, anything else at once."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /slow"):
                    await release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        release.set()
        srv.close()


def test_a_full_pool_times_out_as_httpx_does_and_serves_again() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        async with server(release) as port:
            transport = sidecar_transport(httpx.Limits(max_connections=1))
            timeout = httpx.Timeout(5, pool=0.3)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=timeout
            ) as client:
                stuck = asyncio.create_task(client.get("/slow"))  # holds the only connection
                await asyncio.sleep(0.1)
                with pytest.raises(httpx.TimeoutException):
                    await client.get("/fast")
                release.set()
                assert (await stuck).text == "ok"
                assert (await client.get("/fast")).text == "ok"  # the slot is free again

    asyncio.run(scenario())


def test_a_cancelled_caller_does_not_lose_its_slot_and_failures_are_timed() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        async with server(release) as port:
            sidecar = Sidecar(AppSettings(DAPR_HTTP_PORT=port, sidecar_concurrency=2), grpc=False)
            callers = [asyncio.create_task(sidecar.http.get("/slow")) for _ in range(2)]
            await asyncio.sleep(0.1)
            for caller in callers:
                caller.cancel()
            release.set()
            await asyncio.sleep(0.2)
            # both slots of the gate are free again, and the calls completed
            answers = await asyncio.gather(*(sidecar.http.get("/fast") for _ in range(4)))
            assert [a.text for a in answers] == ["ok"] * 4
            assert sidecar.http.failing_since is None
            assert await sidecar.live_problem() is None
        try:
            # the server is gone: calls fail and the time of the first failure is kept
            await sidecar.http.aclose()
            sidecar.http = type(sidecar.http)(sidecar.settings)
            with pytest.raises(httpx.ConnectError):
                await sidecar.http.get("/fast")
            first = sidecar.http.failing_since
            assert first is not None
            assert await sidecar.live_problem() is None  # not for long enough yet
            sidecar.settings = sidecar.settings.model_copy(update={"sidecar_dead_seconds": 0.01})
            await asyncio.sleep(0.05)
            assert "sidecar unreachable" in (await sidecar.live_problem() or "")
            assert sidecar.http.failing_since == first
        finally:
            await sidecar.close()

    asyncio.run(scenario())
