"""The customer's account pages in Chromium against the session cluster: a shopper signs up,
confirms their email with the link the mail server received, saves an address (refused per
field first), returns an item of their delivered order and follows it in their returns,
opens a support request and finds it in their requests; a forgotten password is reset with
the emailed link and the new one signs in. Every page type is screenshotted and checked
with axe-core."""

import re
import uuid
from typing import Any

import httpx
import pyotp
from playwright.sync_api import Page, expect

from tests import factories, webhooks
from tests.browser.conftest import assert_accessible, shoot
from tests.harness import Cluster, eventually

Json = dict[str, Any]
PASSWORD = "Account-pages-2026x"
NEW_PASSWORD = "Fresh-start-4242q"


def _check(page: Page, name: str) -> None:
    shoot(page, f"account-{name}")
    assert_accessible(page, f"account-{name}")


def _link_token(cluster: Cluster, email: str, subject: str, path: str, seen: int = 0) -> str:
    """The token of the `path` link in the newest `subject` email to `email` (after `seen`
    such emails)."""

    def arrived() -> str:
        mails = [m for m in cluster.mails(email) if m["Subject"] == subject]
        assert len(mails) > seen, [m["Subject"] for m in cluster.mails(email)]
        found = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_.-]+)", mails[-1]["HTML"])
        assert found, mails[-1]["HTML"][:500]
        return found.group(1)

    return str(eventually(arrived, timeout=30, interval=0.2))


def _delivered_order(cluster: Cluster, email: str, password: str) -> Json:
    """An order of two units of a new (cheap) product placed, paid, released and delivered
    for the signed-in customer `email`, who also has the product on their wishlist."""
    with cluster.client("storefront", timeout=30) as api:
        login = api.post("/api/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        product = factories.product(
            name="Trail Water Bottle",
            # Not a laptop (the factory's default): later tests search the catalog for those.
            category_slug="home-lighting",
            description="A steel bottle that keeps water cold on the trail.",
            price={"amount": "19.00", "currency": "USD", "tax_rate": "0.0825"},
        )
        created = api.post("/api/staff/products", json=product)
        assert created.status_code == 201, created.text
        wished = api.post(
            "/api/users/me/wishlist", json={"product_id": product["product_id"]}, headers=auth
        )
        assert wished.status_code == 201, wished.text
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "quantity": 2,
        }
        placed = api.post(
            "/api/orders",
            json=factories.checkout(line, email=email),
            headers={**auth, "Idempotency-Key": factories.ref("idem")},
        )
        assert placed.status_code == 202, placed.text
        order_id = str(placed.json()["order_id"])
        webhooks.pay(cluster, order_id)
        webhooks.release(cluster, order_id)

        def delivered() -> Json:
            order = api.get(f"/api/orders/{order_id}", headers=auth).json()
            assert order["status"] == "delivered", order["status"]
            return dict(order)

        return dict(eventually(delivered, timeout=120, interval=0.5))


