"""The web app's pure parts: the session cookie, the API's errors taken apart for forms,
formatting per locale, the generated product images and the sign-in return address."""

import asyncio
import time
from typing import Any

import pytest
from cryptography.fernet import Fernet

from apps.web.api import PUBLIC, ApiError, PublicCache, friendly, max_age
from apps.web.images import product_svg
from apps.web.render import money, safe_next, when
from apps.web.session import MAX_COOKIE_BYTES, WebSession, cipher

PAIR = {
    "access_token": "a" * 900,
    "refresh_token": "r" * 43,
    "expires_in": 900,
    "user": {"user_id": "u1", "email": "ann+shop@example.com", "name": "Ann", "role": "customer"},
}


def test_session_round_trip_and_sign_out() -> None:
    box = cipher("key-one")
    session = WebSession()
    session.guest_session()
    session.sign_in(PAIR)
    session.notify("Welcome")
    loaded = WebSession.load(box, session.dump(box), max_age=3600)
    assert loaded.signed_in and loaded.role == "customer"
    assert loaded.user["email"] == "ann+shop@example.com"
    assert loaded.guest == session.guest and loaded.csrf == session.csrf
    assert loaded.take_flash() == [{"kind": "info", "message": "Welcome"}]
    loaded.sign_out()
    assert not loaded.signed_in and loaded.role == "anonymous" and loaded.csrf != session.csrf


def test_a_cookie_not_ours_expired_or_tampered_is_a_new_session() -> None:
    box = cipher("key-one")
    session = WebSession()
    session.sign_in(PAIR)
    token = session.dump(box)
    assert not WebSession.load(cipher("another-key"), token, 3600).signed_in
    assert not WebSession.load(box, token[:-4] + "AAAA", 3600).signed_in
    assert not WebSession.load(box, "x" * (MAX_COOKIE_BYTES + 1), 3600).signed_in
    assert not WebSession.load(box, None, 3600).signed_in
    forged = Fernet(Fernet.generate_key()).encrypt(b'{"u":{"role":"admin"},"a":"x"}').decode()
    assert not WebSession.load(box, forged, 3600).signed_in
    old = box.encrypt_at_time(b'{"a":"x","u":{"role":"admin"}}', int(time.time()) - 7200)
    assert not WebSession.load(box, old.decode(), 3600).signed_in


def test_key_rotation_keeps_sessions_made_with_the_old_key() -> None:
    session = WebSession()
    session.sign_in(PAIR)
    token = session.dump(cipher("old-key"))
    assert WebSession.load(cipher("new-key,old-key"), token, 3600).signed_in
    with pytest.raises(ValueError):
        cipher(" , ")


def test_the_cookie_stays_under_the_browser_limit() -> None:
    box = cipher("k")
    session = WebSession()
    session.sign_in(PAIR)
    for i in range(50):
        session.notify("m" * 300 + str(i))
    assert len(session.dump(box)) <= MAX_COOKIE_BYTES


def test_csrf_token_is_compared_exactly() -> None:
    session = WebSession()
    token = session.csrf_token()
    assert session.csrf_ok(token)
    assert not session.csrf_ok(token + "x") and not session.csrf_ok(None)
    assert not WebSession().csrf_ok("")


def test_api_errors_become_field_messages() -> None:
    body = {
        "error": {
            "code": "INVALID_REQUEST",
            "message": "Invalid request",
            "details": {
                "errors": [
                    {"loc": ["body", "email"], "msg": "value is not a valid email address"},
                    {"loc": ["body", "address", "postal_code"], "msg": "Value error, bad zip"},
                ]
            },
        }
    }
    error = ApiError.of(400, body)
    assert error.code == "INVALID_REQUEST" and error.message == "Invalid request"
    assert error.fields == {
        "email": "Value is not a valid email address",
        "address.postal_code": "Bad zip",
    }
    plain = ApiError.of(502, "<html>bad gateway</html>")
    assert plain.status == 502 and plain.fields == {} and plain.message
    assert ApiError.of(409, None).message.startswith("This changed")
    assert friendly("") == "This value is not valid"


