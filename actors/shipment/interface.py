"""ShipmentActor's methods as the Dapr actor API sees them (type `ShipmentActor`).

Every method takes and returns plain JSON (schemas: `CreateShipment`,
`UpdateShipmentStatus`, `OpenCarrierCase`, `ShipmentReply` in apps.contracts.shipping,
exported to schemas/): `PUT /v1.0/actors/ShipmentActor/{shipment_id}/method/{method}`.
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod


class ShipmentActorInterface(ActorInterface):
    @actormethod(name="create")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def create(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="update_status")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def update_status(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="poll")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def poll(self) -> dict[str, Any]: ...

    @actormethod(name="contact")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def contact(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="get")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get(self) -> dict[str, Any]: ...
