"""TicketActor's methods as the Dapr actor API sees them (type `TicketActor`).

Every method takes and returns plain JSON (schemas: `CreateTicket`, `CustomerReply`,
`StaffResponse`, `SetStatus`, `AssignTicket`, `TicketReply` in apps.contracts.tickets,
exported to schemas/), so any language can call
`PUT /v1.0/actors/TicketActor/{ticket_id}/method/{create|get|reply|respond|set_status|assign}`.
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod


class TicketActorInterface(ActorInterface):
    @actormethod(name="create")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def create(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="get")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get(self) -> dict[str, Any]: ...

    @actormethod(name="reply")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def reply(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="respond")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def respond(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="set_status")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def set_status(self, data: dict[str, Any]) -> dict[str, Any]: ...

    @actormethod(name="assign")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def assign(self, data: dict[str, Any]) -> dict[str, Any]: ...
