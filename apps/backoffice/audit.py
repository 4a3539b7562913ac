"""The audit log's rules (pure): what a gateway-recorded request means (entity, action,
a summary of the change), and which entries a query selects.

The gateway knows the route it matched, the principal it verified, what was sent and what
came back; it does not know the value before the change (that lives in the acting app),
so `changes` holds what was asked (`requested`) and the top-level facts of the answer
(`result`: status, version, role, price...). Entity and action come from the route:
`/api/staff/orders/{order_id}/transitions` is `order` `order_id`, action `order.transitions`;
a plain `POST /api/staff/products` is `product.created` with the id taken from the answer.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.contracts.audit import AuditEntry, GatewayAction

#: Path words that say who may call, not what is acted on.
_PREFIXES = {"api", "staff", "admin", "me"}
#: Collection names → entity type (anything else: the word without a trailing "s").
_ENTITIES = {
    "products": "product",
    "orders": "order",
    "shipments": "shipment",
    "returns": "return",
    "refunds": "refund",
    "users": "user",
    "inventory": "stock",
    "stock": "stock",
    "categories": "category",
    "reviews": "review",
    "dead-letters": "dead_letter",
    "keys": "signing_key",
    "config": "config",
    "addresses": "address",
    "activity": "activity",
    "tickets": "ticket",
}
_VERBS = {"POST": "created", "PUT": "updated", "PATCH": "updated", "DELETE": "deleted"}
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class Target:
    entity_type: str
    entity_id: str | None
    action: str


def target_of(
    method: str, route: str, path_params: dict[str, str], *bodies: dict[str, Any]
) -> Target:
    """Entity and action of a request, from its route template (or its path)."""
    words = [w for w in route.strip("/").split("/") if w]
    while words and words[0] in _PREFIXES:
        words = words[1:]
    if not words:
        return Target("system", None, f"system.{_VERBS.get(method, method.lower())}")
    collection = words[0]
    entity = _ENTITIES.get(collection, collection.removesuffix("s").replace("-", "_") or "system")
    entity_id: str | None = None
    tail: list[str] = []
    for word in words[1:]:
        if word.startswith("{") and word.endswith("}"):
            name = word[1:-1].split(":")[0]
            if entity_id is None:
                entity_id = path_params.get(name)
            tail = []  # the action is what follows the last id
        else:
            tail.append(word)
    if entity_id is None:
        entity_id = _id_in(entity, *bodies)
    action = "_".join(t.replace("-", "_") for t in tail) or _VERBS.get(method, method.lower())
    return Target(entity, entity_id, f"{entity}.{action}")


def _id_in(entity: str, *bodies: dict[str, Any]) -> str | None:
    """The id when the path has none: a created entity's from the answer first
    (`product_id`, or `id`), else the order a command names (a staff refund's `order_id`)."""
    for key in (f"{entity}_id", "id", "order_id"):
        for body in bodies:
            value = body.get(key)
            if isinstance(value, str | int) and str(value):
                return str(value)[:200]
    return None


def summary(body: dict[str, Any], limit: int = 40) -> dict[str, Any]:
    """The top-level scalar facts of a body (nested objects are left out: bounded)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if len(out) >= limit:
            break
        if value is None or isinstance(value, _SCALARS):
            out[str(key)[:100]] = value[:500] if isinstance(value, str) else value
    return out


def entry_from(action: GatewayAction, audit_id: str) -> AuditEntry:
    target = target_of(
        action.method,
        action.route or action.path,
        action.path_params,
        action.response_body,
        action.request_body,
    )
    return AuditEntry(
        id=audit_id,
        audit_id=audit_id,
        entity_type=target.entity_type,
        entity_id=target.entity_id,
        action=target.action,
        actor_id=action.actor_id,
        actor_type=action.actor_role,
        actor_email=action.actor_email,
        changes={
            "requested": summary(action.request_body),
            "result": summary(action.response_body),
        },
        metadata={
            "method": action.method,
            "path": action.path,
            "ip_address": action.ip_address,
            "user_agent": action.user_agent,
        },
        request_id=action.request_id,
        status=action.status,
        source="storefront",
        timestamp=action.at,
    )


@dataclass(frozen=True)
class AuditQuery:
    start: datetime | None = None
    end: datetime | None = None
    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None

    def store_filter(self) -> dict[str, Any]:
        """The equality part, for the state store's query API (it has no ranges)."""
        terms: list[dict[str, Any]] = [{"EQ": {"kind": "audit"}}]
        for field, value in (
            ("entry.actor_id", self.actor),
            ("entry.action", self.action),
            ("entry.entity_type", self.entity_type),
            ("entry.entity_id", self.entity_id),
        ):
            if value:
                terms.append({"EQ": {field: value}})
        return terms[0] if len(terms) == 1 else {"AND": terms}

    def matches(self, entry: AuditEntry) -> bool:
        if self.start and entry.timestamp < self.start:
            return False
        if self.end and entry.timestamp >= self.end:
            return False
        return all(
            want is None or got == want
            for want, got in (
                (self.actor, entry.actor_id),
                (self.action, entry.action),
                (self.entity_type, entry.entity_type),
                (self.entity_id, entry.entity_id),
            )
        )


def select(
    entries: list[AuditEntry], query: AuditQuery, page: int, limit: int
) -> tuple[list[AuditEntry], int]:
    """Newest first, then by id (a stable order for paging); the page and the total."""
    chosen = [e for e in entries if query.matches(e)]
    chosen.sort(key=lambda e: (e.timestamp, e.audit_id), reverse=True)
    start = (page - 1) * limit
    return chosen[start : start + limit], len(chosen)
