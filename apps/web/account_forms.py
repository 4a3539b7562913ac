"""Pure helpers of the account pages (no I/O): what a return form may ask for and what it
asked, addresses as the forms send them, the problems of an address per field, the state of
an email link's token, and the preference an unsubscribe link names."""

from typing import Any

#: Why something goes back (apps/contracts/returns.py ReturnReason), as shoppers read it.
RETURN_REASONS: dict[str, str] = {
    "damaged": "Arrived damaged",
    "wrong_item": "Wrong item sent",
    "not_as_described": "Not as described",
    "no_longer_needed": "No longer needed",
    "other": "Other reason",
}
#: Order states whose goods may have been returned (or may still be).
RETURNABLE_STATES = ("delivered", "completed", "partially_refunded", "refunded")
#: What a request is about (apps/contracts/tickets.py TicketType).
TICKET_TYPES: dict[str, str] = {
    "order": "An order",
    "delivery": "A delivery",
    "return": "A return",
    "payment": "A payment",
    "product": "A product",
    "other": "Something else",
}
#: The email and text message choices (apps/contracts/identity.py Notifications).
NOTIFICATION_CHOICES: dict[str, str] = {
    "email_orders": "Emails about my orders",
    "email_marketing": "Offers and news by email",
    "sms_shipping": "Text messages about deliveries",
}
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch"}
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")
#: Stripe's test payment methods that local mode accepts (a real shop collects the card
#: with Stripe's own form and saves the id it answers): id -> (brand, last 4, type).
TEST_PAYMENT_METHODS: dict[str, tuple[str, str, str]] = {
    "pm_card_visa": ("Visa", "4242", "credit_card"),
    "pm_card_visa_debit": ("Visa", "5556", "debit_card"),
    "pm_card_mastercard": ("Mastercard", "4444", "credit_card"),
    "pm_card_amex": ("American Express", "8431", "credit_card"),
}


def status_label(value: Any) -> str:
    """'awaiting_payment' -> 'Awaiting payment'."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def returned_quantities(order: dict[str, Any]) -> dict[tuple[str, str], int]:
    """Units of each (product, variant) already in a return that was not rejected."""
    taken: dict[tuple[str, str], int] = {}
    for ret in order.get("returns") or []:
        if ret.get("status") == "rejected":
            continue
        for line in ret.get("lines") or []:
            key = (str(line.get("product_id")), str(line.get("variant_id")))
            taken[key] = taken.get(key, 0) + int(line.get("quantity") or 0)
    return taken


def returnable_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's lines with `returnable`: units bought less units already returned."""
    taken = returned_quantities(order)
    lines = []
    for index, line in enumerate(order.get("items") or []):
        key = (str(line.get("product_id")), str(line.get("variant_id")))
        bought = int(line.get("quantity") or 0)
        used = min(taken.get(key, 0), bought)
        taken[key] = taken.get(key, 0) - used
        lines.append({**line, "index": index, "returnable": bought - used})
    return lines


def return_request(
    lines: list[dict[str, Any]], form: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The return's lines from the form (`qty-<i>`, `reason-<i>`) and the problems per field;
    at least one unit must be chosen."""
    chosen: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for line in lines:
        i = line["index"]
        raw = str(form.get(f"qty-{i}", "0")).strip() or "0"
        try:
            quantity = int(raw)
        except ValueError:
            errors[f"qty-{i}"] = "Choose a number of units"
            continue
        if quantity < 0 or quantity > line["returnable"]:
            errors[f"qty-{i}"] = f"You can return up to {line['returnable']}"
            continue
        if quantity == 0:
            continue
        reason = str(form.get(f"reason-{i}", "other"))
        if reason not in RETURN_REASONS:
            errors[f"reason-{i}"] = "Choose a reason"
            continue
        chosen.append(
            {
                "product_id": line["product_id"],
                "variant_id": line["variant_id"],
                "quantity": quantity,
                "reason": reason,
            }
        )
    if not chosen and not errors:
        errors["lines"] = "Choose at least one item to return"
    return chosen, errors


def address_form(form: dict[str, Any]) -> dict[str, str]:
    """The address fields of a form, trimmed (nothing else)."""
    return {name: str(form.get(name, "") or "").strip() for name in ADDRESS_FIELDS}


def address_problems(validation: dict[str, Any]) -> dict[str, str]:
    """`POST /api/addresses/validate`'s problems per field, readable ('name is required' ->
    'Name is required'); the first problem of a field wins."""
    problems: dict[str, str] = {}
    for item in validation.get("errors") or []:
        name = str(item.get("field", "")).split(".")[-1] or "address"
        message = str(item.get("message", "")).replace("postal_code", "postal code")
        message = message.replace("line1", "address line")
        problems.setdefault(name, message[:1].upper() + message[1:])
    return problems


def link_state(details: dict[str, Any], message: str) -> str:
    """'expired' or 'invalid' for a refused email link (the API's `details.reason`, else
    its message)."""
    reason = str(details.get("reason", "")).lower()
    if reason in ("expired", "invalid"):
        return reason
    return "expired" if "expired" in message.lower() else "invalid"


def unsubscribe_choice(value: str | None) -> str | None:
    """The email preference an unsubscribe link names (`?unsubscribe=email_marketing`), if
    it is one of ours."""
    if value and value in NOTIFICATION_CHOICES and value.startswith("email_"):
        return value
    return None


def preferences_from_form(form: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A `PUT /api/users/me/preferences` body: language and currency as chosen (else as
    they were), each notification on only if its box was ticked."""
    language = str(form.get("language") or current.get("language") or "en")
    currency = str(form.get("currency") or current.get("currency") or "USD")
    return {
        "language": language,
        "currency": currency,
        "notifications": {name: form.get(name) == "on" for name in NOTIFICATION_CHOICES},
    }
