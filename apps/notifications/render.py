"""Email bodies from Jinja2 templates (templates/<name>.html and .txt), amounts and dates in
the customer's language (Babel's CLDR data). Pure: no I/O beyond reading the templates.

Money is `Decimal` all the way: Babel formats the Decimal itself (never a float), in the
order's currency, with the customer's locale for separators and symbol placement.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from apps.contracts.notifications import NotificationKind
from apps.notifications.domain import KINDS

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=1)
def _environments() -> tuple[Environment, Environment]:
    """HTML (autoescaped: names, addresses and staff messages are customer data) and text."""
    loader = FileSystemLoader(TEMPLATES)
    html = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    text = Environment(
        loader=loader,
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return html, text


@lru_cache(maxsize=256)
def locale_for(language: str) -> Locale:
    """`de`, `de-DE`, `pt_BR` ... as a Babel locale; anything unknown is English."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


class Formatter:
    """`money`, `date` and `datetime` for the templates, in one locale and currency."""

    def __init__(self, language: str, currency: str) -> None:
        self.locale = locale_for(language)
        self.currency = currency

    def money(self, amount: Decimal | str, currency: str | None = None) -> str:
        value = amount if isinstance(amount, Decimal) else Decimal(amount)
        return format_currency(value, currency or self.currency, locale=self.locale)

    def date(self, value: datetime | None) -> str:
        return format_date(value, format="long", locale=self.locale) if value else ""

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="medium", tzinfo=value.tzinfo, locale=self.locale)


def one_line(value: str, limit: int = 200) -> str:
    """A header value: no line breaks (no header injection), bounded."""
    return " ".join(value.split())[:limit]


def render(kind: NotificationKind, context: dict[str, Any], language: str) -> Rendered:
    """Subject, HTML and plain text of one message. `context` holds the kind's fields
    (see the template); `currency` in it picks the currency of amounts (default USD)."""
    spec = KINDS[kind]
    fmt = Formatter(language, str(context.get("currency") or "USD"))
    values = {
        **context,
        "kind": kind.value,
        "lang": fmt.locale.language,
        "money": fmt.money,
        "date": fmt.date,
        "datetime": fmt.datetime,
    }
    html_env, text_env = _environments()
    subject = text_env.from_string(spec.subject).render(values)
    return Rendered(
        subject=one_line(subject),
        html=html_env.get_template(f"{spec.template}.html").render(values),
        text=text_env.get_template(f"{spec.template}.txt").render(values),
    )