def test_a_customer_verifies_saves_an_address_returns_an_item_and_asks_for_help(
    page: Page, cluster: Cluster
) -> None:
    email = f"account-{uuid.uuid4().hex[:10]}@example.com"
    page.goto("/signup?next=/account")
    page.fill("#f-name", "Ada Account")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account$"))
    expect(page.locator("h1")).to_have_text("Hello, Ada Account")
    expect(page.get_by_text("Please confirm your email address.")).to_be_visible()
    _check(page, "dashboard")

    # The emailed link confirms the address (the link points at the public shop's host).
    token = _link_token(cluster, email, "Confirm your email address", "/verify-email")
    page.goto(f"/verify-email?token={token}")
    expect(page.get_by_text("Thank you, your email address is confirmed.")).to_be_visible()
    _check(page, "verify-email")
    page.goto(f"/verify-email?token={token}")  # used once: the signed-in owner is told
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()
    page.goto("/account/profile")
    expect(page.locator(".badge", has_text="Verified")).to_be_visible()
    _check(page, "profile")

    # An address: refused per field first, then saved as the default.
    page.goto("/account/addresses")
    page.fill("#f-name", "Ada Account")
    page.fill("#f-city", "San Francisco")
    page.fill("#f-postal_code", "ABC")
    page.fill("#f-country", "US")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator("#e-line1")).to_be_visible()
    expect(page.locator("#e-postal_code")).to_contain_text("Not a postal code")
    expect(page.locator("#f-postal_code")).to_have_attribute("aria-invalid", "true")
    _check(page, "addresses-errors")
    page.fill("#f-line1", "1 Market St")
    page.fill("#f-state", "ca")
    page.fill("#f-postal_code", "94105")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator(".flash")).to_have_text("The address is saved.")
    saved = page.locator(".address-list li")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("San Francisco, CA 94105")
    expect(saved.locator(".badge", has_text="Default")).to_be_visible()
    _check(page, "addresses")

    # A test card, the preferences (as an email's unsubscribe link opens them).
    page.goto("/account/payment-methods")
    page.select_option("#f-method", "pm_card_visa")
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("tbody th")).to_contain_text("Visa ending 4242")
    _check(page, "payment-methods")
    page.goto("/account/preferences?unsubscribe=email_marketing")
    _check(page, "preferences")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator(".flash")).to_contain_text("You are unsubscribed")
    expect(page.locator("#f-email_marketing")).not_to_be_checked()

    # A delivered order (placed through the API for this customer): one unit goes back.
    order = _delivered_order(cluster, email, PASSWORD)
    number = order["order_number"]
    page.goto("/account/orders")
    row = page.locator("tbody tr", has_text=number)
    expect(row).to_contain_text("Delivered")
    _check(page, "orders")
    row.get_by_role("link", name=f"Return items from {number}").click()
    expect(page.locator("h1")).to_have_text(f"Return items from order {number}")
    page.get_by_role("button", name="Request return").click()
    expect(page.locator("#e-lines")).to_have_text("Choose at least one item to return")
    page.select_option("#f-qty-0", "1")
    page.select_option("#f-reason-0", "damaged")
    page.fill("#f-comment", "The cap was cracked.")
    _check(page, "return-form")
    page.get_by_role("button", name="Request return").click()
    page.wait_for_url(re.compile(r"/account/returns$"))
    listed = page.locator("tbody tr", has_text=number)
    expect(listed).to_contain_text("1 \u00d7 Trail Water Bottle")
    expect(listed).to_contain_text("Arrived damaged")
    expect(listed).to_contain_text("Requested")
    _check(page, "returns")
    with cluster.client("storefront") as api:
        returns = api.get(f"/api/orders/{order['order_id']}/returns", params={"email": email})
    assert [r["lines"][0]["quantity"] for r in returns.json()] == [1]

    # A support request about the order, then found in the customer's requests.
    page.goto(f"/support?order_id={order['order_id']}")
    _check(page, "support")
    page.select_option("#f-type", "delivery")
    page.fill("#f-subject", "Missing cap")
    page.fill("#f-description", "One bottle came without its cap.")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/account/requests/tkt-"))
    expect(page.locator("h1")).to_have_text("Missing cap")
    page.fill("#f-message", "A photo is on its way.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".thread .message")).to_have_count(2)
    _check(page, "request")
    page.goto("/account/requests")
    expect(page.locator("tbody tr", has_text="Missing cap")).to_contain_text(number)
    _check(page, "requests")

    # The wishlist: the product moves to the cart.
    page.goto("/account/wishlist")
    expect(page.locator(".card")).to_contain_text("Trail Water Bottle")
    _check(page, "wishlist")
    page.locator(".card", has_text="Trail Water Bottle").get_by_role(
        "button", name=re.compile("^Move to cart")
    ).click()
    expect(page.locator(".flash")).to_have_text("Moved to your cart.")
    expect(page.locator(".card")).to_have_count(0)

    # Two-step sign-in: the key shown as text, a code from it, the recovery codes.
    page.goto("/account/profile")
    page.get_by_role("button", name="Set up two-step sign-in").click()
    secret = page.locator(".secret code").first.inner_text()
    expect(page.locator(".secret")).to_contain_text("otpauth://totp/")
    _check(page, "two-factor-setup")
    page.fill("#f-code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".codes li")).to_have_count(10)
    _check(page, "two-factor-codes")

    # The rest of the account's page types.
    for path, name in (
        ("/account", "dashboard-orders"),
        ("/account/notifications", "notifications"),
        ("/account/delete", "delete"),
    ):
        page.goto(path)
        _check(page, name)
    expect(page.locator("h1")).to_have_text("Close your account")


def test_a_forgotten_password_is_reset_by_the_emailed_link(page: Page, cluster: Cluster) -> None:
    email = f"forgot-{uuid.uuid4().hex[:10]}@example.com"
    with cluster.client("storefront") as api:
        made = api.post(
            "/api/auth/signup", json={"email": email, "name": "Grace Reset", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
    page.goto("/account")  # signed out: sign in first, and come back
    page.wait_for_url(re.compile(r"/signin\?next="))
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(re.compile(r"/forgot-password$"))
    _check(page, "forgot-password")
    page.goto("/reset-password?token=not-a-real-token-at-all")
    _check(page, "reset-password")  # the form (a link is checked when it is used)

    # The link is valid for 8 s on the test cluster: ask again if it lapsed before use.
    for attempt in range(3):
        page.goto("/forgot-password")
        page.fill("#f-email", email)
        page.get_by_role("button", name="Send me a link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        token = _link_token(cluster, email, "Reset your password", "/reset-password", attempt)
        page.goto(f"/reset-password?token={token}")
        page.fill("#f-new_password", NEW_PASSWORD)
        page.fill("#f-confirm_password", NEW_PASSWORD)
        page.get_by_role("button", name="Save new password").click()
        if "/signin" in page.url:
            break
        expect(page.get_by_text("This link has expired.")).to_be_visible()
    page.wait_for_url(re.compile(r"/signin\?next="))
    expect(page.locator(".flash")).to_contain_text("Your password is changed.")

    # The used link is refused; the old password no longer works; the new one does.
    page.goto(f"/reset-password?token={token}")
    page.fill("#f-new_password", "Another-one-99z")
    page.fill("#f-confirm_password", "Another-one-99z")
    page.get_by_role("button", name="Save new password").click()
    expect(page.locator(".alert")).to_contain_text(re.compile("used already|expired"))
    _check(page, "reset-password-used")
    page.goto("/signin?next=/account")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert")).to_be_visible()
    page.fill("#f-password", NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account$"))
    expect(page.locator("h1")).to_have_text("Hello, Grace Reset")
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=15) as api:
        login = api.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert login.status_code == 200, login.text
