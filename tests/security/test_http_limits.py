"""Issue 12 #1: header limits and slow clients. Too many or too large headers are a 431,
headers or a body that do not arrive in time a 408 (standard error format, connection
closed), and the gateway keeps serving everyone else meanwhile."""

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx

from apps.platform.server import BODY_SECONDS, HEADER_SECONDS, MAX_HEADER_BYTES, MAX_HEADERS
from tests.harness import Cluster


def _send(url: str, data: bytes, wait: float = 60) -> tuple[int, dict[str, object], float]:
    """Raw bytes to the app (no client library would send these); its status, JSON error
    and how long it took to answer."""
    address = urlparse(url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=wait) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), time.monotonic() - started


def test_headers_too_many_or_too_large_are_431(cluster: Cluster) -> None:
    url = cluster.apps["storefront"].url
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    large = b"X-Big: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\r\n"
    for headers in (many, large):
        status, body, _ = _send(
            url, b"GET /api/products HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
        )
        assert status == 431
        assert body["error"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"  # type: ignore[index]
        assert body["error"]["request_id"]  # type: ignore[index]
    # just under the limits is served
    fine = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS - 5))
    status, _, _ = _send(
        url, b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fine + b"\r\n"
    )
    assert status == 200


def test_slow_headers_and_slow_bodies_are_408_and_others_are_served(cluster: Cluster) -> None:
    url = cluster.apps["storefront"].url
    slow_headers = b"GET /api/products HTTP/1.1\r\nHost: x\r\n"  # never finished
    slow_body = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"  # 1 of 100 bytes
    )
    with ThreadPoolExecutor(max_workers=20) as pool:
        stalled = [pool.submit(_send, url, slow_headers) for _ in range(8)]
        stalled += [pool.submit(_send, url, slow_body) for _ in range(8)]
        time.sleep(1)
        with httpx.Client(base_url=url, timeout=5) as api:  # others are served meanwhile
            assert api.get("/health/live").status_code == 200
        answers = [f.result() for f in stalled]
    for (status, body, took), limit in zip(
        answers, [HEADER_SECONDS] * 8 + [BODY_SECONDS] * 8, strict=True
    ):
        assert status == 408
        assert body["error"]["code"] == "REQUEST_TIMEOUT"  # type: ignore[index]
        assert limit - 1 <= took <= limit + 5, took
