"""Identity rules (pure): password policy, the address book and payment methods, rewards,
erasure, refresh-token verdicts, Entra role mapping, signing keys and rotation, the signed
gateway context and the rate-limit counter."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import jwt
import pytest
from pydantic import ValidationError

from apps.contracts.errors import Conflict, NotFound, Unauthorized
from apps.contracts.identity import AddressIn, PaymentMethodIn, Principal, Role
from apps.identity import domain, keys
from apps.identity.domain import Family, RefreshRecord
from apps.platform.context import sign_context, verify_context
from apps.storefront.gateway import (
    carried_over,
    count_or_refuse,
    sliding_retry_after,
    window_of,
)
from tests import factories

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def user() -> domain.UserRecord:
    return domain.new_user("u-1", " Ada@Example.com ", "Ada", Role.CUSTOMER, NOW, "hash")


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("SecurePassword123!", True),
        ("short1", False),
        ("onlyletterslong", False),
        ("1234567890123", False),
        ("password123", False),
        ("my-adalove-2026", False),  # the email's name
        ("aaaaaaaaa1", False),  # repeats: zxcvbn scores it 1
        ("Password123", False),  # a common password with a capital
        ("Summer2024!", False),  # a word and a year
        ("qwertyuiop1", False),  # a keyboard row
        ("Another-pass-42", True),
        ("correct horse battery 7", True),
    ],
)
def test_password_policy(password: str, ok: bool) -> None:
    problem = domain.password_problem(password, "adalove@example.com", "Ada Lovelace")
    assert (problem is None) is ok, problem


def test_new_users_have_normalised_emails_and_flat_query_fields() -> None:
    u = user()
    assert u.profile.email == u.email == "ada@example.com"
    assert domain.email_key("ADA@example.com ") == "email:ada@example.com"
    assert u.role == Role.CUSTOMER and u.status == "active"


def test_address_book_keeps_one_default_per_type() -> None:
    u = domain.add_address(user(), "a1", AddressIn.model_validate(factories.address()), NOW)
    assert u.addresses[0].is_default
    u = domain.add_address(u, "a2", AddressIn.model_validate(factories.address()), NOW)
    assert [a.is_default for a in u.addresses] == [True, False]
    u = domain.make_default_address(u, "a2", NOW)
    assert [a.is_default for a in u.addresses] == [False, True]
    u = domain.remove_address(u, "a2", NOW)
    assert [(a.address_id, a.is_default) for a in u.addresses] == [("a1", True)]
    with pytest.raises(NotFound):
        domain.remove_address(u, "nope", NOW)


def test_payment_methods_are_stripe_ids_never_card_numbers() -> None:
    with pytest.raises(ValidationError, match="Card numbers"):
        PaymentMethodIn.model_validate(
            {"stripe_payment_method_id": "pm_card_visa", "brand": "4111-1111-1111-1111"}
        )
    with pytest.raises(ValidationError):
        PaymentMethodIn.model_validate({"stripe_payment_method_id": "4242424242424242"})
    pm = PaymentMethodIn(stripe_payment_method_id="pm_card_visa", last4="4242")
    u = domain.add_payment_method(user(), "m1", pm, NOW)
    assert u.payment_methods[0].is_default
    with pytest.raises(Conflict):
        domain.add_payment_method(u, "m2", pm, NOW)


def test_rewards_apply_once_per_event_and_tiers_follow_spend() -> None:
    u = domain.earn(user(), "o1:3", Decimal("612.40"), 1, NOW)
    assert u is not None
    assert (u.profile.rewards.points, u.profile.rewards.tier) == (612, "silver")
    assert domain.earn(u, "o1:3", Decimal("612.40"), 1, NOW) is None
    assert domain.tier_of(Decimal("10000")) == "platinum"


def test_refunds_take_back_the_points_of_the_refunded_share_once() -> None:
    u = domain.earn(user(), "o1:paid", Decimal("200.00"), 1, NOW, order_id="o1")
    u = domain.earn(u, "o2:paid", Decimal("50.00"), 1, NOW, order_id="o2") if u else None
    assert u is not None and u.profile.rewards.points == 250
    assert domain.earn(u, "o1:paid-again", Decimal("200.00"), 1, NOW, "o1") is None  # per order
    part = domain.take_back(u, "o1", Decimal("50.00"), NOW)  # a quarter refunded: 50 points
    assert part is not None and part.profile.rewards.points == 200
    assert part.profile.rewards.lifetime_spend == Decimal("200.00")
    assert domain.take_back(part, "o1", Decimal("50.00"), NOW) is None  # redelivered: nothing
    full = domain.take_back(part, "o1", Decimal("200.00"), NOW)  # then the rest
    assert full is not None and full.profile.rewards.points == 50
    assert full.points_ledger["o1"].reversed_points == 200
    assert domain.take_back(full, "o3", Decimal("10"), NOW) is None  # earned nothing
    # shares round down for the customer: 14.50 of 33.00 refunded takes 14 of 33 points
    odd = domain.earn(user(), "o4:paid", Decimal("33.00"), 1, NOW, order_id="o4")
    assert odd is not None
    taken = domain.take_back(odd, "o4", Decimal("14.50"), NOW)
    assert taken is not None and taken.profile.rewards.points == 33 - 14


def test_points_never_go_negative_and_the_shortfall_is_recorded() -> None:
    u = domain.earn(user(), "o1:paid", Decimal("100.00"), 1, NOW, order_id="o1")
    assert u is not None
    spent = u.touch(NOW, rewards=u.profile.rewards.model_copy(update={"points": 30}))
    back = domain.take_back(spent, "o1", Decimal("100.00"), NOW)
    assert back is not None and back.profile.rewards.points == 0
    assert back.points_ledger["o1"].written_off == 70


def test_erasure_removes_personal_data() -> None:
    u = domain.add_address(user(), "a1", AddressIn.model_validate(factories.address()), NOW)
    gone = domain.erase(u.model_copy(update={"families": ["f1"]}), NOW)
    assert gone.status == "deleted" and gone.addresses == [] and gone.password_hash is None
    assert "ada" not in gone.profile.email and gone.profile.name == "Deleted user"
    assert gone.families == ["f1"]


def test_refresh_verdicts() -> None:
    record = RefreshRecord(family_id="f", user_id="u", expires_at=NOW + timedelta(days=1))
    family = Family(family_id="f", user_id="u", created_at=NOW)
    assert domain.judge_refresh(record, family, NOW) == "rotate"
    used = record.model_copy(update={"used_at": NOW})
    assert domain.judge_refresh(used, family, NOW) == "reuse"
    assert domain.judge_refresh(record, family, NOW + timedelta(days=2)) == "expired"
    revoked = family.model_copy(update={"revoked_at": NOW})
    assert domain.judge_refresh(record, revoked, NOW) == "revoked"


def test_entra_roles_map_to_the_highest_of_ours() -> None:
    mapping = {"SmartCommerce.Admin": "admin", "SmartCommerce.Staff": "staff"}
    assert domain.role_from_entra(["SmartCommerce.Staff", "Other"], mapping) == Role.STAFF
    assert (
        domain.role_from_entra(["SmartCommerce.Staff", "SmartCommerce.Admin"], mapping)
        == Role.ADMIN
    )
    assert domain.role_from_entra(None, mapping) == Role.CUSTOMER


def test_keys_rotate_on_schedule_and_old_tokens_still_verify() -> None:
    ring = keys.rotated(None, NOW, timedelta(days=30), keep=2)
    assert ring is not None and len(ring.keys) == 1
    assert keys.rotated(ring, NOW + timedelta(days=1), timedelta(days=30), keep=2) is None
    token = keys.sign(ring, {"sub": "u", "aud": "a"}, NOW)
    later = keys.rotated(ring, NOW + timedelta(days=31), timedelta(days=30), keep=2)
    assert later is not None and len(later.keys) == 2 and later.current.kid != ring.current.kid
    published = {k["kid"]: k for k in keys.jwks(later)["keys"]}
    old = jwt.PyJWK(published[ring.current.kid])
    assert jwt.decode(token, old.key, algorithms=["RS256"], audience="a")["sub"] == "u"
    # published first, signing only after the activation delay
    just = NOW + timedelta(days=31)
    assert later.signing(just, timedelta(minutes=1)).kid == ring.current.kid
    assert later.signing(just + timedelta(minutes=1), timedelta(minutes=1)).kid == later.current.kid
    third = keys.rotated(later, NOW, timedelta(days=30), keep=2, force=True)
    assert third is not None and ring.current.kid not in {k.kid for k in third.keys}


def test_signed_context_round_trip_and_refusals() -> None:
    who = Principal(user_id="u-1", role=Role.STAFF, email="s@example.com")
    header = sign_context(who, "k1", now=1000.0)
    assert verify_context(header, "k1", now=1001.0) == who
    assert verify_context(None, "k1").signed_in is False
    for bad, now in ((header, 10_000.0), (header.replace(".", ".x", 1), 1001.0)):
        with pytest.raises(Unauthorized):
            verify_context(bad, "k1", now=now)
    with pytest.raises(Unauthorized):
        verify_context(header, "another-key", now=1001.0)


def test_rate_limit_counter_and_windows() -> None:
    assert count_or_refuse(None, 2) == {"count": 1}
    assert count_or_refuse({"count": 1}, 2) == {"count": 2}
    assert count_or_refuse({"count": 2}, 2) is None
    assert window_of(125.5, 60) == (120, 55)
    assert window_of(179.9, 60) == (120, 1)


def test_sliding_window_weighs_the_previous_window_in() -> None:
    # a burst straddling a boundary: 5 hits just before, then the new window starts
    assert carried_over(5, 0.5, 60) == 5
    assert count_or_refuse({"count": 4}, 10, carried=5) == {"count": 5}
    assert count_or_refuse({"count": 5}, 10, carried=5) is None  # 10 in the last minute
    assert carried_over(5, 30, 60) == 3  # 2.5 rounded up
    assert carried_over(5, 59.99, 60) == 1
    assert carried_over(5, 60, 60) == 0
    assert carried_over(0, 1, 60) == 0
    # retry after: until the previous window's weight has decayed below the room left
    assert sliding_retry_after(5, 5, 0.5, 60, 10) == 12  # weight 4 left at 12 s
    assert carried_over(5, 12, 60) + 5 < 10 <= carried_over(5, 11, 60) + 5
    # this window alone is full: its end, then long enough for it to weigh limit - 1
    assert sliding_retry_after(10, 0, 20, 60, 10) == 46
    assert sliding_retry_after(3, 0, 1, 60, 10) == 1


def test_batched_counting_adds_local_hits_to_the_shared_total() -> None:
    import asyncio

    from apps.contracts.errors import TooManyRequests
    from apps.storefront.gateway import RateLimiter

    class Store:  # the compare-and-set surface of JsonStateStore, in memory
        def __init__(self) -> None:
            self.rows: dict[str, object] = {}

        async def compare_and_set(self, key, decide, attempts=20, ttl_seconds=None):  # type: ignore[no-untyped-def]
            new = decide(self.rows.get(key))
            if new is not None:
                self.rows[key] = new
            return new is not None

    store = Store()
    one, two = RateLimiter(store, 60), RateLimiter(store, 60)  # type: ignore[arg-type]
    for _ in range(3):
        one.hit_batched("ip:a", 5, "requests")
    asyncio.run(one.flush())
    two.hit_batched("ip:a", 5, "requests")
    asyncio.run(two.flush())  # two now knows the shared 4
    two.hit_batched("ip:a", 5, "requests")
    with pytest.raises(TooManyRequests) as refused:
        two.hit_batched("ip:a", 5, "requests")
    assert refused.value.headers["Retry-After"].isdigit()
    asyncio.run(two.flush())
    assert list(store.rows.values()) == [{"count": 5}]