def test_money_and_dates_per_locale() -> None:
    assert money("1234.50", "USD", "en_US") == "$1,234.50"
    assert money("1234.50", "EUR", "de_DE") == "1.234,50\xa0€"
    assert money(None) == "" and money("abc") == "abc"
    assert when("2026-12-01T15:04:00+00:00", "short", "en_US", "UTC").startswith("12/1/26")
    assert when("not a date") == "not a date"


def test_return_address_after_sign_in_stays_on_this_site() -> None:
    assert safe_next("/account/orders?page=2") == "/account/orders?page=2"
    for hostile in ("//evil.example/", "https://evil.example", "/\\evil.example", "", None):
        assert safe_next(hostile) == "/"


def test_product_images_are_deterministic_and_distinct() -> None:
    assert product_svg("prod-000001") == product_svg("prod-000001")
    assert product_svg("prod-000001") != product_svg("prod-000002")
    assert product_svg("p", 64).startswith('<svg xmlns="http://www.w3.org/2000/svg" width="64"')


def test_a_guests_orders_are_remembered_in_the_session_not_the_address() -> None:
    box = cipher("k")
    session = WebSession()
    for i in range(7):
        session.remember_order(f"ord-{i}", f"guest{i}@example.com")
    loaded = WebSession.load(box, session.dump(box), 3600)
    assert list(loaded.orders) == [f"ord-{i}" for i in range(2, 7)]  # the newest five
    assert loaded.order_email("ord-6") == "guest6@example.com"
    assert loaded.order_email("ord-0") == ""


@pytest.mark.parametrize(
    ("path", "shared"),
    [
        ("api/products", True),
        ("api/products/search", True),
        ("api/products/prod-000001", True),
        ("api/products/prod-000001/reviews", True),
        ("api/categories/shoes", True),
        ("api/banners/active", True),
        ("api/cart", False),
        ("api/users/me/orders", False),
        ("api/staff/products/prod-1", False),
        ("api/products/prod-1/reviews/r-1", False),
        ("api/orders/ord-1", False),
    ],
)
def test_only_public_reads_are_shared_between_visitors(path: str, shared: bool) -> None:
    assert bool(PUBLIC.match(path)) is shared


