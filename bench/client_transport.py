"""Benchmark: the CPU an app spends per call to its sidecar, by HTTP client pool: httpx's
own (httpcore) against aiohttp's behind httpx's API (what `apps/platform/dapr.py` uses).
The client's process CPU time is measured, not the server's.

    ./taskw bench:client -- --url http://127.0.0.1:3501/v1.0/healthz   # a running sidecar

Without `--url` it starts a small local HTTP server of its own in a subprocess.
"""

import argparse
import asyncio
import subprocess
import sys
import time

import httpx

from apps.platform.dapr import sidecar_transport

SERVER = """
import asyncio
async def handle(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
"""


async def measure(
    client: httpx.AsyncClient, url: str, n: int, concurrency: int
) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            (await client.get(url)).raise_for_status()

    await asyncio.gather(*(one() for _ in range(200)))  # connections opened
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return (time.process_time() - cpu) / n * 1e6, n / (time.perf_counter() - wall)


async def run(url: str, n: int, concurrency: int, pool: int) -> list[dict[str, float | str]]:
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    rows: list[dict[str, float | str]] = []
    for _ in range(2):
        for name, make in (
            ("httpx (httpcore pool)", lambda: httpx.AsyncHTTPTransport(limits=limits)),
            ("httpx + aiohttp pool", lambda: sidecar_transport(limits)),
        ):
            async with httpx.AsyncClient(transport=make()) as client:
                us, rps = await measure(client, url, n, concurrency)
            rows.append({"client": name, "cpu_us_per_call": round(us), "calls_per_s": round(rps)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an HTTP endpoint to call (default: a local server)")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool", type=int, default=64, help="connections in the pool")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/"
    try:
        rows = asyncio.run(run(url, args.requests, args.concurrency, args.pool))
    finally:
        if server is not None:
            server.kill()
    print(f"{args.requests} GETs of {url}, {args.concurrency} at a time, pool of {args.pool}\n")
    print("| client | CPU µs per call | calls/s |\n| --- | ---: | ---: |")
    for row in rows:
        print(f"| {row['client']} | {row['cpu_us_per_call']} | {row['calls_per_s']} |")
    best = {r["client"]: r["cpu_us_per_call"] for r in rows[2:]}
    ratio = best["httpx (httpcore pool)"] / best["httpx + aiohttp pool"]  # type: ignore[operator]
    print(f"\nhttpcore / aiohttp CPU per call: {ratio:.2f}x")


if __name__ == "__main__":
    main()
