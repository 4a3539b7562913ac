"""uvicorn's httptools protocol with the limits uvicorn does not set itself, so one client
cannot hold or bloat a connection: every app runs with
`--http apps.platform.server:BoundedHttpToolsProtocol` (dapr.yaml, Dockerfile, Bicep).

- at most `MAX_HEADERS` header fields and `MAX_HEADER_BYTES` of them: 431;
- the request line and headers within `HEADER_SECONDS` of the first byte (or of the
  connection opening): 408, then the connection is closed (a slow-loris holds nothing);
- a request's body within `BODY_SECONDS` of its headers: 408 and closed.

Answers are in the standard error format. Everything else is uvicorn's own behaviour."""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apps.contracts.errors import ErrorCode, ErrorDetail, ErrorResponse
from apps.platform.http import new_request_id

MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024
HEADER_SECONDS = 10.0
BODY_SECONDS = 30.0

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def refusal(status: int, code: ErrorCode, message: str, details: dict[str, Any]) -> bytes:
    """A whole HTTP/1.1 response (standard error body) that closes the connection."""
    detail = ErrorDetail(code=code, message=message, details=details, request_id=new_request_id())
    body = ErrorResponse(error=detail).model_dump_json()
    head = (
        f"HTTP/1.1 {status} ".encode()
        + REASONS[status]
        + b"\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
    )
    return head + body.encode()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_count = 0
        self._header_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._refusal: bytes | None = None

    # -- timers ----------------------------------------------------------------------------
    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._too_slow, what, seconds)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self, what: str, seconds: float) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # an answer is on its way: just stop waiting for more
            return
        message = f"The request's {what} did not arrive within {seconds:g} s"
        self._refuse(refusal(408, ErrorCode.REQUEST_TIMEOUT, message, {"limit": seconds}))

    def _refuse(self, response: bytes) -> None:
        self._refusal = response
        self.transport.write(response)
        self.transport.close()
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    # -- connection and parser callbacks ---------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEADER_SECONDS, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is None:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:  # a limit stopped the parser: its answer is sent already
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = self._header_bytes = 0
        self._arm(HEADER_SECONDS, "headers")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > MAX_HEADERS or self._header_bytes > MAX_HEADER_BYTES:
            self._disarm()
            limits = {"max_headers": MAX_HEADERS, "max_header_bytes": MAX_HEADER_BYTES}
            self._refuse(
                refusal(
                    431,
                    ErrorCode.HEADERS_TOO_LARGE,
                    "The request's headers are too many or too large",
                    limits,
                )
            )
            raise ValueError("header limits exceeded")  # stops the parser (HttpParserError)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.parser is not None and self._expects_body():
            self._arm(BODY_SECONDS, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _expects_body(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                return value.strip() not in (b"", b"0")
            if name == b"transfer-encoding":
                return True
        return False
