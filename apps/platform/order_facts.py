"""What an order really is, from the orders app (through Dapr): apps that move money or
stock on an order event check the event against it instead of trusting the event's word."""

from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar


class SidecarOrderFacts:
    """The order's status from the orders app (through Dapr), not from an event."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def status(self, order_id: str) -> str | None:
        res = await self.sidecar.invoke(AppId.ORDERS, f"orders/{order_id}")
        if res.status == 404:
            return None
        return str(res.body_or_raise()["status"])
