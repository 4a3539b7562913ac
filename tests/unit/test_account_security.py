"""Account recovery and two-factor rules (pure): single-use expiring tokens, TOTP drift
and replay, recovery codes, devices, and the account events an outbox carries."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from pydantic import ValidationError

from apps.contracts.account_security import MfaLogin, TwoFactorDisable
from apps.contracts.identity import ProfileUpdate, Role
from apps.contracts.user_events import UserCreated, UserUpdated
from apps.identity import credentials, domain
from apps.identity.credentials import TwoFactor

NOW = datetime(2026, 11, 30, 12, 0, 10, tzinfo=UTC)
USER = "u-0123456789abcdef"


def test_a_token_names_its_account_and_only_its_hash_is_kept() -> None:
    token, kept = credentials.issue_token(USER, "reset_password", NOW, timedelta(minutes=30))
    assert credentials.token_owner(token) == USER
    assert token not in kept.model_dump_json() and kept.token_hash == credentials.sha256(token)
    assert kept.expires_at == NOW + timedelta(minutes=30)
    for bad in ("", "u-0123456789abcdef", f"{USER}.short", f"x-1.{token.split('.')[1]}"):
        assert credentials.token_owner(bad) is None


def test_token_verdicts_expiry_purpose_and_attempts() -> None:
    token, kept = credentials.issue_token(USER, "verify_email", NOW, timedelta(hours=48))
    judge = credentials.judge_token
    assert judge(kept, token, "verify_email", NOW) == "ok"
    assert judge(kept, token, "verify_email", NOW + timedelta(hours=48)) == "expired"
    assert judge(kept, token, "reset_password", NOW) == "invalid"  # another purpose
    assert judge(kept, token + "x", "verify_email", NOW) == "invalid"
    assert judge(None, token, "verify_email", NOW) == "invalid"  # spent: no longer kept
    other, _ = credentials.issue_token(USER, "verify_email", NOW, timedelta(hours=48))
    assert judge(kept, other, "verify_email", NOW) == "invalid"  # a newer one replaced it
    tried = kept.model_copy(update={"attempts": credentials.MFA_ATTEMPTS})
    assert judge(tried, token, "verify_email", NOW, credentials.MFA_ATTEMPTS) == "exhausted"


def test_totp_accepts_one_step_of_drift_and_no_replay() -> None:
    secret = credentials.new_totp_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    now_code = totp.at(NOW)
    assert credentials.totp_step(secret, now_code, NOW, 0) == step
    assert credentials.totp_step(secret, totp.at(NOW - timedelta(seconds=30)), NOW, 0) == step - 1
    assert credentials.totp_step(secret, totp.at(NOW + timedelta(seconds=30)), NOW, 0) == step + 1
    assert credentials.totp_step(secret, totp.at(NOW - timedelta(seconds=60)), NOW, 0) is None
    assert credentials.totp_step(secret, totp.at(NOW + timedelta(seconds=60)), NOW, 0) is None
    # used once: neither it nor an older step's code works again
    assert credentials.totp_step(secret, now_code, NOW, step) is None
    assert credentials.totp_step(secret, totp.at(NOW - timedelta(seconds=30)), NOW, step) is None
    assert credentials.totp_step(secret, "12345", NOW, 0) is None
    assert credentials.totp_step(secret, "abcdef", NOW, 0) is None


def test_the_provisioning_uri_is_what_authenticator_apps_read() -> None:
    secret = credentials.new_totp_secret()
    uri = credentials.provisioning_uri(secret, "ada@example.com", "SmartCommerce")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP) and parsed.secret == secret
    assert uri.startswith("otpauth://totp/SmartCommerce:ada%40example.com?")
    assert len(secret) == 32  # 160 bits


def test_second_factor_code_or_recovery_code_each_once() -> None:
    secret = credentials.new_totp_secret()
    codes = credentials.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    two = TwoFactor(secret=secret, recovery_hashes=[credentials.recovery_hash(c) for c in codes])
    code = pyotp.TOTP(secret).at(NOW)
    after = credentials.accept_second_factor(two, NOW, code=code)
    assert after is not None and after.last_step == pyotp.TOTP(secret).timecode(NOW)
    assert credentials.accept_second_factor(after, NOW, code=code) is None  # replayed

    typed = codes[3].upper().replace("-", " ")  # case, spaces and dashes do not matter
    spent = credentials.accept_second_factor(two, NOW, recovery_code=typed)
    assert spent is not None and len(spent.recovery_hashes) == 9
    assert credentials.accept_second_factor(spent, NOW, recovery_code=codes[3]) is None
    assert credentials.accept_second_factor(spent, NOW, recovery_code="aaaa-bbbb-cccc-dddd") is None
    assert credentials.accept_second_factor(TwoFactor(), NOW, code=code) is None  # off


def test_second_step_bodies_take_exactly_one_proof() -> None:
    token = f"{USER}.{'a' * 43}"
    assert MfaLogin(mfa_token=token, code="123456").code == "123456"
    for wrong in ({}, {"code": "123456", "recovery_code": "aaaa-bbbb-cccc-dddd"}):
        with pytest.raises(ValidationError):
            MfaLogin.model_validate({"mfa_token": token, **wrong})
    with pytest.raises(ValidationError):
        TwoFactorDisable.model_validate({"code": "123456", "password": "x"})
    assert TwoFactorDisable.model_validate({"password": "x"}).password == "x"


def test_devices_are_remembered_as_hashes_and_only_a_new_one_is_announced() -> None:
    devices, new = credentials.remember_device([], "Firefox/140")
    assert not new and devices == [credentials.device_id("Firefox/140")]  # the first one
    devices, new = credentials.remember_device(devices, "firefox/140 ")
    assert not new and len(devices) == 1
    devices, new = credentials.remember_device(devices, "Safari/19")
    assert new and len(devices) == 2
    for i in range(40):
        devices, _ = credentials.remember_device(devices, f"Agent/{i}")
    assert len(devices) == credentials.DEVICES_KEPT
    assert devices[-1] == credentials.device_id("Agent/39")


def test_account_events_wait_in_the_outbox_with_deterministic_ids() -> None:
    u = domain.new_user(USER, "ada@example.com", "Ada", Role.CUSTOMER, NOW, "hash")
    created = UserCreated(**domain.event_fields(u, NOW), role="customer")
    u = domain.record_event(u, created, NOW, "corr-1")
    changed = domain.update_profile(u, ProfileUpdate(name="Ada L"), NOW)
    assert domain.profile_changes(u, changed) == ["name"]
    updated = UserUpdated(**domain.event_fields(changed, NOW), changed=["name"])
    u = domain.record_event(changed, updated, NOW, "corr-2")
    assert u.outbox_state == "pending" and u.event_seq == 2
    ids = [e["event"]["event_id"] for e in u.outbox]
    assert ids == [f"{USER}:1", f"{USER}:2"]
    assert [e["topic"] for e in u.outbox] == ["user-events", "user-events"]
    assert u.outbox[1]["event"]["data"]["changed"] == ["name"]
    erased = domain.erase(u, NOW)  # a deletion's event outlives the personal data
    assert erased.outbox == u.outbox and erased.event_seq == 2
