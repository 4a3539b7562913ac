"""The staff back office in Chromium against the session cluster, as the bootstrap admin
(signed in once at /signin for the module): a paid order found by its number, released to
the warehouse and followed on the shipments pages to delivery (a status the carrier already
passed is refused next to the form), its return approved; a customer's request answered (the
customer reads the answer through the API); the analytics page drawn with real sales (SVG
charts with a data table, CSV and Excel exports); a product created with its field errors,
edited against a concurrent change (the ETag refusal shows the fresh values), its stock
adjusted; the other list pages and their empty states. A signed-in customer gets the 403
page on every staff page and an anonymous visitor is sent to sign in."""

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from apps.web.pages_staff import router as staff_router
from tests import factories, webhooks
from tests.browser.conftest import assert_accessible, shoot
from tests.harness import ROOT, Cluster, eventually

Json = dict[str, Any]
ADMIN_EMAIL = "admin@smartcommerce.example"
PASSWORD = "Correct-Horse-42-battery"
#: Values for the path parameters of the staff pages (the guard runs before any look-up).
SAMPLE = {
    "order_id": "o-1",
    "shipment_id": "shp-o-1-1",
    "ticket_id": "tkt-abc123",
    "return_id": "ret-o-1-1",
    "product_id": "p-1",
    "banner_id": "bnr-abcdef12",
    "code": "SAVE20",
}


def staff_pages() -> list[str]:
    """Every GET page of the staff router, its path parameters filled in."""
    paths = sorted(
        {
            route.path
            for route in staff_router.routes
            if "GET" in getattr(route, "methods", set()) and route.path.startswith("/staff")
        }
    )
    return [p.format(**SAMPLE) for p in paths]


def _admin_password() -> str:
    secrets = json.loads((ROOT / "components" / "local" / "secrets.identity.json").read_text())
    return str(secrets["identity-admin-password"])


def _new_context(browser: Browser, web: str, state: Any = None) -> BrowserContext:
    ctx = browser.new_context(
        base_url=web, bypass_csp=True, viewport={"width": 1280, "height": 900}, storage_state=state
    )
    ctx.set_default_timeout(20_000)
    return ctx


def sign_in(page: Page, email: str, password: str, then: str) -> None:
    page.goto(f"/signin?next={then}")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(then) + "$"))


@pytest.fixture(scope="module")
def staff_state(browser: Browser, web: str) -> Any:
    """The bootstrap admin's signed-in browser state (one sign-in for the module)."""
    ctx = _new_context(browser, web)
    try:
        page = ctx.new_page()
        sign_in(page, ADMIN_EMAIL, _admin_password(), "/staff/orders")
        return ctx.storage_state()
    finally:
        ctx.close()


