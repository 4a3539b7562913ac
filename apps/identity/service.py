"""Identity use cases: accounts, sign-in (password or Microsoft Entra ID), access and
refresh tokens, the account's own data, rewards from paid orders, and admin with an audit
log. Storage is a key-value store with ETags (Dapr state), behind `Store`. Account events
go out through the account's outbox (`Outbox`); recovery and two-factor sign-in are in
`account_security.py`."""

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from apps.contracts.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    NotFound,
    Unauthorized,
    UnprocessableError,
)
from apps.contracts.events import EventEnvelope
from apps.contracts.identity import (
    AccountStanding,
    AddressIn,
    AdminUserCreate,
    AuditEntry,
    ContactDetails,
    Dashboard,
    PasswordChange,
    PaymentMethodIn,
    Preferences,
    Principal,
    ProfileUpdate,
    Role,
    SignupRequest,
    TokenPair,
    TokenStatus,
    TokenStatusRequest,
    UserPage,
    UserProfile,
)
from apps.contracts.orders import OrderEventData
from apps.contracts.user_events import (
    EmailVerificationRequested,
    NewDeviceSignIn,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from apps.identity import credentials, domain, keys
from apps.identity.account_security import AccountSecurity, MfaChallenge
from apps.identity.credentials import Device
from apps.identity.domain import Family, RefreshRecord, UserRecord
from apps.identity.settings import IdentitySettings
from apps.platform.logging import current_correlation_id
from apps.platform.state import EtagMismatch, Versioned

log = structlog.stdlib.get_logger("identity")
KEYS_DOC = "signing-keys"


class Store(Protocol):
    async def get(self, key: str) -> Versioned | None: ...

    async def insert(self, key: str, value: Any) -> None: ...

    async def replace(self, key: str, value: Any, etag: str) -> None: ...

    async def delete(self, key: str, etag: str) -> None: ...

    async def compare_and_set(
        self, key: str, decide: Callable[[Any | None], Any | None], attempts: int = 20
    ) -> bool: ...

    def query(
        self,
        filter_: dict[str, Any],
        page_size: int = 1000,
        sort: list[dict[str, str]] | None = None,
    ) -> AsyncIterator[Versioned]: ...


class Orders(Protocol):
    async def recent(self, user_id: str, limit: int) -> tuple[int, list[dict[str, Any]]]: ...

    async def order(self, user_id: str, order_id: str) -> dict[str, Any] | None: ...


#: An order in one of these states has been paid (points are earned once it is paid).
PAID_OR_LATER = frozenset({"paid", "fulfilling", "shipped", "delivered", "completed"})
#: Order states that give money back (and so points).
REVERSING = frozenset({"cancelled", "refunded", "partially_refunded"})


class Outbox(Protocol):
    """Publishes the events a document's outbox holds and removes them once out."""

    async def relay(self, key: str) -> int: ...


class ExternalTokens(Protocol):
    """Microsoft Entra ID: the verified claims of a token, or Unauthorized."""

    async def verify(self, token: str) -> dict[str, Any]: ...


def _now() -> datetime:
    return datetime.now(UTC)


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


class IdentityService(AccountSecurity):
    def __init__(
        self,
        store: Store,
        settings: IdentitySettings,
        orders: Orders,
        entra: ExternalTokens | None,
        outbox: Outbox,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.orders = orders
        self.entra = entra
        self.outbox = outbox
        self.hasher = hasher or PasswordHasher()
        self._ring: keys.KeyRing | None = None
        self._ring_loaded = 0.0
        # Verifying a password against nothing still costs a hash (no timing hint).
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # -- keys ------------------------------------------------------------------------------
    async def key_ring(self, force_reload: bool = False) -> keys.KeyRing:
        """The signing keys (created on first use, rotated when due); cached briefly so
        replicas pick up a rotation."""
        loop_now = asyncio.get_running_loop().time()
        fresh = loop_now - self._ring_loaded < self.settings.key_cache_seconds
        if self._ring is not None and fresh and not force_reload:
            return self._ring
        every = timedelta(days=self.settings.key_rotation_days)

        def decide(raw: Any | None) -> Any | None:
            ring = keys.KeyRing.model_validate(raw) if raw else None
            new = keys.rotated(ring, _now(), every, self.settings.keys_kept)
            return new.model_dump(mode="json") if new else None

        await self.store.compare_and_set(KEYS_DOC, decide)
        found = await self.store.get(KEYS_DOC)
        assert found is not None
        self._ring, self._ring_loaded = keys.KeyRing.model_validate(found.value), loop_now
        return self._ring

    async def rotate_keys(self, actor: Principal) -> dict[str, Any]:
        def decide(raw: Any | None) -> Any | None:
            ring = keys.KeyRing.model_validate(raw) if raw else None
            new = keys.rotated(ring, _now(), timedelta(0), self.settings.keys_kept, force=True)
            return new.model_dump(mode="json") if new else None

        await self.store.compare_and_set(KEYS_DOC, decide)
        ring = await self.key_ring(force_reload=True)
        await self.audit(actor, "keys.rotate", "signing-keys", {"kid": ring.current.kid})
        return {"kid": ring.current.kid, "published": [k.kid for k in ring.keys]}

    async def jwks(self) -> dict[str, Any]:
        return keys.jwks(await self.key_ring())

    # -- accounts --------------------------------------------------------------------------
    async def signup(
        self,
        req: SignupRequest,
        role: Role = Role.CUSTOMER,
        reveal_taken: bool = False,
        device: Device | None = None,
    ) -> UserProfile:
        """A new account, announced (`UserCreated`) and sent a verification link
        (`EmailVerificationRequested`) through its outbox. The public sign-up
        (`reveal_taken=False`) answers an email that has an account exactly as a new one
        (same status, same shape, same work done), so it cannot be used to find out who has
        an account; nothing is created and the attempt is in the audit log. Admins creating
        users get the 409."""
        problem = domain.password_problem(req.password, str(req.email), req.name)
        if problem:
            raise UnprocessableError(problem, field="password")
        user_id = f"u-{uuid.uuid4().hex[:16]}"
        hashed = await asyncio.to_thread(self.hasher.hash, req.password)  # on both paths
        now = _now()
        user = domain.new_user(user_id, str(req.email), req.name, role, now, hashed)
        if device is not None and device.user_agent:  # where the account was made
            user = user.model_copy(
                update={"devices": credentials.remember_device([], device.user_agent)[0]}
            )
        user = self._created(user, now)
        try:  # the email index is insert-only: two sign-ups of one email cannot both win
            await self.store.insert(domain.email_key(str(req.email)), {"user_id": user_id})
        except EtagMismatch as exc:
            if reveal_taken:
                raise Conflict("An account with this email exists", field="email") from exc
            taken = {"email": domain.normalize_email(str(req.email))}
            await self.audit(Principal(), "auth.signup_email_taken", "signup", taken)
            return user.profile
        await self.store.insert(user_key(user_id), user.model_dump(mode="json"))
        await self.outbox.relay(user_key(user_id))
        return user.profile

    def _created(self, user: UserRecord, now: datetime) -> UserRecord:
        """`UserCreated`, and for a password account the link that verifies its email."""
        p = user.profile
        created = UserCreated(
            **domain.event_fields(user, now),
            role=p.role.value,
            auth_provider=p.auth_provider,
            email_verified=p.email_verified,
        )
        user = domain.record_event(user, created, now, current_correlation_id())
        if p.email_verified:
            return user
        return self._verification_requested(user, now)

    def _verification_requested(self, user: UserRecord, now: datetime) -> UserRecord:
        """A new verification token (replacing any earlier one), sent by its event."""
        ttl = timedelta(seconds=self.settings.email_verification_ttl_seconds)
        token, kept = credentials.issue_token(user.profile.user_id, "verify_email", now, ttl)
        user = user.model_copy(update={"tokens": {**user.tokens, "verify_email": kept}})
        asked = EmailVerificationRequested(
            **domain.event_fields(user, now), token=token, expires_at=kept.expires_at
        )
        return domain.record_event(user, asked, now, current_correlation_id())

    async def bootstrap_admin(self, email: str, password: str) -> None:
        """The first admin (who then names others): created once, kept as it is after."""
        if await self._by_email(email) is not None:
            return
        with contextlib.suppress(Conflict):  # another replica created it
            req = SignupRequest(email=email, name="Administrator", password=password)
            profile = await self.signup(req, role=Role.ADMIN, reveal_taken=True)
            system = Principal(user_id="system", role=Role.ADMIN)
            await self.audit(system, "users.bootstrap_admin", profile.user_id, {"email": email})

    async def login(
        self, email: str, password: str, device: Device | None = None
    ) -> TokenPair | MfaChallenge:
        """One answer for an unknown email and a wrong password (no account discovery). An
        account with two-factor on gets a challenge for the second step instead of tokens."""
        user = await self._by_email(email)
        stored = user.password_hash if user and user.status == "active" else None
        ok = await asyncio.to_thread(self._verify, stored or self._dummy_hash, password)
        if user is None or stored is None or not ok:
            raise Unauthorized("Wrong email or password")
        if self.hasher.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(self.hasher.hash, password)
            await self._change(
                user.profile.user_id, lambda u: u.model_copy(update={"password_hash": rehashed})
            )
        if user.two_factor.active:
            return await self.mfa_challenge(user.profile.user_id)
        return await self._session(user.profile.user_id, device=device)

    async def login_entra(self, token: str, device: Device | None = None) -> TokenPair:
        if self.entra is None:
            # An option this deployment did not set: 501, never a server error.
            raise DomainError(
                "Microsoft Entra ID sign-in is not configured on this deployment",
                code=ErrorCode.NOT_IMPLEMENTED,
            )
        claims = await self.entra.verify(token)
        oid = str(claims.get("oid") or claims["sub"])
        email = str(claims.get("email") or claims.get("preferred_username") or "")
        if "@" not in email:
            raise Unauthorized("The Entra ID token carries no email")
        role = domain.role_from_entra(claims.get("roles"), self.settings.entra_role_map)
        link = await self.store.get(f"entra:{oid}")
        if link is None:
            profile = await self._first_entra_sign_in(
                oid, email, str(claims.get("name") or email), role
            )
            user_id = profile.user_id
        else:
            user_id = str(link.value["user_id"])
            await self._update(user_id, lambda u: u.touch(_now(), role=role))  # roles follow Entra
        return await self._session(user_id, device=device)

    async def _first_entra_sign_in(
        self, oid: str, email: str, name: str, role: Role
    ) -> UserProfile:
        user_id = f"u-{uuid.uuid4().hex[:16]}"
        try:
            await self.store.insert(domain.email_key(email), {"user_id": user_id})
        except EtagMismatch as exc:
            raise Conflict(
                "An account with this email exists; sign in with your password", field="email"
            ) from exc
        now = _now()
        user = self._created(domain.new_user(user_id, email, name, role, now, entra_oid=oid), now)
        await self.store.insert(user_key(user_id), user.model_dump(mode="json"))
        await self.outbox.relay(user_key(user_id))
        with contextlib.suppress(EtagMismatch):  # a concurrent first sign-in linked it
            await self.store.insert(f"entra:{oid}", {"user_id": user_id})
        return user.profile

    async def refresh(self, token: str) -> TokenPair:
        """Rotate: the token is spent and a new one of the same family issued. A spent token
        presented again means it leaked: the whole family (that sign-in) is revoked."""
        key = f"refresh:{domain.token_hash(token)}"
        found = await self.store.get(key)
        if found is None:
            raise Unauthorized("Unknown refresh token")
        record = RefreshRecord.model_validate(found.value)
        family = await self._family(record.family_id)
        verdict = domain.judge_refresh(record, family, _now())
        if verdict == "rotate":
            spent = record.model_copy(update={"used_at": _now()})
            try:
                await self.store.replace(key, spent.model_dump(mode="json"), found.etag)
            except EtagMismatch:
                verdict = "reuse"  # spent concurrently: two holders of one token
        if verdict == "reuse":
            await self.revoke_family(record.family_id, "refresh token reuse detected")
            log.warning("refresh token reuse", user_id=record.user_id, family=record.family_id)
            raise Unauthorized(
                "Refresh token already used; every session of this sign-in is revoked"
            )
        if verdict != "rotate":
            raise Unauthorized(f"Refresh token {verdict}")
        return await self._session(record.user_id, record.family_id)

    async def logout(self, token: str) -> None:
        found = await self.store.get(f"refresh:{domain.token_hash(token)}")
        if found is not None:
            record = RefreshRecord.model_validate(found.value)
            await self.revoke_family(record.family_id, "signed out")

    async def token_status(self, req: TokenStatusRequest) -> TokenStatus:
        """Whether an access token still speaks for its user (the gateway asks, caching the
        answer for a few seconds): its sign-in not ended, its role current, the account open."""
        found = await self.store.get(f"user:{req.user_id}")
        if found is None:
            return TokenStatus(valid=False, reason="unknown user")
        user = UserRecord.model_validate(found.value)
        problem = user.token_problem(await self._family(req.sid), req.sid, req.role)
        return TokenStatus(valid=not problem, reason=problem)

    async def revoke_family(self, family_id: str, reason: str) -> None:
        def decide(raw: Any | None) -> Any | None:
            if raw is None:
                return None
            family = Family.model_validate(raw)
            if family.revoked_at is not None:
                return None
            return family.model_copy(
                update={"revoked_at": _now(), "revoked_reason": reason}
            ).model_dump(mode="json")

        await self.store.compare_and_set(f"family:{family_id}", decide)

    async def _session(
        self, user_id: str, family_id: str | None = None, device: Device | None = None
    ) -> TokenPair:
        """Tokens of a sign-in: a new one (`family_id` None) or the next of a refresh. A new
        sign-in from a user agent the account has not used is announced (`NewDeviceSignIn`)
        in the same write that records the sign-in."""
        user = await self._user(user_id)
        if user.status != "active":
            raise Unauthorized("This account is closed")
        now = _now()
        if family_id is None:
            family_id = uuid.uuid4().hex
            family = Family(family_id=family_id, user_id=user_id, created_at=now)
            await self.store.insert(f"family:{family_id}", family.model_dump(mode="json"))
            new_family = family_id

            def signed_in(u: UserRecord) -> UserRecord:
                u = u.model_copy(update={"families": [*u.families, new_family][-50:]}).touch(
                    now, last_login=now
                )
                if device is None or not device.user_agent:
                    return u
                devices, is_new = credentials.remember_device(u.devices, device.user_agent)
                u = u.model_copy(update={"devices": devices})
                if not is_new:
                    return u
                seen = NewDeviceSignIn(
                    **domain.event_fields(u, now), user_agent=device.user_agent, ip=device.ip
                )
                return domain.record_event(u, seen, now, current_correlation_id())

            user = await self._change(user_id, signed_in)
        refresh = secrets.token_urlsafe(32)
        expires = domain.refresh_expiry(now, self.settings.refresh_token_days)
        record = RefreshRecord(family_id=family_id, user_id=user_id, expires_at=expires)
        await self.store.insert(
            f"refresh:{domain.token_hash(refresh)}", record.model_dump(mode="json")
        )
        ttl = self.settings.access_token_seconds
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": user_id,
            "role": user.profile.role.value,
            "email": user.profile.email,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(now.timestamp()) + ttl,
            "jti": uuid.uuid4().hex,
            "sid": family_id,
        }
        activation = timedelta(seconds=self.settings.key_activation_seconds)
        token = keys.sign(await self.key_ring(), claims, now, activation)
        return TokenPair(
            access_token=token,
            expires_in=ttl,
            refresh_token=refresh,
            refresh_expires_in=self.settings.refresh_token_days * 86400,
            user=user.profile,
        )

    # -- the account's own data --------------------------------------------------------------
    async def me(self, caller: Principal) -> UserRecord:
        user = await self._user(self._id(caller))
        if user.status != "active":  # closed: its tokens may live on for minutes
            raise NotFound("User not found", user_id=user.profile.user_id)
        return user

    async def standing(self, user_id: str, payment_method: str | None) -> AccountStanding:
        """What fraud scoring may know of an active account (404 for a closed one)."""
        user = await self._user(user_id)
        if user.status != "active":
            raise NotFound("User not found", user_id=user_id)
        saved = next(
            (
                m.created_at
                for m in user.payment_methods
                if payment_method and m.stripe_payment_method_id == payment_method
            ),
            None,
        )
        return AccountStanding(
            user_id=user_id, created_at=user.profile.created_at, payment_method_added_at=saved
        )

    async def contact(self, user_id: str) -> ContactDetails:
        """Where an active account is told things, and what it wants to hear (404 if closed)."""
        user = await self._user(user_id)
        if user.status != "active":
            raise NotFound("User not found", user_id=user_id)
        p = user.profile
        return ContactDetails(
            user_id=user_id,
            email=p.email,
            name=p.name,
            language=p.preferences.language,
            currency=p.preferences.currency,
            email_verified=p.email_verified,
            notifications=p.preferences.notifications,
        )

    async def update_me(self, caller: Principal, change: ProfileUpdate) -> UserProfile:
        return (
            await self._update(self._id(caller), lambda u: domain.update_profile(u, change, _now()))
        ).profile

    async def change_password(self, caller: Principal, req: PasswordChange) -> None:
        user = await self.me(caller)
        if user.password_hash is None:
            raise UnprocessableError("This account signs in with Microsoft Entra ID")
        if not await asyncio.to_thread(self._verify, user.password_hash, req.current_password):
            raise Unauthorized("Wrong current password")
        problem = domain.password_problem(req.new_password, user.profile.email, user.profile.name)
        if problem:
            raise UnprocessableError(problem, field="new_password")
        hashed = await asyncio.to_thread(self.hasher.hash, req.new_password)
        await self._change(
            user.profile.user_id, lambda u: self.password_set(u, hashed, _now(), ["password"])
        )
        for family in user.families:  # other sessions end with the old password
            await self.revoke_family(family, "password changed")

    def password_set(
        self, user: UserRecord, hashed: str, now: datetime, changed: list[str]
    ) -> UserRecord:
        """The new password hash; an outstanding reset link stops working, and the owner
        hears of it (`UserUpdated` with `changed`)."""
        tokens = {k: v for k, v in user.tokens.items() if k != "reset_password"}
        user = user.model_copy(update={"password_hash": hashed, "tokens": tokens}).touch(now)
        updated = UserUpdated(**domain.event_fields(user, now), changed=changed)
        return domain.record_event(user, updated, now, current_correlation_id())

    async def delete_me(self, caller: Principal) -> None:
        await self._close(self._id(caller), caller, "users.delete_self")

    async def preferences(self, caller: Principal, prefs: Preferences | None = None) -> Preferences:
        if prefs is None:
            return (await self.me(caller)).profile.preferences
        user = await self._update(
            self._id(caller), lambda u: domain.set_preferences(u, prefs, _now())
        )
        return user.profile.preferences

    async def add_address(self, caller: Principal, body: AddressIn) -> UserRecord:
        address_id = f"addr-{uuid.uuid4().hex[:12]}"
        return await self._change(
            self._id(caller), lambda u: domain.add_address(u, address_id, body, _now())
        )

    async def replace_address(
        self, caller: Principal, address_id: str, body: AddressIn
    ) -> UserRecord:
        return await self._change(
            self._id(caller), lambda u: domain.replace_address(u, address_id, body, _now())
        )

    async def remove_address(self, caller: Principal, address_id: str) -> None:
        await self._change(self._id(caller), lambda u: domain.remove_address(u, address_id, _now()))

    async def default_address(self, caller: Principal, address_id: str) -> UserRecord:
        return await self._change(
            self._id(caller), lambda u: domain.make_default_address(u, address_id, _now())
        )

    async def add_payment_method(self, caller: Principal, body: PaymentMethodIn) -> UserRecord:
        method_id = f"pmr-{uuid.uuid4().hex[:12]}"
        return await self._change(
            self._id(caller), lambda u: domain.add_payment_method(u, method_id, body, _now())
        )

    async def remove_payment_method(self, caller: Principal, method_id: str) -> None:
        await self._change(
            self._id(caller), lambda u: domain.remove_payment_method(u, method_id, _now())
        )

    async def wishlist_add(self, caller: Principal, product_id: str) -> UserRecord:
        return await self._change(
            self._id(caller), lambda u: domain.add_to_wishlist(u, product_id, _now())
        )

    async def wishlist_remove(self, caller: Principal, product_id: str) -> UserRecord:
        return await self._change(
            self._id(caller), lambda u: domain.remove_from_wishlist(u, product_id, _now())
        )

    async def dashboard(self, caller: Principal) -> Dashboard:
        user = await self.me(caller)
        count, recent = await self.orders.recent(user.profile.user_id, 5)
        return Dashboard(
            user=user.profile,
            order_count=count,
            recent_orders=recent,
            rewards=user.profile.rewards,
            wishlist_count=len(user.wishlist),
            addresses_count=len(user.addresses),
        )

    async def on_order_event(self, event: EventEnvelope) -> None:
        """OrderPaid of a signed-in customer: rewards points, once per event."""
        data = OrderEventData.model_validate(event.data)
        if not data.user_id or await self.store.get(f"user:{data.user_id}") is None:
            return
        # Points move on facts, not on an event's word: the order must exist, be this
        # user's, be paid, and have the total the event claims (a forged event earns
        # nothing; the orders app being away retries the event later).
        order = await self.orders.order(data.user_id, data.order_id)
        if not _confirms(order, data.user_id, data.totals.total):
            log.warning(
                "order event not confirmed by orders; no points",
                order_id=data.order_id,
                user_id=data.user_id,
                event_id=event.event_id,
            )
            return
        paid: Decimal = data.totals.total
        per_unit = self.settings.rewards_points_per_unit

        def decide(raw: Any | None) -> Any | None:
            user = UserRecord.model_validate(raw) if raw else None
            if user is None or user.status != "active":
                return None
            new = domain.earn(user, event.event_id, paid, per_unit, _now(), data.order_id)
            return new.model_dump(mode="json") if new else None

        await self.store.compare_and_set(f"user:{data.user_id}", decide)

    async def on_order_reversed(self, event: EventEnvelope) -> None:
        """An order that earned points was cancelled or (partly) refunded: take back the
        points of the refunded share (`domain.take_back`). The share comes from the orders
        app's record of the order, never from the event; repeated events take nothing more."""
        data = OrderEventData.model_validate(event.data)
        if not data.user_id or data.status not in REVERSING:
            return
        found = await self.store.get(f"user:{data.user_id}")
        user = UserRecord.model_validate(found.value) if found else None
        if user is None or data.order_id not in user.points_ledger:
            return  # no points from this order (a guest's, unpaid, or another user's)
        order = await self.orders.order(data.user_id, data.order_id)
        refunded = _refunded_share(order, data.user_id)
        if refunded is None:
            log.warning("reversal not confirmed by orders", order_id=data.order_id)
            return

        def decide(raw: Any | None) -> Any | None:
            current = UserRecord.model_validate(raw) if raw else None
            if current is None or current.status != "active":
                return None
            new = domain.take_back(current, data.order_id, refunded, _now())
            return new.model_dump(mode="json") if new else None

        await self.store.compare_and_set(f"user:{data.user_id}", decide)

    # -- admin -------------------------------------------------------------------------------
    async def list_users(self, role: Role | None, page: int, limit: int) -> UserPage:
        clauses: list[dict[str, Any]] = [{"EQ": {"kind": "user"}}, {"EQ": {"status": "active"}}]
        if role is not None:
            clauses.append({"EQ": {"role": role.value}})
        found = [
            UserRecord.model_validate(v.value).profile
            for v in await self.store.scan({"AND": clauses}, "profile.user_id")
        ]
        found.sort(key=lambda u: (u.created_at, u.user_id), reverse=True)
        start = (page - 1) * limit
        return UserPage(
            items=found[start : start + limit], total=len(found), page=page, limit=limit
        )

    async def admin_create(self, actor: Principal, req: AdminUserCreate) -> UserProfile:
        profile = await self.signup(req, role=req.role, reveal_taken=True)
        await self.audit(actor, "users.create", profile.user_id, {"role": req.role.value})
        return profile

    async def set_role(self, actor: Principal, user_id: str, role: Role) -> UserProfile:
        if user_id == actor.user_id and role != Role.ADMIN:
            raise UnprocessableError("Admins cannot lower their own role")
        before = (await self._user(user_id)).profile.role
        # tokens carrying the old role stop working at the gateway (`token_status`)
        user = await self._update(user_id, lambda u: u.touch(_now(), role=role))
        await self.audit(actor, "users.set_role", user_id, {"from": before.value, "to": role.value})
        return user.profile

    async def admin_delete(self, actor: Principal, user_id: str) -> None:
        if user_id == actor.user_id:
            raise UnprocessableError("Use DELETE /api/users/me to close your own account")
        await self._close(user_id, actor, "users.delete")

    async def audit(
        self, actor: Principal, action: str, target: str, details: dict[str, Any]
    ) -> None:
        entry = AuditEntry(
            audit_id=f"aud-{uuid.uuid4().hex}",
            at=_now(),
            actor_id=actor.user_id or "anonymous",
            action=action,
            target_id=target,
            details=details,
        )
        await self.store.insert(
            f"audit:{entry.audit_id}", {"kind": "audit", **entry.model_dump(mode="json")}
        )

    async def audit_log(self, limit: int) -> list[AuditEntry]:
        entries = [
            AuditEntry.model_validate(v.value)
            for v in await self.store.scan({"EQ": {"kind": "audit"}}, "audit_id")
        ]
        entries.sort(key=lambda e: (e.at, e.audit_id), reverse=True)
        return entries[:limit]

    # -- internals ---------------------------------------------------------------------------
    async def _close(self, user_id: str, actor: Principal, action: str) -> None:
        user = await self._user(user_id)

        def closed(u: UserRecord) -> UserRecord:
            now = _now()  # announced with the email it had (the tombstone keeps none)
            deleted = UserDeleted(**domain.event_fields(u, now))
            return domain.erase(domain.record_event(u, deleted, now, current_correlation_id()), now)

        await self._change(user_id, closed)
        for family in user.families:
            await self.revoke_family(family, "account closed")
        found = await self.store.get(domain.email_key(user.profile.email))
        if found is not None:  # the email may sign up again
            await self.store.delete(domain.email_key(user.profile.email), found.etag)
        await self.audit(actor, action, user_id, {})

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    async def _by_email(self, email: str) -> UserRecord | None:
        found = await self.store.get(domain.email_key(email))
        if found is None:
            return None
        user = await self.store.get(f"user:{found.value['user_id']}")
        return UserRecord.model_validate(user.value) if user else None

    async def _user(self, user_id: str) -> UserRecord:
        found = await self.store.get(f"user:{user_id}")
        if found is None:
            raise NotFound("User not found", user_id=user_id)
        user = UserRecord.model_validate(found.value)
        return user

    async def _family(self, family_id: str) -> Family | None:
        found = await self.store.get(f"family:{family_id}")
        return Family.model_validate(found.value) if found else None

    async def _change(
        self, user_id: str, change: Callable[[UserRecord], UserRecord | None]
    ) -> UserRecord:
        """Apply `change` atomically (ETag compare-and-set) and publish the events it put
        in the outbox; the user as it is after. A missing or closed account is a 404."""

        def decide(raw: Any | None) -> Any | None:
            user = UserRecord.model_validate(raw) if raw else None
            if user is None or user.status != "active":
                raise NotFound("User not found", user_id=user_id)
            new = change(user)
            return new.model_dump(mode="json") if new is not None else None

        await self.store.compare_and_set(user_key(user_id), decide)
        user = await self._user(user_id)
        if user.outbox:
            await self.outbox.relay(user_key(user_id))
        return user

    async def _update(
        self, user_id: str, change: Callable[[UserRecord], UserRecord | None]
    ) -> UserRecord:
        """`_change` of the profile, announced as `UserUpdated` with the fields it changed
        (nothing when it changed none)."""

        def announced(user: UserRecord) -> UserRecord | None:
            new = change(user)
            if new is None:
                return None
            changed = domain.profile_changes(user, new)
            if not changed:
                return new
            now = _now()
            event = UserUpdated(**domain.event_fields(new, now), changed=changed)
            return domain.record_event(new, event, now, current_correlation_id())

        return await self._change(user_id, announced)

    @staticmethod
    def _id(caller: Principal) -> str:
        if not caller.signed_in or caller.user_id is None:
            raise Unauthorized("Sign in to use this")
        return caller.user_id


def _refunded_share(order: dict[str, Any] | None, user_id: str) -> Decimal | None:
    """How much of the order is given back by the orders app's own record: all of it when
    it is cancelled or refunded, its `refunded_amount` when partly refunded (None: the
    record does not bear out a reversal for this user)."""
    if order is None or order.get("user_id") != user_id or order.get("status") not in REVERSING:
        return None
    try:
        if order["status"] == "partially_refunded":
            return Decimal(str(order.get("refunded_amount", "0")))
        return Decimal(str((order.get("totals") or {}).get("total")))
    except ArithmeticError:
        return None


def _confirms(order: dict[str, Any] | None, user_id: str, total: Decimal) -> bool:
    """Whether the orders app's own record bears out a paid order of `total` for the user."""
    if order is None or order.get("user_id") != user_id or order.get("status") not in PAID_OR_LATER:
        return False
    try:
        return Decimal(str((order.get("totals") or {}).get("total"))) == total
    except ArithmeticError:
        return False
