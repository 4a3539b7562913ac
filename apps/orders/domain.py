"""Pure rules of the orders app (the state machine itself is actors/order/logic.py)."""

from datetime import datetime

ORDER_NUMBER_PREFIX = "SC"


def format_order_number(year: int, sequence: int) -> str:
    """Human-friendly and unique: SC-2026-000123 (six digits, more when needed)."""
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{ORDER_NUMBER_PREFIX}-{year:04d}-{sequence:06d}"


def order_number_for(now: datetime, sequence: int) -> str:
    return format_order_number(now.year, sequence)


def email_matches(order_email: str, given: str) -> bool:
    return order_email.strip().lower() == given.strip().lower()