@pytest.fixture
def staff(browser: Browser, web: str, staff_state: Any) -> Iterator[Page]:
    ctx = _new_context(browser, web, staff_state)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def _flash(page: Page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def _look(page: Page, name: str) -> None:
    shoot(page, name)
    assert_accessible(page, name)


def _paid(api: httpx.Client, order_id: str, email: str) -> Json:
    def paid() -> Json:
        order = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
        assert order["status"] == "paid", order["status"]
        return dict(order)

    return dict(eventually(paid, timeout=30))


# -- (1) ship an order -----------------------------------------------------------------------
def test_staff_release_an_order_follow_its_shipment_and_approve_its_return(
    cluster: Cluster, staff: Page
) -> None:
    with cluster.client("storefront") as api:
        order_id, email, product = webhooks.paid_order(cluster, api, quantity=2, ship=False)
        order = _paid(api, order_id, email)
        number = order["order_number"]

        staff.goto("/staff/orders?status=paid")
        expect(staff.get_by_role("link", name=number)).to_be_visible()
        _look(staff, "staff-orders")
        # Found by its number: straight to the order.
        staff.get_by_label("Order number or ID").fill(number.lower())
        staff.get_by_role("button", name="Find").click()
        staff.wait_for_url(f"**/staff/orders/{order_id}")
        expect(staff.locator("h1")).to_contain_text(f"Order {number}")
        expect(staff.locator("h1")).to_contain_text("Paid")
        expect(staff.get_by_role("region", name="Payment")).to_contain_text("Succeeded")
        _look(staff, "staff-order")

        staff.get_by_role("button", name="Release to the warehouse").click()
        expect(staff.locator(".flash")).to_contain_text("Released")
        assert api.get(f"/api/staff/orders/{order_id}").json()["status"] in (
            "fulfilling",
            "shipped",
            "delivered",
        )

        def scheduled() -> Json:
            found = api.get("/api/staff/shipments", params={"order_id": order_id}).json()
            assert found["items"], "no shipment yet"
            return dict(found["items"][0])

        shipment = eventually(scheduled, timeout=30, interval=0.25)
        staff.goto(f"/staff/shipments?order_id={order_id}")
        link = staff.get_by_role("link", name=shipment["tracking_number"])
        expect(link).to_be_visible()
        _look(staff, "staff-shipments")
        link.click()
        expect(staff.locator("h1")).to_contain_text(f"Shipment {shipment['tracking_number']}")

        # Once the carrier has it, staff mark it delivered (or see the carrier got there
        # first: the refusal names what is allowed); it ends delivered either way.
        def left_warehouse() -> bool:
            got = api.get(f"/api/staff/shipments/{shipment['shipment_id']}").json()
            assert got["status"] != "label_created"
            return True

        eventually(left_warehouse, timeout=30, interval=0.25)
        staff.reload()
        staff.get_by_label("New status").select_option("delivered")
        staff.get_by_label("Location").fill("Front door")
        staff.get_by_role("button", name="Update status").click()
        expect(staff.locator("#shipment-status")).to_have_text("Delivered")

        def delivered() -> bool:
            got = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
            assert got["status"] == "delivered", got["status"]
            return True

        eventually(delivered, timeout=30, interval=0.25)
        # A delivered shipment takes no other status: refused, said above the form.
        staff.get_by_label("New status").select_option("in_transit")
        staff.get_by_role("button", name="Update status").click()
        expect(staff.locator(".alert")).to_contain_text("Allowed next: none")
        expect(staff.locator("#shipment-status")).to_have_text("Delivered")
        # A case with the carrier is kept on the shipment.
        staff.get_by_label("What is wrong").fill("The box arrived dented")
        staff.get_by_role("button", name="Open a case").click()
        expect(staff.locator(".flash")).to_contain_text("case was opened")
        expect(staff.get_by_role("heading", name="Cases with the carrier")).to_be_visible()
        staff.get_by_role("button", name="Email the customer").click()
        expect(staff.locator(".flash")).to_contain_text("emailed")
        _look(staff, "staff-shipment")

        # The customer returns one unit; staff approve it from its page.
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "quantity": 1,
            "reason": "damaged",
        }
        asked = api.post(
            f"/api/orders/{order_id}/returns",
            json={"email": email, "lines": [line]},
            headers={"Idempotency-Key": factories.ref("ret")},
        )
        assert asked.status_code == 201, asked.text
        return_id = asked.json()["return_id"]
        staff.goto(f"/staff/returns?order_id={order_id}")
        expect(staff.locator("tbody tr")).to_have_count(1)
        _look(staff, "staff-returns")
        staff.locator("tbody tr a").first.click()
        staff.wait_for_url(f"**/staff/returns/{return_id}")
        # Rejecting needs a reason: said next to the field, nothing decided.
        staff.get_by_role("button", name="Reject the return").click()
        expect(staff.locator("#e-reason")).to_be_visible()
        _look(staff, "staff-return")
        staff.get_by_role("button", name="Approve the return").click()
        expect(staff.locator(".flash")).to_contain_text("Return approved")
        assert api.get(f"/api/staff/returns/{return_id}").json()["status"] in (
            "approved",
            "received",
            "refunded",
        )


