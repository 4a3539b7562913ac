"""CartActor's methods as the Dapr actor API sees them (type `CartActor`).

Every method takes and returns plain JSON (schemas in apps.contracts.cart, exported to
schemas/actors/), so any language can call
`PUT /v1.0/actors/CartActor/{cart_id}/method/{method}`:

| method | payload | effect |
| --- | --- | --- |
| `get` | none | the cart, re-validated against catalog (read-only) |
| `add_item` | `AddItem` | add a line, or grow the existing one |
| `update_item` | `UpdateItem` | set a line's quantity (takes the current price) |
| `remove_item` | `RemoveItem` | drop a line |
| `clear` | `ClearCart` | drop every line and the promotion |
| `apply_promo` | `ApplyPromo` | quote the code with checkout and keep its terms |
| `remove_promo` | `RemovePromo` | drop the promotion |
| `merge` | `MergeCart` | (user cart) take over a guest cart's lines |
| `hand_over` | `HandOver` | (guest cart) give its lines to a user cart, once |

Replies: `CartReply` (`HandOverReply` for `hand_over`).
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod

Json = dict[str, Any]


class CartActorInterface(ActorInterface):
    @actormethod(name="get")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get(self) -> Json: ...

    @actormethod(name="add_item")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def add_item(self, data: Json) -> Json: ...

    @actormethod(name="update_item")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def update_item(self, data: Json) -> Json: ...

    @actormethod(name="remove_item")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def remove_item(self, data: Json) -> Json: ...

    @actormethod(name="clear")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def clear(self, data: Json) -> Json: ...

    @actormethod(name="apply_promo")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def apply_promo(self, data: Json) -> Json: ...

    @actormethod(name="remove_promo")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def remove_promo(self, data: Json) -> Json: ...

    @actormethod(name="set_destination")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def set_destination(self, data: Json) -> Json: ...

    @actormethod(name="merge")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def merge(self, data: Json) -> Json: ...

    @actormethod(name="hand_over")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def hand_over(self, data: Json) -> Json: ...
