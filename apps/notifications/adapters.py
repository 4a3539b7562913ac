"""Dapr I/O of the notifications app: the `email` output binding (bindings.smtp), the outbox
in the state store, the identity and orders look-ups, the dead-letter topic."""

import json
from collections.abc import Callable
from typing import Any

from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.identity import ContactDetails
from apps.contracts.names import AppId, Topic
from apps.contracts.notifications import Notification, NotificationDeadLettered
from apps.contracts.orders import Order
from apps.platform.dapr import InvokeResult, Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore
from apps.platform.urls import segment

DOC_KIND = "notification"
#: What the sweeper picks up: due retries and claims whose replica may be gone.
OPEN = ["pending", "sending"]


class MailError(RuntimeError):
    """The binding (or the mail server behind it) refused or failed the send."""


class BindingMailer:
    """Sends through daprd's SMTP binding (`create`: To, Subject, From and priority per
    request; the body is the HTML part, which the binding sends as text/html)."""

    def __init__(self, sidecar: Sidecar, binding: str, sender: str, timeout: float) -> None:
        self.sidecar = sidecar
        self.binding = binding
        self.sender = sender
        self.timeout = timeout

    async def send(self, to: str, subject: str, html: str, priority: int) -> None:
        body = {
            "operation": "create",
            "data": html,
            "metadata": {
                "emailTo": to,
                "emailFrom": self.sender,
                "subject": subject,
                "priority": str(priority),
            },
        }
        # Non-ASCII as UTF-8, not \u escapes: daprd hands the JSON string to Go's
        # strconv.Unquote, which turns an escaped surrogate pair (an emoji) into U+FFFD.
        resp = await self.sidecar.http.post(
            f"/v1.0/bindings/{segment(self.binding)}",
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        if resp.status_code >= 300:
            raise MailError(f"{resp.status_code} {resp.text[:500]}")


class StateOutbox:
    """Notification records as JSON documents (`{"kind": "notification", "notification":
    {...}}`), written with ETags so one claim wins."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    @staticmethod
    def _doc(record: Notification) -> dict[str, object]:
        return {"kind": DOC_KIND, "notification": record.model_dump(mode="json")}

    async def get(self, key: str) -> tuple[Notification, str] | None:
        found = await self.store.get(key)
        if found is None:
            return None
        return Notification.model_validate(found.value["notification"]), found.etag

    async def insert(self, key: str, record: Notification) -> bool:
        try:
            await self.store.insert(key, self._doc(record))
        except EtagMismatch:
            return False
        return True

    async def replace(self, key: str, record: Notification, etag: str) -> bool:
        try:
            await self.store.replace(key, self._doc(record), etag)
        except EtagMismatch:
            return False
        return True

    async def update(self, key: str, decide: Callable[[Notification], Notification | None]) -> bool:
        def change(current: object) -> object | None:
            if not isinstance(current, dict):
                return None
            after = decide(Notification.model_validate(current["notification"]))
            return None if after is None else self._doc(after)

        return await self.store.compare_and_set(key, change)

    async def due(self) -> list[str]:
        found = await self.store.scan(
            {"AND": [{"EQ": {"kind": DOC_KIND}}, {"IN": {"notification.status": OPEN}}]},
            "notification.notification_id",
        )
        return [str(doc.value["notification"]["notification_id"]) for doc in found]

    async def for_user(self, user_id: str) -> list[Notification]:
        found = await self.store.scan(
            {"AND": [{"EQ": {"kind": DOC_KIND}}, {"EQ": {"notification.user_id": user_id}}]},
            "notification.notification_id",
        )
        return [Notification.model_validate(doc.value["notification"]) for doc in found]


class Unavailable(RuntimeError):
    """A look-up failed for now (callee down or overloaded): the event is redelivered, not
    dropped as a DomainError would be."""


def _body(res: InvokeResult, callee: str) -> Any:
    if res.status >= 500:
        raise Unavailable(f"{callee} answered {res.status}")
    return res.body_or_raise()


class IdentityContacts:
    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def contact(self, user_id: str) -> ContactDetails | None:
        """None for a closed or unknown account; any other failure raises (the event is
        redelivered)."""
        res = await self.sidecar.invoke(AppId.IDENTITY, f"users/{segment(user_id)}/contact")
        if res.status == 404:
            return None
        return ContactDetails.model_validate(_body(res, "identity"))


class OrderLookup:
    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def get(self, order_id: str) -> Order | None:
        res = await self.sidecar.invoke(AppId.ORDERS, f"orders/{segment(order_id)}")
        if res.status == 404:
            return None
        return Order.model_validate(_body(res, "orders"))


class DeadLetterTopic:
    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def publish(self, record: Notification) -> None:
        payload = NotificationDeadLettered(
            notification_id=record.notification_id,
            kind=record.kind,
            event_id=record.event_id,
            event_type=record.event_type,
            user_id=record.user_id,
            order_id=record.order_id,
            attempts=record.attempts,
            last_error=record.last_error[:1000],
            at=utcnow(),
        )
        await self.sidecar.publish(
            Topic.DEAD_LETTER,
            EventEnvelope.of(
                payload,
                correlation_id=record.correlation_id,
                source=AppId.NOTIFICATIONS,
                event_id=f"dead-letter:{record.notification_id}",
            ),
        )