# -- (2) answer a customer -------------------------------------------------------------------
def _customer(cluster: Cluster) -> tuple[str, dict[str, str]]:
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    with cluster.client("storefront") as api:
        r = api.post(
            "/api/auth/signup", json={"email": email, "name": "Ann Shopper", "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
    return email, {"Authorization": f"Bearer {cluster.identity_token(email, PASSWORD)}"}


def test_staff_answer_a_customer_request(cluster: Cluster, staff: Page) -> None:
    _, customer = _customer(cluster)
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, ship=False)
        subject = f"Where is my parcel {uuid.uuid4().hex[:6]}"
        opened = api.post(
            "/api/tickets",
            json={
                "order_id": order_id,
                "email": email,
                "type": "delivery",
                "subject": subject,
                "description": "It has not arrived yet.",
            },
            headers={**customer, "Idempotency-Key": factories.ref("tkt")},
        )
        assert opened.status_code == 201, opened.text
        ticket = opened.json()

        def listed() -> bool:
            staff.goto("/staff/tickets?status=open")
            expect(staff.get_by_role("link", name=ticket["ticket_number"])).to_be_visible(
                timeout=500
            )
            return True

        eventually(listed, timeout=30, interval=0.5)
        _look(staff, "staff-tickets")
        staff.get_by_role("link", name=ticket["ticket_number"]).click()
        expect(staff.locator("h1")).to_have_text(subject)
        expect(staff.locator(".thread")).to_contain_text("It has not arrived yet.")

        # An empty answer is refused next to the field.
        staff.get_by_role("button", name="Send").click()
        expect(staff.locator("#e-message")).to_be_visible()
        answer = "Your parcel left our warehouse today; it arrives tomorrow."
        staff.get_by_label("Your answer").fill(answer)
        staff.get_by_role("button", name="Send").click()
        expect(staff.locator(".flash")).to_contain_text("Answer sent")
        expect(staff.locator(".thread")).to_contain_text(answer)
        staff.get_by_label("Internal note").check()
        staff.get_by_label("Your answer").fill("Checked with the carrier.")
        staff.get_by_role("button", name="Send").click()
        expect(staff.locator(".thread .internal")).to_contain_text("Checked with the carrier.")
        staff.get_by_role("button", name="Assign").click()
        expect(staff.locator(".flash")).to_contain_text("Assigned to you")
        _look(staff, "staff-ticket")

        seen = api.get(f"/api/tickets/{ticket['ticket_id']}", headers=customer)
        assert seen.status_code == 200, seen.text
        messages = [m["message"] for m in seen.json()["messages"]]
        assert answer in messages and "Checked with the carrier." not in messages
        assert seen.json()["status"] == "pending_customer"


# -- (3) analytics ---------------------------------------------------------------------------
def test_the_analytics_page_draws_the_sales_and_exports_them(cluster: Cluster, staff: Page) -> None:
    with cluster.client("storefront") as api:
        webhooks.paid_order(cluster, api, quantity=3, ship=False)

        def counted() -> Json:
            report = api.get("/api/staff/analytics/sales").json()
            assert report["totals"]["orders"] >= 1, report["totals"]
            return dict(report)

        report = eventually(counted, timeout=60, interval=0.5)

    staff.goto("/staff")
    expect(staff.locator("h1")).to_have_text("Sales analytics")
    charts = staff.locator("svg.chart[role=img]")
    expect(charts).to_have_count(5)
    revenue = staff.locator("#chart-revenue")
    expect(revenue.locator("title").first).to_have_text("Revenue by period")
    assert "total" in (revenue.locator("desc").text_content() or "")
    assert staff.locator("#chart-orders rect.bar").count() == len(report["series"])
    expect(staff.locator(".kpi").first).to_contain_text("Revenue")
    # The figures as a table, for those who do not see the chart.
    staff.get_by_text("Revenue and orders as a table").click()
    expect(staff.locator("details table").first).to_be_visible()
    _look(staff, "staff-analytics")

    # Shown again: drawn from the answer the web app kept (for a moment without asking,
    # then on the API's 304); after another sale the page shows the new count once the
    # kept answer's max-age (2 s) has passed.
    paid_orders = staff.locator(".kpi", has_text="Paid orders").locator(".kpi-value")
    staff.reload()
    expect(charts).to_have_count(5)
    with cluster.client("storefront") as api:

        def api_orders() -> int:
            return int(api.get("/api/staff/analytics/sales").json()["totals"]["orders"])

        before = api_orders()
        webhooks.paid_order(cluster, api, quantity=1, ship=False)

        def shows_the_sale() -> bool:
            now = api_orders()
            staff.reload()
            return now > before and paid_orders.inner_text() == f"{now:,}"

        eventually(shows_the_sale, timeout=30, interval=0.5)

    # By month, and a period that ends before it starts is refused next to the field.
    staff.get_by_label("Group by").select_option("month")
    staff.get_by_role("button", name="Show").click()
    expect(staff.get_by_role("heading", name="Revenue by month")).to_be_visible()
    staff.goto("/staff?start_date=2026-03-10&end_date=2026-03-01")
    expect(staff.locator("#e-end_date")).to_contain_text("must not be before")

    csv = staff.request.get("/staff/export?format=csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"].startswith("attachment")
    assert csv.text().splitlines()[0].startswith("period,start,orders,revenue")
    xlsx = staff.request.get("/staff/export?format=xlsx&granularity=week")
    assert xlsx.status == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    assert xlsx.body()[:2] == b"PK"


# -- (4) products, stock and the other pages ---------------------------------------------------
def test_a_product_is_created_edited_against_a_concurrent_change_and_restocked(
    cluster: Cluster, staff: Page
) -> None:
    tag = uuid.uuid4().hex[:8]
    staff.goto("/staff/products/new")
    staff.locator("#f-name").fill(f"Staff Lamp {tag}")
    staff.get_by_label("Address name (slug)").fill("Not A Slug")
    staff.get_by_label("Category").select_option("electronics-laptops")
    staff.get_by_label("Price").fill("49.90")
    staff.get_by_label("Product SKU").fill(f"LAMP-{tag}")
    staff.get_by_role("button", name="Create product").click()
    expect(staff.locator("#e-slug")).to_contain_text("lower-case")
    _look(staff, "staff-product-new")
    staff.get_by_label("Address name (slug)").fill(f"staff-lamp-{tag}")
    staff.get_by_label("Status").select_option("active")
    staff.get_by_label("Stock", exact=True).fill("4")
    staff.get_by_role("button", name="Create product").click()
    expect(staff.locator(".flash")).to_contain_text("created")
    product_id = staff.url.rsplit("/", 1)[1]

    with cluster.client("storefront") as api:
        # Someone else changes the brand while this page is open.
        current = api.get(f"/api/staff/products/{product_id}")
        changed = api.patch(
            f"/api/staff/products/{product_id}",
            json={"brand": "Changed Elsewhere"},
            headers={"If-Match": current.headers["etag"]},
        )
        assert changed.status_code == 200, changed.text
        staff.locator("#f-name").fill(f"Staff Lamp {tag} v2")
        staff.get_by_role("button", name="Save changes").click()
        expect(staff.locator("#conflict")).to_contain_text("Changed by someone else")
        expect(staff.get_by_label("Brand")).to_have_value("Changed Elsewhere")
        expect(staff.locator("#f-name")).to_have_value(f"Staff Lamp {tag}")
        shoot(staff, "staff-product-conflict")
        # With the fresh values (and ETag) the change goes through.
        staff.locator("#f-name").fill(f"Staff Lamp {tag} v2")
        staff.get_by_role("button", name="Save changes").click()
        expect(staff.locator(".flash")).to_contain_text("Product saved")
        saved = api.get(f"/api/staff/products/{product_id}").json()
        assert saved["name"] == f"Staff Lamp {tag} v2" and saved["brand"] == "Changed Elsewhere"

        staff.get_by_label("Units").fill("6")
        staff.get_by_label("Reason").fill("Delivery from the supplier")
        staff.get_by_role("button", name="Adjust stock").click()
        expect(staff.locator(".flash")).to_contain_text("10 on hand")
        _look(staff, "staff-product")
        level = api.get(f"/api/products/{product_id}/inventory").json()
        assert level["available"] == 10

        def searchable() -> bool:
            staff.goto(f"/staff/products?q=Staff+Lamp+{tag}")
            expect(staff.get_by_role("link", name=f"Staff Lamp {tag} v2")).to_be_visible(
                timeout=500
            )
            return True

        eventually(searchable, timeout=30, interval=0.5)
        _look(staff, "staff-products")

    # Archive it through the confirmation page.
    staff.goto(f"/staff/products/{product_id}/delete")
    expect(staff.get_by_text("Only a draft")).to_be_visible()
    staff.get_by_role("button", name="Archive the product").click()
    expect(staff.locator(".flash")).to_contain_text("archived")
    expect(staff.locator("h1")).to_contain_text("Archived")


def test_the_other_staff_pages_and_their_empty_states(cluster: Cluster, staff: Page) -> None:
    for path, name, heading in (
        ("/staff/reviews?status=rejected", "staff-reviews-empty", "No rejected reviews"),
        ("/staff/prices", "staff-prices", "No suggestions yet"),
        ("/staff/fraud", "staff-fraud", "No orders held"),
        ("/staff/restock", "staff-restock", None),
    ):
        staff.goto(path)
        if heading:
            expect(staff.locator(".staff-empty h2")).to_have_text(heading)
        _look(staff, name)

    # A price for a product without sales: the model's refusal is said next to the field.
    staff.goto("/staff/prices")
    staff.get_by_label("Product ID").fill("p-never-sold")
    staff.get_by_role("button", name="Suggest a price").click()
    expect(staff.locator("#e-product_id")).to_be_visible()

    # A customer's review waits for moderation; staff publish it.
    _, customer = _customer(cluster)
    with cluster.client("storefront") as api:
        product = factories.product()
        assert api.post("/api/staff/products", json=product).status_code == 201
        title = f"Solid and light {uuid.uuid4().hex[:6]}"
        written = api.post(
            f"/api/products/{product['product_id']}/reviews",
            json={"rating": 4, "title": title, "body": "Good battery life."},
            headers=customer,
        )
        assert written.status_code == 201, written.text
        review_id = written.json()["review_id"]
        staff.goto("/staff/reviews")
        card = staff.locator("li.review").filter(has_text=title)
        expect(card).to_contain_text("4 out of 5")
        _look(staff, "staff-reviews")
        card.get_by_label("Note (optional)").fill("Fine")
        card.get_by_role("button", name="Publish").click()
        expect(staff.locator(".flash")).to_contain_text("Review published")
        expect(staff.locator("li.review").filter(has_text=title)).to_have_count(0)

        def published() -> bool:
            got = api.get(f"/api/products/{product['product_id']}/reviews").json()
            assert review_id in [r["review_id"] for r in got["items"]]
            return True

        eventually(published, timeout=20, interval=0.5)

    # A banner: refused per field, then created and listed.
    tag = uuid.uuid4().hex[:6]
    staff.goto("/staff/banners/new")
    staff.locator("#f-title").fill(f"Winter sale {tag}")
    staff.get_by_label("Image address (https)").fill("http://images.example/winter.jpg")
    staff.get_by_role("button", name="Create banner").click()
    expect(staff.locator("#e-image_url")).to_contain_text("https://")
    _look(staff, "staff-banner")
    staff.get_by_label("Image address (https)").fill("https://images.example/winter.jpg")
    staff.get_by_role("button", name="Create banner").click()
    expect(staff.locator(".flash")).to_contain_text("created")
    expect(staff.get_by_role("link", name=f"Winter sale {tag}")).to_be_visible()
    _look(staff, "staff-banners")

    # A promo code created, paused from the list, edited with its ETag.
    code = f"STAFF{tag}".upper()
    staff.goto("/staff/promotions/new")
    staff.get_by_label("Code").fill(code)
    staff.get_by_label("Value").fill("150")
    staff.get_by_role("button", name="Create code").click()
    expect(staff.locator("#e-value")).to_be_visible()
    staff.get_by_label("Value").fill("15")
    staff.get_by_role("button", name="Create code").click()
    expect(staff.locator(".flash")).to_contain_text(f"{code} created")
    staff.get_by_role("button", name=f"Pause {code}").click()
    expect(staff.locator(".flash")).to_contain_text("paused")
    _look(staff, "staff-promotions")
    staff.get_by_role("link", name=code).click()
    staff.get_by_label("Description").fill("Fifteen percent off")
    staff.get_by_role("button", name="Save terms").click()
    expect(staff.locator(".flash")).to_contain_text(f"{code} saved")
    staff.get_by_role("link", name=code).click()
    expect(staff.get_by_label("Description")).to_have_value("Fifteen percent off")
    _look(staff, "staff-promotion")


# -- (5) who may see the staff pages -----------------------------------------------------------
def test_customers_get_403_and_visitors_sign_in_on_every_staff_page(
    cluster: Cluster, browser: Browser, web: str
) -> None:
    pages = staff_pages()
    assert len(pages) >= 20 and "/staff/tickets/tkt-abc123" in pages
    email, _ = _customer(cluster)
    ctx = _new_context(browser, web)
    try:
        page = ctx.new_page()
        sign_in(page, email, PASSWORD, "/staff/orders")
        for path in pages:
            response = page.goto(path)
            assert response is not None and response.status == 403, path
            expect(page.locator("h1")).to_have_text("Not for this account")
        shoot(page, "staff-forbidden")
        assert_accessible(page, "staff-forbidden")
        assert page.locator('nav[aria-label="Back office"]').count() == 0
        csrf = str(page.locator('meta[name="csrf-token"]').get_attribute("content"))
        for path in ("/staff/orders/o-1/release", "/staff/tickets/tkt-abc123/response"):
            r = page.request.post(path, form={"csrf_token": csrf, "message": "hi"})
            assert r.status == 403, path
    finally:
        ctx.close()
    ctx = _new_context(browser, web)
    try:
        page = ctx.new_page()
        for path in pages:
            page.goto(path)
            assert re.search(r"/signin\?next=", page.url), (path, page.url)
    finally:
        ctx.close()
