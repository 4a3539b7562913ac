"""The shop in Chromium against the session cluster: a guest finds a product with a typo,
filters a category, adds it to the cart (htmx quantity change), checks out with a Stripe
test card and watches the order page follow the order live (Server-Sent Events, no reload)
from paid to delivered; a signed-in customer saves to the wishlist, writes a review and
pays with a card that asks for 3-D Secure through the test-bank page. Every page is
screenshotted and checked with axe-core.

Payments run in local mode for this module (as `./taskw up` does): stripe-mock sends no
webhooks, so the app sends itself the one Stripe would (success for pm_card_visa) and
serves the local stand-in of the 3-D Secure challenge."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests import factories, webhooks
from tests.browser.conftest import assert_accessible, shoot
from tests.harness import Cluster, eventually

PASSWORD = "Correct-Horse-42-battery"
#: A made-up word (no seeded product has it): the search must forgive a missing letter.
WORD = "Marmalux"
TYPO = "Marmaux"


@pytest.fixture(scope="module")
def local_payments(cluster: Cluster) -> Iterator[None]:
    """payments in local mode for this module, then as the rest of the suite expects it."""
    cluster.stop_app("payments")
    cluster.start_app("payments", env={"PAYMENTS_SIMULATE_WEBHOOKS": "true"})
    try:
        yield
    finally:
        cluster.stop_app("payments")
        cluster.start_app("payments", env={"PAYMENTS_SIMULATE_WEBHOOKS": "false"})


@pytest.fixture(scope="module")
def lanterns(cluster: Cluster) -> list[dict[str, Any]]:
    """Three lanterns of a brand of their own in Home & Kitchen > Lighting, searchable."""
    tag = uuid.uuid4().hex[:6]
    brand = f"Lumo{tag}"
    made = []
    with cluster.client("storefront") as api:
        for n, (line, price) in enumerate(
            (("Classic", "49.00"), ("Mini", "19.50"), ("Max", "89.00"))
        ):
            product = factories.product(
                category_slug="home-lighting",
                name=f"{WORD} {line} Lantern {tag}",
                brand=brand,
                description=f"A warm {line.lower()} lantern for the garden.",
                price={"amount": price, "currency": "USD", "tax_rate": "0.0825"},
                seo={
                    "meta_title": f"{WORD} {line} Lantern",
                    "meta_description": f"Buy the {WORD} {line} lantern: warm light, no cables.",
                },
            )
            product["variants"][0].update(stock=50, attributes={"color": "Amber"})
            product["variants"][1].update(stock=20 if n else 0, attributes={"color": "Smoke"})
            r = api.post("/api/staff/products", json=product)
            assert r.status_code == 201, r.text
            made.append(product)

        def searchable() -> bool:
            found = api.get("/api/products/search", params={"q": TYPO, "limit": 50}).json()
            ids = {i["product_id"] for i in found["items"]}
            assert all(p["product_id"] in ids for p in made), found
            return True

        eventually(searchable, timeout=30)
    return made


def _checkout_address(page: Page, email: str | None) -> None:
    if email is not None:
        page.fill("#f-email", email)
    page.fill("[id='f-shipping_address.name']", "Ada Shopper")
    page.fill("[id='f-shipping_address.line1']", "1 Market St")
    page.fill("[id='f-shipping_address.city']", "San Francisco")
    page.fill("[id='f-shipping_address.state']", "CA")
    page.fill("[id='f-shipping_address.postal_code']", "94105")
    page.select_option("[id='f-shipping_address.country']", "US")


def test_a_guest_finds_buys_and_follows_an_order_live(
    cluster: Cluster, page: Page, lanterns: list[dict[str, Any]], local_payments: None
) -> None:
    classic = lanterns[0]
    page.goto("/")
    expect(page.get_by_role("heading", name="Featured products")).to_be_visible()
    shoot(page, "shop-home")
    assert_accessible(page, "shop-home")

    # A category, filtered by the lanterns' brand through the facet form.
    page.goto("/categories/home-lighting")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lighting")
    page.get_by_label(re.compile(classic["brand"])).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"brand=Lumo"))
    expect(page.locator(".product-card")).to_have_count(3)
    page.select_option("#f-sort", "price-asc")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.wait_for_url(re.compile(r"sort=price-asc"))
    expect(page.locator(".product-card h3").first).to_contain_text("Mini")
    shoot(page, "shop-category")
    assert_accessible(page, "shop-category")

    # The header's search, with a letter missing: suggestions as you type, then results.
    page.goto("/")
    page.fill("#q", TYPO)
    expect(page.locator("#suggestions")).to_contain_text(classic["name"])
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(".product-card", has_text=classic["name"])).to_be_visible()
    expect(page.locator(".did-you-mean")).to_contain_text(WORD.lower())
    shoot(page, "shop-search")
    assert_accessible(page, "shop-search")

    # The product page: indexable, variants with their stock, add two to the cart.
    page.get_by_role("link", name=classic["name"]).click()
    page.wait_for_url(re.compile(r"/products/"))
    expect(page).to_have_title(re.compile(f"{WORD} Classic Lantern"))
    description = page.locator('meta[name="description"]').get_attribute("content")
    assert description and "warm light" in description
    expect(page.get_by_role("heading", level=1)).to_have_text(classic["name"])
    expect(page.locator("#f-variant_id option:disabled")).to_contain_text("Out of stock")
    shoot(page, "shop-product")
    assert_accessible(page, "shop-product")
    page.fill("#f-quantity", "2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.locator(".line-total")).to_have_text("$98.00")

    # The quantity changes in place (htmx): no new page, the total follows.
    page.evaluate("() => { window.__samePage = true; }")
    page.locator(".qty-form input[name=quantity]").fill("1")
    page.locator(".qty-form button").click()
    expect(page.locator(".cart-status")).to_contain_text("Quantity updated")
    expect(page.locator(".line-total")).to_have_text("$49.00")
    assert page.evaluate("() => window.__samePage === true")
    shoot(page, "shop-cart")
    assert_accessible(page, "shop-cart")

    # Checkout: the address checked per field, then shipping options and the total.
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    email = factories.email()
    _checkout_address(page, email)
    page.fill("[id='f-shipping_address.postal_code']", "ABC")
    page.get_by_role("button", name="Update totals").click()
    expect(page.locator("[id='e-shipping_address.postal_code']")).to_contain_text("postal code")
    page.fill("[id='f-shipping_address.postal_code']", "94105")
    page.get_by_role("button", name="Update totals").click()
    expect(page.get_by_label(re.compile(r"^Express: \$"))).to_be_visible()
    expect(page.locator(".summary .grand").last).to_have_text(re.compile(r"\$\d+\.\d\d"))
    shoot(page, "shop-checkout")
    assert_accessible(page, "shop-checkout")
    page.select_option("#f-payment_method", "pm_card_visa")
    page.get_by_role("button", name="Place order").click()

    # The confirmation, paid; then, released to the warehouse, delivered, all live.
    # A guest's order opens by the email kept in the session, never in the address.
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(page.get_by_text("Thank you for your order")).to_be_visible()
    status = page.locator("#order-status")
    expect(status).to_contain_text("Paid", timeout=60_000)
    expect(page.locator("#order-live")).to_have_attribute("data-live-connected", "true")
    shoot(page, "shop-confirmation")
    assert_accessible(page, "shop-confirmation")
    order_id = page.url.split("/orders/")[1].split("?")[0]
    page.evaluate("() => { window.__samePage = true; }")
    webhooks.release(cluster, order_id)
    expect(status).to_contain_text("Delivered", timeout=90_000)
    expect(page.locator(".parcel")).to_contain_text("Delivered")
    assert page.evaluate("() => window.__samePage === true")  # no reload: live updates
    shoot(page, "shop-tracking")
    assert_accessible(page, "shop-tracking")

    # A parcel number alone does not show a guest's order; the page says how to find it.
    tracking_number = page.locator(".parcel h3 a").first.inner_text()
    page.goto(f"/track/{tracking_number}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(tracking_number)
    page.context.clear_cookies()  # another browser: the order's email must be given
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find your order")
    page.fill("#f-email", email)
    page.get_by_role("button", name="Show my order").click()
    expect(page.locator("#order-status")).to_contain_text(re.compile("Delivered|Completed"))

    response = page.goto("/products/no-such-product")
    assert response is not None and response.status == 404
    shoot(page, "shop-404")
    assert_accessible(page, "shop-404")


def test_a_customer_wishes_reviews_and_passes_three_d_secure(
    cluster: Cluster, page: Page, lanterns: list[dict[str, Any]], local_payments: None
) -> None:
    mini = lanterns[1]
    email = f"shop-{uuid.uuid4().hex[:10]}@example.com"
    with cluster.client("storefront") as api:
        r = api.post("/api/auth/signup", json={"email": email, "name": "Ada", "password": PASSWORD})
        assert r.status_code == 201, r.text
    page.goto(f"/signin?next=/products/{mini['product_id']}")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/products/"))

    page.get_by_role("button", name="Add to wishlist").click()
    expect(page.locator(".flash")).to_contain_text("Saved to your wishlist")
    expect(page.get_by_role("button", name="Remove from wishlist")).to_be_visible()
    page.select_option("#f-rating", "5")
    page.fill("#f-title", "Lovely light")
    page.fill("#f-body", "Warm and bright, the garden looks great.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator(".flash")).to_contain_text("Your review will appear")

    page.select_option("#f-variant_id", mini["variants"][1]["variant_id"])
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.locator(".line-variant")).to_contain_text("Smoke")
    page.goto("/checkout")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    _checkout_address(page, None)
    page.select_option("#f-payment_method", "pm_card_authenticationRequired")
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/checkout/authenticate/"), timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your payment")
    shoot(page, "shop-3d-secure")
    assert_accessible(page, "shop-3d-secure")
    page.get_by_role("button", name="Confirm payment").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(page.locator("#order-status")).to_contain_text("Paid", timeout=60_000)