def test_public_cache_makes_one_call_for_concurrent_misses_and_keeps_only_answers() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    answers = iter([(200, {"n": 1}), (503, {"error": {}}), (503, {}), (404, None)])

    async def fetch(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        calls.append((path, params))
        await asyncio.sleep(0.01)
        return next(answers)

    async def run() -> None:
        cache = PublicCache(ttl=60, max_entries=2)
        got = await asyncio.gather(
            *(cache.get("api/products", {"page": 1}, fetch) for _ in range(20))
        )
        assert got == [(200, {"n": 1})] * 20 and len(calls) == 1
        assert await cache.get("api/products", {"page": 1, "q": ""}, fetch) == (200, {"n": 1})
        assert (await cache.get("api/categories", {}, fetch))[0] == 503  # not kept
        assert (await cache.get("api/categories", {}, fetch))[0] == 503
        assert (await cache.get("api/products/x", {}, fetch))[0] == 404  # kept
        assert (await cache.get("api/products/x", {}, fetch))[0] == 404
        assert len(calls) == 4 and len(cache.entries) == 2

    asyncio.run(run())


def test_public_cache_entries_expire() -> None:
    calls = 0

    async def fetch(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        nonlocal calls
        calls += 1
        return 200, calls

    async def run() -> None:
        cache = PublicCache(ttl=0.05, stale=0)
        assert await cache.get("api/products", {}, fetch) == (200, 1)
        assert await cache.get("api/products", {}, fetch) == (200, 1)
        await asyncio.sleep(0.06)
        assert await cache.get("api/products", {}, fetch) == (200, 2)

    asyncio.run(run())


def test_a_stale_answer_is_served_while_one_call_fetches_the_new_one() -> None:
    calls = 0
    fail = False

    async def fetch(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        if fail:
            raise ApiError(503, "SERVICE_UNAVAILABLE", "busy")
        return 200, calls

    async def run() -> None:
        nonlocal fail
        cache = PublicCache(ttl=0.05, stale=0.2)
        assert await cache.get("api/products", {}, fetch) == (200, 1)
        await asyncio.sleep(0.06)
        stale = await asyncio.gather(*(cache.get("api/products", {}, fetch) for _ in range(10)))
        assert stale == [(200, 1)] * 10  # at once, from memory
        await asyncio.sleep(0.03)
        assert calls == 2 and await cache.get("api/products", {}, fetch) == (200, 2)
        fail = True  # a failed refresh keeps the old answer until it is too old
        await asyncio.sleep(0.06)
        assert await cache.get("api/products", {}, fetch) == (200, 2)
        await asyncio.sleep(0.03)
        assert not cache.refreshing
        await asyncio.sleep(0.25)
        with pytest.raises(ApiError):
            await cache.get("api/products", {}, fetch)

    asyncio.run(run())


def test_public_cache_refreshes_in_the_background_within_its_budget() -> None:
    calls: list[str] = []
    gate = asyncio.Event()

    async def fetch(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        calls.append(path)
        if len(calls) > 3:  # background refreshes wait until released
            await gate.wait()
        return 200, len(calls)

    async def run() -> None:
        cache = PublicCache(ttl=0.05, stale=5, refreshes=1)
        for path in ("api/a", "api/b", "api/c"):
            await cache.get(path, {}, fetch)
        await asyncio.sleep(0.06)  # all three stale now
        answers = [await cache.get(p, {}, fetch) for p in ("api/a", "api/b", "api/c")]
        assert answers == [(200, 1), (200, 2), (200, 3)]  # served stale, at once
        await asyncio.sleep(0.01)
        assert calls == ["api/a", "api/b", "api/c", "api/a"]  # one refresh: the budget
        assert len(cache.refreshing) == 1
        gate.set()
        await asyncio.sleep(0.01)
        assert await cache.get("api/a", {}, fetch) == (200, 4)  # refreshed
        assert await cache.get("api/b", {}, fetch) == (200, 2)  # still stale: refresh now
        await asyncio.sleep(0.01)
        assert calls[-1] == "api/b" and await cache.get("api/b", {}, fetch) == (200, 5)

    asyncio.run(run())


def test_public_cache_refreshes_at_most_its_rate() -> None:
    calls: list[str] = []

    async def fetch(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        calls.append(path)
        return 200, path

    async def run() -> None:
        cache = PublicCache(ttl=0.01, stale=60, refreshes=100, refresh_rate=5)
        paths = [f"api/products/p{i}" for i in range(20)]
        for path in paths:
            await cache.get(path, {}, fetch)
        await asyncio.sleep(0.02)  # all stale
        calls.clear()
        for path in paths:
            assert await cache.get(path, {}, fetch) == (200, path)  # stale, at once
        await asyncio.sleep(0.01)
        assert len(calls) == 5  # a second's worth of refreshes, no more
        await asyncio.sleep(0.25)  # ~1 more token
        for path in paths:
            await cache.get(path, {}, fetch)
        await asyncio.sleep(0.01)
        assert 6 <= len(calls) <= 7

    asyncio.run(run())


def test_a_private_answer_is_reused_only_within_its_own_max_age() -> None:
    assert max_age("private, max-age=2") == 2
    assert max_age("Private, Max-Age=5, must-revalidate") == 5
    assert max_age("private, no-cache, max-age=5") == 0
    assert max_age("no-store") == 0
    assert max_age("") == 0 and max_age("max-age=x") == 0 and max_age("max-age=-1") == 0
    assert max_age("private, max-age=86400") == 60  # a kept answer is never older than 1 min


def test_formatting_is_cached_per_value_and_locale() -> None:
    assert money("5", "USD", "en_US") == "$5.00" and money(5, "USD", "en_US") == "$5.00"
    assert money("5", "EUR", "de_DE") == "5,00\xa0€"  # the locale is part of the key
    assert when("2026-12-02T10:00:00+00:00", "short", "en_US") != when(
        "2026-12-02T10:00:00+00:00", "short", "de_DE"
    )
