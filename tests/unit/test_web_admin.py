"""The admin pages' pure helpers: settings forms to values (and back), the audit log's date
filters, local search and paging, the operations table and the messages of outcomes."""

import pytest

from apps.contracts.names import AppId
from apps.web.admin_common import base_url
from apps.web.admin_helpers import (
    app_names,
    badge,
    config_form,
    config_kind,
    config_members,
    config_message,
    day_bounds,
    filter_lines,
    letter_from_app,
    local_page,
    merge_ops,
    outbox_totals,
    parse_config,
    pretty,
    replay_summary,
    seconds,
    shown,
    terminate_summary,
    user_matches,
)

BANDS = {
    "key": "fraud.bands",
    "value": {"review": 0.3, "reject": 0.8},
    "default": {"review": 0.3, "reject": 0.8},
    "type": "object {review: 0<p<1, reject: 0<p<1}, review < reject",
}
FLAG = {"key": "storefront.rate_limit.enabled", "value": True, "default": True, "type": "boolean"}
LIMIT = {"key": "x.per_minute", "value": 600, "default": 600, "type": "integer 1..1000000"}
STEP = {"key": "orders.carrier_step_seconds", "value": 60, "default": 60, "type": "number of s"}


def test_each_setting_gets_the_form_its_type_needs() -> None:
    assert [config_kind(e) for e in (BANDS, FLAG, LIMIT, STEP)] == [
        "object",
        "boolean",
        "integer",
        "number",
    ]
    assert config_kind({"default": ["a"], "type": "list"}) == "json"
    assert config_members(BANDS) == ["review", "reject"]
    assert config_members(LIMIT) == []
    assert config_form(BANDS) == {"value.review": "0.3", "value.reject": "0.8"}
    assert config_form(FLAG) == {"value": "true"}
    assert config_form(LIMIT) == {"value": "600"}


@pytest.mark.parametrize(
    ("entry", "form", "value"),
    [
        (FLAG, {"value": "false"}, False),
        (LIMIT, {"value": " 42 "}, 42),
        (STEP, {"value": "1.5"}, 1.5),
        (STEP, {"value": "2"}, 2),
        (BANDS, {"value.review": "0.2", "value.reject": "0.9"}, {"review": 0.2, "reject": 0.9}),
        ({"default": None, "type": "any"}, {"value": '{"a": [1]}'}, {"a": [1]}),
    ],
)
def test_a_settings_form_means_a_value(entry: dict, form: dict, value: object) -> None:
    assert parse_config(entry, form) == (value, {})


@pytest.mark.parametrize(
    ("entry", "form", "field"),
    [
        (FLAG, {"value": "maybe"}, "value"),
        (LIMIT, {"value": "1.5"}, "value"),
        (LIMIT, {"value": "abc"}, "value"),
        (STEP, {"value": "nan"}, "value"),
        (BANDS, {"value.review": "0.2", "value.reject": "lots"}, "value.reject"),
        ({"default": None, "type": "any"}, {"value": "{nope"}, "value"),
    ],
)
def test_a_value_the_form_cannot_mean_is_said_by_its_field(
    entry: dict, form: dict, field: str
) -> None:
    _, errors = parse_config(entry, form)
    assert list(errors) == [field]


def test_the_apis_refusal_reads_as_a_field_message() -> None:
    message = "Invalid value for fraud.bands: Value error, review must be below reject"
    assert config_message("fraud.bands", message) == "Review must be below reject"
    assert config_message("k", "") == "This value is not valid."
    assert shown({"review": 0.3, "reject": 0.8}) == "review: 0.3, reject: 0.8"
    assert (shown(True), shown(None), shown(7)) == ("on", "not set", "7")


def test_audit_dates_are_inclusive_days_in_utc() -> None:
    start, end, errors = day_bounds("2026-03-01", "2026-03-01")
    assert (start, end, errors) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-02T00:00:00+00:00",
        {},
    )
    assert day_bounds("", "") == (None, None, {})
    assert set(day_bounds("2026-13-01", "x")[2]) == {"from", "to"}
    assert "to" in day_bounds("2026-03-05", "2026-03-01")[2]


