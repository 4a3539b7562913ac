"""Ending long responses at shutdown: uvicorn waits for open responses before it stops, and
a stream (SSE) would hold it for minutes. `on_shutdown_signal` chains SIGTERM/SIGINT so that
`first` runs on the event loop (ending the streams; browsers reconnect to another replica)
before uvicorn's own handler. Call it from the lifespan (uvicorn's handlers are in place)."""

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any


def on_shutdown_signal(first: Callable[[], Any]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # served in a thread (a test client): no signals to chain
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if callable(previous):
            signal.signal(sig, _first_then(loop, first, previous))


def _first_then(
    loop: asyncio.AbstractEventLoop, first: Callable[[], Any], previous: Callable[..., Any]
) -> Callable[[int, Any], None]:
    def ending(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(first)
        previous(signum, frame)

    return ending
