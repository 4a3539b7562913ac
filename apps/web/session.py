"""The visitor's session: one encrypted, authenticated cookie (Fernet; HttpOnly, Secure,
SameSite=Lax) holding the storefront API tokens, the guest cart session, the CSRF token and
one-shot flash messages. Nothing of it is readable or forgeable by the browser; the key
comes from the `web-secrets` store (Key Vault in Azure) and may list several keys
(comma-separated, newest first) so it can be rotated without signing everyone out."""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

COOKIE = "sc_web"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: A cookie above this is refused by browsers (4,096 bytes with its name and attributes).
MAX_COOKIE_BYTES = 3900
#: A guest's orders remembered in the session (the newest).
MAX_ORDERS = 5


def cipher(secret: str) -> MultiFernet:
    """A Fernet per comma-separated key (any text; hashed to the 32 bytes Fernet takes)."""
    keys = [k.strip() for k in secret.split(",") if k.strip()]
    if not keys:
        raise ValueError("the web session key is empty")
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest())) for k in keys]
    )


@dataclass
class WebSession:
    """What the cookie holds. `dirty` is set by every change; the response then rewrites it."""

    guest: str = ""  # X-Session-Id of the guest cart (kept after sign-in for the merge)
    access: str = ""
    refresh: str = ""
    access_expires: float = 0.0
    user: dict[str, Any] = field(default_factory=dict)  # user_id, email, name, role
    csrf: str = ""
    mfa_token: str = ""  # between password and code when two-factor sign-in is on
    flash: list[dict[str, str]] = field(default_factory=list)
    #: A guest's own recent orders -> the email they were placed with (the API's access
    #: rule for guests), so order pages need no email in their address.
    orders: dict[str, str] = field(default_factory=dict)
    dirty: bool = False

    @property
    def signed_in(self) -> bool:
        return bool(self.access and self.user)

    @property
    def role(self) -> str:
        return str(self.user.get("role", "anonymous")) if self.signed_in else "anonymous"

    def csrf_token(self) -> str:
        if not self.csrf:
            self.csrf = secrets.token_urlsafe(24)
            self.dirty = True
        return self.csrf

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(self.csrf and sent) and hmac.compare_digest(self.csrf, str(sent))

    def guest_session(self) -> str:
        if not self.guest:
            self.guest = secrets.token_urlsafe(24)
            self.dirty = True
        return self.guest

    def sign_in(self, pair: dict[str, Any]) -> None:
        """Keep a storefront token pair (TokenPair); a new CSRF token for the new identity."""
        user = pair.get("user") or {}
        self.access = str(pair["access_token"])
        self.refresh = str(pair.get("refresh_token", ""))
        self.access_expires = time.time() + float(pair.get("expires_in", 900))
        self.user = {k: user.get(k, "") for k in ("user_id", "email", "name", "role")}
        self.mfa_token = ""
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def sign_out(self) -> None:
        self.access = self.refresh = self.mfa_token = ""
        self.access_expires = 0.0
        self.user = {}
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def notify(self, message: str, kind: str = "info") -> None:
        """A message shown once, on the next page rendered."""
        self.flash.append({"kind": kind, "message": message[:300]})
        self.dirty = True

    def remember_order(self, order_id: str, email: str) -> None:
        """Keep a guest's order (the last MAX_ORDERS) so its pages open without the email."""
        if self.orders.get(order_id) == email:
            return
        self.orders.pop(order_id, None)
        self.orders[order_id] = email[:254]
        while len(self.orders) > MAX_ORDERS:
            self.orders.pop(next(iter(self.orders)))
        self.dirty = True

    def order_email(self, order_id: str) -> str:
        return self.orders.get(order_id, "")

    def take_flash(self) -> list[dict[str, str]]:
        found, self.flash = self.flash, []
        if found:
            self.dirty = True
        return found

    # -- the cookie ----------------------------------------------------------------------
    def dump(self, box: MultiFernet) -> str:
        data = {
            "g": self.guest,
            "a": self.access,
            "r": self.refresh,
            "e": self.access_expires,
            "u": self.user,
            "c": self.csrf,
            "m": self.mfa_token,
            "f": self.flash[-3:],
            "o": self.orders,
        }
        token = box.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()
        if len(token) > MAX_COOKIE_BYTES:  # never a cookie the browser drops silently
            data["f"] = []
            token = box.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()
        return token

    @classmethod
    def load(cls, box: MultiFernet, value: str | None, max_age: int) -> "WebSession":
        """The session in the cookie, or a new one if it is missing, expired or not ours."""
        if not value or len(value) > MAX_COOKIE_BYTES:
            return cls()
        try:
            data = json.loads(box.decrypt(value.encode(), ttl=max_age))
        except (InvalidToken, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(
            guest=str(data.get("g", "")),
            access=str(data.get("a", "")),
            refresh=str(data.get("r", "")),
            access_expires=float(data.get("e", 0) or 0),
            user=data.get("u") if isinstance(data.get("u"), dict) else {},
            csrf=str(data.get("c", "")),
            mfa_token=str(data.get("m", "")),
            flash=[f for f in data.get("f", []) if isinstance(f, dict)][:3],
            orders=_orders(data.get("o")),
        )


def _orders(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    kept = {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
    return dict(list(kept.items())[-MAX_ORDERS:])
