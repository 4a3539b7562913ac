"""OrderActor's methods as the Dapr actor API sees them (type `OrderActor`).

Every method takes and returns plain JSON (schemas: `CreateOrder`, `TransitionRequest`,
`ActorReply` in apps.contracts.orders, exported to schemas/), so any language can call
`PUT /v1.0/actors/OrderActor/{order_id}/method/{create|transition|get|request_return|
decide_return|return_progress}` (returns: apps.contracts.returns).
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod


class OrderActorInterface(ActorInterface):
    @actormethod(name="create")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def create(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="transition")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def transition(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="get")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get(self) -> dict[str, Any]: ...

    @actormethod(name="request_return")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def request_return(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="decide_return")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def decide_return(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="return_progress")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def return_progress(self, data: dict[str, Any]) -> dict[str, Any]: ...
