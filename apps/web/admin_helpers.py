"""Pure helpers of the admin pages (no request, no API): form values to the API's terms and
back, local search and paging where the API has no such filter, and how an answer reads."""

import json
import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from apps.contracts.names import AppId

#: The roles an admin may give (the API's Role, without `anonymous`).
ROLES = ("customer", "staff", "admin")
#: Checkout saga states (apps/contracts/checkout.py CheckoutStatus), in-flight ones first.
SAGA_STATES = ("running", "pending", "suspended", "completed", "failed", "terminated")
LOG_SOURCES = ("app", "daprd")
#: Path segments the pages pass on to the API (ids, keys, app names): nothing else.
ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,200}$"
SAGA_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
KEY_PATTERN = r"^[a-z][a-z0-9_.]{0,99}$"


def app_names() -> list[str]:
    """Every app the operations API knows (AppId; dapr.yaml runs the same set)."""
    return [a.value for a in AppId]


def pretty(value: Any) -> str:
    """JSON for people: indented, keys sorted, non-ASCII kept (escaped by the template)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def last_page(total: int, limit: int) -> int:
    return max(1, math.ceil(total / limit)) if limit > 0 else 1


def local_page(items: list[Any], page: int, limit: int) -> tuple[list[Any], int]:
    """One page of `items` filtered here (the API has no such filter), and their total."""
    start = (max(page, 1) - 1) * limit
    return items[start : start + limit], len(items)


def user_matches(user: dict[str, Any], query: str) -> bool:
    """A user whose email, name or id contains `query` (case-insensitive)."""
    needle = query.strip().lower()
    if not needle:
        return True
    return any(needle in str(user.get(k) or "").lower() for k in ("email", "name", "user_id"))


def letter_from_app(letter: dict[str, Any], app: str) -> bool:
    """A dead letter published by `app` or dropped by it."""
    return not app or app in (letter.get("source"), letter.get("failed_by"))


def filter_lines(lines: Iterable[str], needle: str) -> list[str]:
    """Log lines containing `needle` (case-insensitive); all of them without one."""
    found = needle.strip().lower()
    return [line for line in lines if found in line.lower()] if found else list(lines)


def day_bounds(start: str, end: str) -> tuple[str | None, str | None, dict[str, str]]:
    """A form's 'from'/'to' dates (both inclusive, UTC) as the audit API's `start_date`
    (inclusive) and `end_date` (exclusive) ISO timestamps, with per-field errors."""
    errors: dict[str, str] = {}
    out: list[str | None] = []
    for name, value, shift in (("from", start, 0), ("to", end, 1)):
        value = value.strip()
        if not value:
            out.append(None)
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            errors[name] = "Enter a date as YYYY-MM-DD."
            out.append(None)
            continue
        out.append(f"{(day + timedelta(days=shift)).isoformat()}T00:00:00+00:00")
    if out[0] and out[1] and out[0] >= out[1]:
        errors["to"] = "The end date must not be before the start date."
    return out[0], out[1], errors


# -- runtime settings -----------------------------------------------------------------------
def config_kind(entry: dict[str, Any]) -> str:
    """How a setting is edited: boolean, integer, number, object (one field per member) or
    json (a text box)."""
    default = entry.get("default")
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int) and str(entry.get("type", "")).startswith("integer"):
        return "integer"
    if isinstance(default, int | float):
        return "number"
    if isinstance(default, dict) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in default.values()
    ):
        return "object"
    return "json"


def config_members(entry: dict[str, Any]) -> list[str]:
    """An object setting's member names (the value's, else the default's)."""
    value, default = entry.get("value"), entry.get("default")
    source = value if isinstance(value, dict) and value else default
    return [str(k) for k in source] if isinstance(source, dict) else []


