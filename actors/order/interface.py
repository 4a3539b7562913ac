"""OrderActor's methods as the Dapr actor API sees them (type `OrderActor`).

Every method takes and returns plain JSON (schemas: `CreateOrder`, `TransitionRequest`,
`ActorReply` in apps.contracts.orders, exported to schemas/), so any language can call
`PUT /v1.0/actors/OrderActor/{order_id}/method/{create|transition|get}`.
"""

from typing import Any

from dapr.actor import ActorInterface, actormethod


class OrderActorInterface(ActorInterface):
    @actormethod(name="create")
    async def create(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="transition")
    async def transition(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="get")
    async def get(self) -> dict[str, Any]: ...