def test_search_and_paging_done_here() -> None:
    users = [
        {"email": f"u{i}@example.com", "name": f"User {i}", "user_id": f"u-{i}"} for i in range(30)
    ]
    found = [u for u in users if user_matches(u, "USER 1")]
    assert [u["user_id"] for u in found] == ["u-1"] + [f"u-{i}" for i in range(10, 20)]
    assert user_matches(users[0], "  ")
    items, total = local_page(found, 2, 5)
    assert total == 11 and [u["user_id"] for u in items] == [f"u-{i}" for i in range(14, 19)]
    assert local_page(found, 9, 5) == ([], 11)
    letter = {"source": "orders", "failed_by": "notifications"}
    assert letter_from_app(letter, "orders") and letter_from_app(letter, "notifications")
    assert letter_from_app(letter, "") and not letter_from_app(letter, "cart")
    assert filter_lines(["a ERROR x", "b info", "c error"], "error") == ["a ERROR x", "c error"]
    assert filter_lines(["a", "b"], "") == ["a", "b"]


def test_the_pager_keeps_the_filters() -> None:
    assert base_url("/admin/sagas", {"status": ["running", "failed"], "stuck": ""}) == (
        "/admin/sagas?status=running&status=failed&"
    )
    assert base_url("/admin/audit", {"actor": "a b&c"}) == "/admin/audit?actor=a+b%26c&"
    assert base_url("/admin/users", {"q": ""}) == "/admin/users?"


def test_the_operations_table_has_every_app_in_order() -> None:
    health = {
        "apps": [
            {"app_id": "cart", "status": "up", "live": True, "ready": True},
            {"app_id": "pricing", "status": "down", "live": False, "ready": False},
        ]
    }
    services = {
        "apps": [
            {
                "app_id": "cart",
                "status": "up",
                "sidecar": {
                    "components": [{"name": "statestore"}],
                    "subscriptions": [],
                    "actors": [{"type": "CartActor", "count": 3}],
                },
                "outbox": None,
            },
            {
                "app_id": "catalog",
                "status": "up",
                "sidecar": {},
                "outbox": {"pending_events": 4, "pending_documents": 2},
            },
            {"app_id": "newcomer", "status": "up"},
        ]
    }
    rows = merge_ops(health, services)
    assert [r["app_id"] for r in rows] == [a.value for a in AppId] + ["newcomer"]
    by = {r["app_id"]: r for r in rows}
    assert (by["cart"]["components"], by["cart"]["actors"]) == (1, 3)
    assert by["pricing"]["status"] == "down" and by["pricing"]["service"] is None
    assert by["catalog"]["status"] == "up" and by["catalog"]["health"] is None
    assert by["web"]["status"] is None  # nothing reported: shown as unknown
    assert outbox_totals(rows) == {"events": 4, "documents": 2, "apps": 1}
    assert merge_ops(None, None)[0]["status"] is None
    assert app_names()[0] == "storefront" and "web" in app_names()


def test_statuses_and_outcomes_read_well() -> None:
    assert (badge("up"), badge("degraded"), badge("down"), badge("DROP")) == (
        "ok",
        "warn",
        "bad",
        "bad",
    )
    assert badge("whatever") == ""
    assert [seconds(v) for v in (4.2, 42, 200, 3600, 7500, None)] == [
        "4.2 s",
        "42 s",
        "3 min 20 s",
        "1 h",
        "2 h 5 min",
        "",
    ]
    ok = {"resolved": True, "outcomes": [{"app_id": "orders", "status": "SUCCESS"}]}
    assert replay_summary(ok) == (
        "Replayed and accepted (orders SUCCESS). The dead letter is resolved.",
        "success",
    )
    message, kind = replay_summary({"resolved": False, "outcomes": []})
    assert kind == "warning" and "no consumer" in message
    done = {"saga_id": "o-1", "status": "terminated", "payment_status": "canceled"}
    assert terminate_summary({**done, "order_status": "cancelled"}) == (
        "Saga o-1 is terminated, payment canceled, order cancelled."
    )
    assert pretty({"b": "<x>", "a": "é"}) == '{\n  "a": "é",\n  "b": "<x>"\n}'