def config_message(key: str, message: str) -> str:
    """The API's refusal of a value, said by the field ('Invalid value for k: Value error,
    x' -> 'X')."""
    for prefix in (f"Invalid value for {key}: ", "Value error, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return (message[:1].upper() + message[1:]) if message else "This value is not valid."


def _number(raw: str) -> int | float:
    value = float(raw.strip())
    if not math.isfinite(value):
        raise ValueError(raw)
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def parse_config(entry: dict[str, Any], form: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """The value a settings form means, and per-field errors where it cannot mean one (the
    API checks the bounds and rules itself; its message is then shown by `value`)."""
    kind = config_kind(entry)
    raw = str(form.get("value", ""))
    if kind == "boolean":
        if raw not in ("true", "false"):
            return None, {"value": "Choose on or off."}
        return raw == "true", {}
    if kind == "integer":
        try:
            return int(raw.strip()), {}
        except ValueError:
            return None, {"value": "Enter a whole number."}
    if kind == "number":
        try:
            return _number(raw), {}
        except ValueError:
            return None, {"value": "Enter a number."}
    if kind == "object":
        value: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for member in config_members(entry):
            name = f"value.{member}"
            try:
                value[member] = _number(str(form.get(name, "")))
            except ValueError:
                errors[name] = "Enter a number."
        return value, errors
    try:
        return json.loads(raw), {}
    except ValueError:
        return None, {"value": "Enter a valid JSON value."}


def config_form(entry: dict[str, Any]) -> dict[str, str]:
    """The form fields of a setting's current value."""
    kind = config_kind(entry)
    value = entry.get("value")
    if kind == "boolean":
        return {"value": "true" if value else "false"}
    if kind == "object" and isinstance(value, dict):
        return {f"value.{k}": str(v) for k, v in value.items()}
    if kind == "json":
        return {"value": json.dumps(value, ensure_ascii=False)}
    return {"value": "" if value is None else str(value)}


def shown(value: Any) -> str:
    """A setting's value on one line."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if value is None:
        return "not set"
    return str(value) if not isinstance(value, list) else json.dumps(value)


# -- operations ------------------------------------------------------------------------------
STATUS_BADGE = {
    "up": "ok",
    "ok": "ok",
    "degraded": "warn",
    "down": "bad",
    "running": "ok",
    "pending": "warn",
    "suspended": "warn",
    "completed": "ok",
    "failed": "bad",
    "terminated": "bad",
    "open": "warn",
    "replayed": "ok",
    "SUCCESS": "ok",
    "RETRY": "warn",
    "DROP": "bad",
}


def badge(status: Any) -> str:
    """The badge class of a status (the status is always written out too)."""
    return STATUS_BADGE.get(str(status), "")


def merge_ops(
    health: dict[str, Any] | None, services: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per app: its health and what its sidecar reports, in AppId order (apps only
    one of the answers names come after, so nothing reported is hidden)."""
    by_health = {a["app_id"]: a for a in (health or {}).get("apps", [])}
    by_service = {a["app_id"]: a for a in (services or {}).get("apps", [])}
    names = app_names()
    names += sorted((set(by_health) | set(by_service)) - set(names))
    rows = []
    for name in names:
        row_health = by_health.get(name)
        service = by_service.get(name)
        sidecar = (service or {}).get("sidecar") or {}
        rows.append(
            {
                "app_id": name,
                "health": row_health,
                "service": service,
                "status": (row_health or {}).get("status") or (service or {}).get("status"),
                "runtime_version": sidecar.get("runtime_version", ""),
                "components": len(sidecar.get("components") or []),
                "subscriptions": len(sidecar.get("subscriptions") or []),
                "actors": sum(int(a.get("count") or 0) for a in sidecar.get("actors") or []),
                "outbox": (service or {}).get("outbox"),
            }
        )
    return rows


def outbox_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Events waiting in every document outbox, and the apps where some wait."""
    pending = [r for r in rows if r["outbox"] and r["outbox"].get("pending_events")]
    return {
        "events": sum(int(r["outbox"]["pending_events"]) for r in pending),
        "documents": sum(int(r["outbox"].get("pending_documents") or 0) for r in pending),
        "apps": len(pending),
    }


def seconds(value: Any) -> str:
    """A duration in seconds as people say it (4 s, 3 min 20 s, 2 h 5 min)."""
    try:
        total = float(value)
    except (TypeError, ValueError):
        return ""
    whole = int(total)
    if whole < 60:
        return f"{total:.0f} s" if total >= 10 else f"{total:.1f} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def replay_summary(result: dict[str, Any]) -> tuple[str, str]:
    """The flash message and its kind for a replay's answer."""
    outcomes = ", ".join(
        f"{o.get('app_id')} {o.get('status')}" for o in result.get("outcomes") or []
    )
    if result.get("resolved"):
        return f"Replayed and accepted ({outcomes}). The dead letter is resolved.", "success"
    return (
        f"Replayed, but not every consumer accepted it ({outcomes or 'no consumer'}). "
        "It stays open.",
        "warning",
    )


def terminate_summary(result: dict[str, Any]) -> str:
    parts = [f"Saga {result.get('saga_id')} is {result.get('status')}"]
    if result.get("payment_status"):
        parts.append(f"payment {result['payment_status']}")
    if result.get("refunded"):
        parts.append("refunded")
    if result.get("order_status"):
        parts.append(f"order {result['order_status']}")
    return ", ".join(parts) + "."
