"""The web app's own defences, in Chromium against the session cluster: the session cookie's
flags, CSRF and cross-site form posts refused (nothing changes), a forged cookie is a
stranger, sign-in returns only to this site, every staff and admin page (each route the app
has) refuses anonymous visitors and customers, no API is reachable through the web app, and
the sign-in, sign-up and 404 pages are accessible."""

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from apps.web.main import MAX_BODY_BYTES
from apps.web.main import app as web_app
from tests.browser.conftest import assert_accessible, shoot
from tests.harness import Cluster

PASSWORD = "Correct-Horse-42-battery"


def back_office_routes() -> list[tuple[str, str]]:
    """(method, path) of every staff and admin route, path parameters filled in."""
    found = []
    for route in web_app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(("/staff", "/admin")):
            continue
        concrete = re.sub(r"\{[^}]+\}", "x-1", path)
        for method in sorted(getattr(route, "methods", None) or ()):
            if method in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                found.append((method, concrete))
    return found


def customer(cluster: Cluster) -> str:
    email = f"web-sec-{uuid.uuid4().hex[:10]}@example.com"
    with cluster.client("storefront") as api:
        r = api.post(
            "/api/auth/signup", json={"email": email, "name": "Sec Tester", "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
    return email


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def csrf(page: Page) -> str:
    return str(page.locator('meta[name="csrf-token"]').get_attribute("content"))


def test_session_cookie_is_http_only_secure_same_site(page: Page, context: BrowserContext) -> None:
    response = page.goto("/signin")
    assert response is not None and response.status == 200
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    (cookie,) = [c for c in context.cookies() if c["name"] == "sc_web"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie") == ""  # scripts cannot read it
    shoot(page, "auth-signin")
    assert_accessible(page, "auth-signin")
    page.goto("/signup")
    assert_accessible(page, "auth-signup")


def test_forms_without_our_token_or_from_another_site_change_nothing(
    cluster: Cluster, page: Page, context: BrowserContext
) -> None:
    email = customer(cluster)
    page.goto("/signin")
    form = {"email": email, "password": PASSWORD, "next": "/"}
    missing = page.request.post("/signin", form=form, max_redirects=0)
    assert missing.status == 403 and "expired" in missing.text()
    wrong = page.request.post("/signin", form={**form, "csrf_token": "guess"}, max_redirects=0)
    assert wrong.status == 403
    cross_site = page.request.post(
        "/signin",
        form={**form, "csrf_token": csrf(page)},
        headers={"Origin": "https://evil.example"},
        max_redirects=0,
    )
    assert cross_site.status == 403
    page.goto("/signin")
    assert page.locator("a[href='/signin']").count() >= 1  # still signed out
    ok = page.request.post("/signin", form={**form, "csrf_token": csrf(page)}, max_redirects=0)
    assert ok.status == 303


def test_a_forged_or_foreign_cookie_is_a_stranger(
    page: Page, context: BrowserContext, web: str
) -> None:
    context.add_cookies(
        [{"name": "sc_web", "value": "gAAAAAB" + "A" * 200, "url": web, "secure": True}]
    )
    response = page.goto("/staff")
    assert response is not None
    assert "/signin" in page.url


def test_sign_in_returns_to_this_site_only(cluster: Cluster, page: Page) -> None:
    email = customer(cluster)
    page.goto("/signin?next=//evil.example/steal")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(page.url.split("/", 3)[0] + "//localhost")
    assert "evil.example" not in page.url


def test_wrong_password_is_said_next_to_the_form(cluster: Cluster, page: Page) -> None:
    email = customer(cluster)
    page.goto("/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", "not-the-password-1")
    page.locator("main form button[type=submit]").click()
    assert page.locator(".alert[role=alert]").inner_text().strip()
    assert page.locator("#f-email").input_value() == email
    assert page.locator("#f-password").input_value() == ""
    page.goto("/signup")
    page.fill("#f-name", "X")
    page.fill("#f-email", "not-an-email")
    page.fill("#f-password", "short")
    page.locator("main form button[type=submit]").click()
    assert page.locator("#e-email").is_visible() or page.locator("#e-password").is_visible()
    shoot(page, "auth-signup-errors")
    assert_accessible(page, "auth-signup-errors")


def _status_of(page: Page, method: str, path: str, token: str) -> tuple[int, str]:
    if method == "GET":
        response = page.goto(path)
        assert response is not None
        return response.status, page.url
    answer = page.request.fetch(path, method=method, form={"csrf_token": token}, max_redirects=0)
    return answer.status, answer.headers.get("location", "")


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_back_office_refuses_anonymous_visitors_and_customers(
    cluster: Cluster, page: Page, who: str
) -> None:
    routes = back_office_routes()
    assert routes, "the web app has no staff or admin pages"
    if who == "customer":
        sign_in(page, customer(cluster))
    page.goto("/signin" if who == "anonymous" else "/")
    token = csrf(page)
    refused: list[Any] = []
    for method, path in routes:
        status, where = _status_of(page, method, path, token)
        if who == "anonymous":
            ok = (method == "GET" and "/signin?next=" in where) or (
                method != "GET" and status == 303 and "/signin" in where
            )
        else:
            ok = status == 403
        if not ok:
            refused.append((method, path, status, where))
    assert not refused, f"{who} reached: {refused}"
    if who == "customer":
        page.goto("/staff")
        shoot(page, "forbidden-customer")
        assert_accessible(page, "forbidden")


def test_no_api_is_served_by_the_web_app(page: Page) -> None:
    for path in (
        "/api/staff/orders",
        "/api/admin/users",
        "/api/products",
        "/docs",
        "/openapi.json",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path


def test_not_found_page(page: Page) -> None:
    response = page.goto(f"/no-such-page-{uuid.uuid4().hex[:6]}")
    assert response is not None and response.status == 404
    assert "could not find" in page.locator("h1").inner_text().lower()
    shoot(page, "not-found")
    assert_accessible(page, "not-found")


def test_an_oversized_form_is_refused_before_any_route(cluster: Cluster) -> None:
    """A body over the web app's 1 MB is refused (413) whether announced or streamed."""
    big = b"q=" + b"a" * (MAX_BODY_BYTES + 10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def streamed() -> Any:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    with httpx.Client(base_url=cluster.apps["web"].url, timeout=30) as web:
        announced = web.post("/signin", content=big, headers=headers)
        assert announced.status_code == 413, announced.text[:200]
        chunked = web.post("/signin", content=streamed(), headers=headers)
        assert chunked.status_code == 413, chunked.text[:200]
        assert web.get("/signin").status_code == 200
