"""In-memory doubles of the notifications app's ports (apps/notifications/service.py)."""

import itertools
from collections.abc import Callable

from apps.contracts.identity import ContactDetails
from apps.contracts.notifications import Notification
from apps.contracts.orders import Order


class MemoryOutbox:
    """ETag semantics of the state store: every write makes a new tag."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[Notification, str]] = {}
        self._tags = itertools.count(1)

    def _tag(self) -> str:
        return str(next(self._tags))

    async def get(self, key: str) -> tuple[Notification, str] | None:
        return self.docs.get(key)

    async def insert(self, key: str, record: Notification) -> bool:
        if key in self.docs:
            return False
        self.docs[key] = (record, self._tag())
        return True

    async def replace(self, key: str, record: Notification, etag: str) -> bool:
        if key not in self.docs or self.docs[key][1] != etag:
            return False
        self.docs[key] = (record, self._tag())
        return True

    async def update(self, key: str, decide: Callable[[Notification], Notification | None]) -> bool:
        after = decide(self.docs[key][0])
        if after is None:
            return False
        self.docs[key] = (after, self._tag())
        return True

    async def due(self) -> list[str]:
        return sorted(k for k, (r, _) in self.docs.items() if r.status in ("pending", "sending"))

    async def for_user(self, user_id: str) -> list[Notification]:
        return [r for r, _ in self.docs.values() if r.user_id == user_id]


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, int]] = []
        self.down = False

    async def send(self, to: str, subject: str, html: str, priority: int) -> None:
        if self.down:
            raise ConnectionRefusedError("mail server down")
        self.sent.append((to, subject, html, priority))


class Contacts:
    def __init__(self, contacts: dict[str, ContactDetails] | None = None) -> None:
        self.contacts = contacts or {}

    async def contact(self, user_id: str) -> ContactDetails | None:
        return self.contacts.get(user_id)


class Orders:
    def __init__(self, orders: dict[str, Order] | None = None) -> None:
        self.orders = orders or {}

    async def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)


class DeadLetters:
    def __init__(self) -> None:
        self.published: list[Notification] = []

    async def publish(self, record: Notification) -> None:
        self.published.append(record)
