"""The account pages' pure helpers (apps/web/account_forms.py): what a return form may ask
for and what it asked, address problems per field, email link states, unsubscribe links and
the preferences a form sends."""

from typing import Any

from apps.web.account_forms import (
    address_form,
    address_problems,
    link_state,
    preferences_from_form,
    return_request,
    returnable_lines,
    status_label,
    unsubscribe_choice,
)


def _order(**more: Any) -> dict[str, Any]:
    line = {"product_id": "p1", "variant_id": "p1-v1", "sku": "S1", "name": "Mug", "quantity": 3}
    other = {"product_id": "p2", "variant_id": "p2-v1", "sku": "S2", "name": "Cup", "quantity": 1}
    return {"status": "delivered", "items": [line, other], "returns": [], **more}


def _return(status: str, quantity: int, product: str = "p1") -> dict[str, Any]:
    line = {"product_id": product, "variant_id": f"{product}-v1", "quantity": quantity}
    return {"status": status, "lines": [line]}


def test_returnable_units_leave_out_earlier_returns_but_not_rejected_ones() -> None:
    order = _order(
        returns=[_return("requested", 2), _return("rejected", 1), _return("approved", 1, "p2")]
    )
    lines = returnable_lines(order)
    assert [(x["index"], x["returnable"]) for x in lines] == [(0, 1), (1, 0)]
    assert returnable_lines(_order())[0]["returnable"] == 3


def test_a_return_request_takes_the_chosen_units_and_reasons() -> None:
    lines = returnable_lines(_order())
    chosen, errors = return_request(lines, {"qty-0": "2", "reason-0": "damaged", "qty-1": "0"})
    assert errors == {}
    assert chosen == [
        {"product_id": "p1", "variant_id": "p1-v1", "quantity": 2, "reason": "damaged"}
    ]


def test_a_return_request_is_refused_per_field() -> None:
    lines = returnable_lines(_order())
    assert return_request(lines, {})[1] == {"lines": "Choose at least one item to return"}
    _, errors = return_request(lines, {"qty-0": "4", "qty-1": "x"})
    assert errors == {"qty-0": "You can return up to 3", "qty-1": "Choose a number of units"}
    _, errors = return_request(lines, {"qty-0": "1", "reason-0": "because"})
    assert errors == {"reason-0": "Choose a reason"}
    assert return_request(lines, {"qty-0": "-1"})[1] == {"qty-0": "You can return up to 3"}


def test_address_fields_are_trimmed_and_problems_read_per_field() -> None:
    form = {"name": " Ada ", "line1": "1 Main", "country": "us", "csrf_token": "x", "extra": "y"}
    fields = address_form(form)
    assert fields["name"] == "Ada" and fields["country"] == "us" and "extra" not in fields
    assert set(fields) == {
        "name",
        "line1",
        "line2",
        "city",
        "state",
        "postal_code",
        "country",
        "phone",
    }
    problems = address_problems(
        {
            "valid": False,
            "errors": [
                {"field": "line1", "message": "line1 is required"},
                {"field": "postal_code", "message": "postal_code is required"},
                {"field": "postal_code", "message": "second problem"},
                {"field": "address.state", "message": "Not a state"},
            ],
        }
    )
    assert problems == {
        "line1": "Address line is required",
        "postal_code": "Postal code is required",
        "state": "Not a state",
    }


def test_email_link_states() -> None:
    assert link_state({"reason": "expired"}, "whatever") == "expired"
    assert link_state({"reason": "invalid"}, "This link has expired") == "invalid"
    assert link_state({}, "This link has expired; ask for a new one") == "expired"
    assert link_state({}, "Request validation failed") == "invalid"


def test_only_our_email_choices_can_be_unsubscribed() -> None:
    assert unsubscribe_choice("email_marketing") == "email_marketing"
    assert unsubscribe_choice("email_orders") == "email_orders"
    assert unsubscribe_choice("sms_shipping") is None
    assert unsubscribe_choice("<script>") is None
    assert unsubscribe_choice(None) is None


def test_preferences_from_a_form_turn_off_unticked_boxes() -> None:
    current = {"language": "fr", "currency": "EUR", "notifications": {"email_marketing": True}}
    body = preferences_from_form({"email_orders": "on", "currency": "GBP"}, current)
    assert body == {
        "language": "fr",
        "currency": "GBP",
        "notifications": {"email_orders": True, "email_marketing": False, "sms_shipping": False},
    }


def test_status_labels() -> None:
    assert status_label("awaiting_payment") == "Awaiting payment"
    assert status_label("") == "" and status_label(None) == ""
