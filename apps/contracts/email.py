"""E-mail addresses as every app accepts them: RFC 5322 addresses as people have them
(plus-addressing, `/ ? # % & '`, quoted local parts with spaces or `;`, non-ASCII), checked
by email-validator and returned normalised (domain lower-cased, Unicode NFC). Domains that
cannot receive mail (RFC 6761 special-use names such as `.test`, `.local`, `.invalid`) are
refused, and the JSON Schema says so with a pattern, so a client that trusts the OpenAPI
document never sends an address the server refuses."""

from functools import lru_cache
from typing import Annotated

import email_validator
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

MAX_EMAIL_LENGTH = 254


def _either_case(name: str) -> str:
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\." if c == "." else c for c in name
    )


SPECIAL_USE = sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES)
#: No domain equal to or under a special-use name (written without inline flags, so any
#: JSON Schema regex engine reads it the same).
EMAIL_PATTERN = (
    "^(?![^\\u0000]*@(?:[^@]*\\.)?(?:"
    + "|".join(_either_case(d) for d in SPECIAL_USE)
    + ")\\.?\\s*$)[^\\u0000]*@[^\\u0000]*$"
)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def check_email(value: str) -> str:
    """The normalised address, or ValueError with email-validator's reason."""
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    return _normalised(value)


@lru_cache(maxsize=8192)
def _normalised(value: str) -> str:
    """email-validator's verdict, remembered: the same address is checked in every model
    that carries it (an order is validated several times per request), and the check is
    pure. Refusals raise, so they are not remembered."""
    try:
        found = email_validator.validate_email(
            value, check_deliverability=False, allow_quoted_local=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return found.normalized


Email = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(check_email),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": MAX_EMAIL_LENGTH,
            "pattern": EMAIL_PATTERN,
            "description": "An email address (RFC 5322; quoted local parts and non-ASCII "
            "accepted); domains reserved for special use (" + ", ".join(SPECIAL_USE) + ") "
            "cannot receive mail and are refused.",
        }
    ),
]


def same_email(recorded: str, given: str) -> bool:
    """Whether `given` names the mailbox `recorded` (case and surrounding blanks aside)."""
    return recorded.strip().lower() == given.strip().lower()


def is_owner(
    owner_user_id: str | None, owner_email: str, user_id: str | None, email: str | None
) -> bool:
    """Who may see an order or its checkout: its owner (the signed-in user it was placed
    by) or whoever knows its email. Anyone else is answered as if it did not exist."""
    if user_id is not None and owner_user_id == user_id:
        return True
    return email is not None and same_email(owner_email, email)
