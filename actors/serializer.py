"""JSON for actor messages and state exactly as written, for every actor host.

The Dapr Python SDK's default serializer rewrites strings while it reads them: any string
that starts like a date (`2024-01-01 Edition`) becomes a `datetime` and any that looks like a
duration (`0h`, `5m`, `1h30m`) a `timedelta`, so a product id `1h` in a cart line arrived as
`PT1H`, and the same happened to state read back. Our payloads are pydantic models dumped to
JSON: they are read as plain JSON here (written as the SDK writes them, so the reminders it
registers keep their Dapr durations).

`ActorMessages` also accepts what the other languages' SDKs send: the JavaScript and .NET
proxies send a method's arguments as a JSON array, so a one-element array holding an
object is that object (every actor method takes one object or nothing).
"""

import json
from collections.abc import Callable
from typing import Any

from dapr.serializers.base import Serializer
from dapr.serializers.json import DaprJSONEncoder


class PlainJson(Serializer):
    def serialize(self, obj: object, custom_hook: Callable[[object], bytes] | None = None) -> bytes:
        value = custom_hook(obj) if callable(custom_hook) else obj
        # Writing is the SDK's (reminder periods as Dapr durations); reading is plain.
        return json.dumps(
            value, cls=DaprJSONEncoder, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    def deserialize(
        self,
        data: bytes,
        data_type: type | None = object,
        custom_hook: Callable[[bytes], object] | None = None,
    ) -> Any:
        if not isinstance(data, str | bytes):
            raise ValueError("data must be str or bytes")
        value = self.shape(json.loads(data) if data else None)
        return custom_hook(value) if callable(custom_hook) else value

    def shape(self, value: Any) -> Any:
        """What the parsed JSON stands for (as it is, for state)."""
        return value


class ActorMessages(PlainJson):
    def shape(self, value: Any) -> Any:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict | None):
            return value[0]
        return value


#: `register_actor(Actor, **SERIALIZERS)` in every app that hosts actors.
SERIALIZERS: dict[str, Serializer] = {
    "message_serializer": ActorMessages(),
    "state_serializer": PlainJson(),
}
