"""Checkout's liveness when the workflow engine stops taking work: a call to it that stays
in its thread past `stuck_seconds` makes `/health/live` fail (the platform restarts the app),
which is what a Dapr 1.16 sidecar restarted alone under load caused (dapr/dapr#9070)."""

import asyncio
import threading
from typing import Any

from apps.checkout.adapters import DaprSagaEngine


class HangingClient:
    def __init__(self) -> None:
        self.release = threading.Event()

    def get_workflow_state(self, instance_id: str, fetch_payloads: bool = True) -> Any:
        self.release.wait(10)
        return None


def test_a_stuck_engine_call_fails_liveness_and_a_finished_one_does_not() -> None:
    async def scenario() -> None:
        client = HangingClient()
        engine = DaprSagaEngine(client, stuck_seconds=0.2)  # type: ignore[arg-type]
        assert engine.live_problem(None) is None
        call = asyncio.create_task(engine.status("o-1"))
        await asyncio.sleep(0.1)
        assert engine.live_problem(None) is None  # slow, not stuck yet
        await asyncio.sleep(0.3)
        problem = engine.live_problem(None)
        assert problem is not None and "stuck" in problem
        client.release.set()
        assert await call is None
        assert engine.live_problem(None) is None

    asyncio.run(scenario())
