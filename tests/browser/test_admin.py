"""The admin pages in Chromium against the session cluster, as the bootstrap admin (signed in
once at /signin for the module): a stuck checkout saga terminated with its compensation, a
dead letter replayed after its fix (through the no-JavaScript confirmation page), the
operations console listing every app of dapr.yaml with the catalog's sidecar shown as the
sidecar itself reports it, users created and deleted, a setting refused per field, the
audit log filtered; and every admin page refused to staff and customers (403) and to
anonymous visitors (sign-in)."""

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import factories
from tests.browser.conftest import assert_accessible, shoot
from tests.dead_letters import paid_order, shipment_scheduled
from tests.harness import ROOT, Cluster, eventually
from tests.tokens import TokenIssuer

Json = dict[str, Any]
ADMIN_EMAIL = "admin@smartcommerce.example"
PASSWORD = "Correct-Horse-42-battery"
#: Every admin page (path parameters filled in): the guard must hold on each.
ADMIN_PAGES = [
    "/admin/users",
    "/admin/users/new",
    "/admin/audit",
    "/admin/config",
    "/admin/config/fraud.bands",
    "/admin/ops",
    "/admin/ops/status",
    "/admin/ops/services/catalog",
    "/admin/sagas",
    "/admin/sagas/o-1",
    "/admin/dead-letters",
    "/admin/dead-letters/x-1",
]


def _admin_password() -> str:
    secrets = json.loads((ROOT / "components" / "local" / "secrets.identity.json").read_text())
    return str(secrets["identity-admin-password"])


def sign_in(page: Page, email: str, password: str, then: str) -> None:
    page.goto(f"/signin?next={then}")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(then) + "$"))


def _new_context(browser: Browser, web: str, state: Any = None) -> BrowserContext:
    ctx = browser.new_context(
        base_url=web, bypass_csp=True, viewport={"width": 1280, "height": 900}, storage_state=state
    )
    ctx.set_default_timeout(20_000)
    return ctx


@pytest.fixture(scope="module")
def admin_state(browser: Browser, web: str) -> Any:
    """The bootstrap admin's signed-in browser state (one sign-in for the module: the
    per-account sign-in limit stays untouched)."""
    ctx = _new_context(browser, web)
    try:
        page = ctx.new_page()
        sign_in(page, ADMIN_EMAIL, _admin_password(), "/admin/ops")
        return ctx.storage_state()
    finally:
        ctx.close()


@pytest.fixture
def admin(browser: Browser, web: str, admin_state: Any) -> Iterator[Page]:
    ctx = _new_context(browser, web, admin_state)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


@pytest.fixture
def api_admin(issuer: TokenIssuer) -> dict[str, str]:
    return issuer.headers(factories.ref("adm"), "admin")


def _flash(page: Page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


# -- (1) a stuck saga ------------------------------------------------------------------------
def test_an_admin_terminates_a_stuck_saga_with_its_compensation(
    cluster: Cluster, admin: Page, api_admin: dict[str, str]
) -> None:
    """A checkout whose payment result never comes (no webhook) idles past
    CHECKOUT_STUCK_AFTER_SECONDS (4 s here): listed as stuck, terminated from its page."""
    with cluster.client("storefront") as api:
        product = factories.product()
        product["variants"][0]["stock"] = 5
        assert api.post("/api/staff/products", json=product).status_code == 201
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "quantity": 2,
        }
        body = factories.checkout(line)
        r = api.post("/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")})
        assert r.status_code == 202, r.text
        order_id = str(r.json()["order_id"])

        def stuck() -> bool:
            page = api.get(
                "/api/admin/sagas", params={"stuck": "true", "limit": 100}, headers=api_admin
            ).json()
            assert order_id in [s["saga_id"] for s in page["items"]], "not stuck yet"
            return True

        eventually(stuck, timeout=25)

        admin.goto("/admin/sagas")  # in flight: listed, marked stuck
        expect(admin.locator(f'tr[data-saga="{order_id}"]')).to_contain_text("stuck")
        admin.get_by_role("link", name="Stuck", exact=True).click()
        row = admin.locator(f'tr[data-saga="{order_id}"]')
        expect(row).to_contain_text("running")
        expect(row).to_contain_text("payment")
        shoot(admin, "admin-sagas")
        assert_accessible(admin, "admin-sagas")

        row.get_by_role("link", name=order_id).click()
        expect(admin.locator("h1")).to_have_text(f"Saga {order_id}")
        expect(admin.locator(".status-line")).to_contain_text("stuck")
        shoot(admin, "admin-saga")
        assert_accessible(admin, "admin-saga")

        form = admin.locator("form.terminate")
        form.get_by_label("Reason").fill("stuck in payment (browser)")
        admin.once("dialog", lambda d: d.accept())
        form.get_by_role("button", name="Terminate saga").click()
        expect(admin.locator(".flash")).to_contain_text("terminated")
        assert "order cancelled" in _flash(admin)
        expect(admin.locator(".status-line")).to_contain_text("terminated")
        shoot(admin, "admin-saga-terminated")

        saga = api.get(f"/api/admin/sagas/{order_id}", headers=api_admin).json()
        assert saga["status"] == "terminated" and saga["compensated_by"], saga
        order = api.get(f"/api/orders/{order_id}", params={"email": body["email"]}).json()
        assert order["status"] == "cancelled"
        assert "stuck in payment (browser)" in order["cancel_reason"]
        level = api.get(f"/api/products/{product['product_id']}/inventory").json()["variants"][0]
        assert (level["reserved"], level["available"]) == (0, 5), level


# -- (2) a dead letter -----------------------------------------------------------------------
def _poison(order: Json, event_id: str) -> Json:
    """A ShipmentScheduled for a shipment that does not exist yet: orders drops it. Its
    correlation id carries markup, which the page must show as text."""
    return shipment_scheduled(
        order, event_id, correlation_id=f"{order['correlation_id']}-<script>alert(1)</script>"
    )


def test_an_admin_replays_a_dead_letter_after_the_fix(
    cluster: Cluster, admin: Page, api_admin: dict[str, str]
) -> None:
    order = paid_order(cluster)
    event_id = f"poison-{uuid.uuid4()}"
    with cluster.sidecar("orders") as dapr:  # orders owns shipping-events
        r = dapr.post(
            "/v1.0/publish/pubsub/shipping-events",
            params={"metadata.cloudevent.id": event_id},
            json=_poison(order, event_id),
        )
        assert r.status_code == 204, r.text
    with cluster.client("storefront") as api:

        def kept() -> bool:
            r = api.get(f"/api/admin/dead-letters/{event_id}", headers=api_admin)
            assert r.status_code == 200, r.text
            return True

        eventually(kept, timeout=60)
        # The fix: staff release the order, which books the shipment the event is about.
        assert api.post(f"/api/staff/orders/{order['order_id']}/release").status_code == 200

        def booked() -> bool:
            found = api.get("/api/staff/shipments", params={"order_id": order["order_id"]})
            assert len(found.json()["items"]) == 1
            return True

        eventually(booked, timeout=30)

        admin.goto("/admin/dead-letters")
        admin.get_by_label("Topic").select_option("shipping-events")
        admin.get_by_label("App (publisher or consumer)").select_option("orders")
        admin.get_by_role("button", name="Filter").click()
        row = admin.locator(f'tr[data-letter="{event_id}"]')
        expect(row).to_contain_text("ShipmentScheduled")
        expect(row).to_contain_text("open")
        shoot(admin, "admin-dead-letters")
        assert_accessible(admin, "admin-dead-letters")

        row.get_by_role("link", name=event_id).click()
        message = admin.locator("pre.json")
        expect(message).to_contain_text(f'"event_id": "{event_id}"')
        expect(message).to_contain_text("<script>alert(1)</script>")  # as text
        assert admin.locator("pre.json script").count() == 0
        shoot(admin, "admin-dead-letter")
        assert_accessible(admin, "admin-dead-letter")

        # Without the dialog (as without JavaScript) the server asks first.
        form = admin.locator("form.replay")
        form.evaluate("f => f.removeAttribute('data-confirm')")
        form.get_by_role("button", name="Replay").click()
        expect(admin.locator("h1")).to_have_text("Replay this dead letter?")
        shoot(admin, "admin-confirm")
        assert_accessible(admin, "admin-confirm")
        admin.locator("main form").get_by_role("button", name="Replay").click()
        expect(admin.locator(".flash")).to_contain_text("resolved")
        expect(admin.locator(".status-line")).to_contain_text("replayed")
        expect(admin.locator("table.outcomes")).to_contain_text("SUCCESS")

        letter = api.get(f"/api/admin/dead-letters/{event_id}", headers=api_admin).json()
        assert letter["status"] == "replayed" and letter["replayed_at"], letter
        outcomes = {o["app_id"]: o["status"] for o in letter["last_replay"]}
        assert outcomes.get("orders") == "SUCCESS" and set(outcomes.values()) == {"SUCCESS"}


# -- (3) the operations console ----------------------------------------------------------------
def _dapr_apps() -> list[str]:
    run = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    return [str(a["appID"]) for a in run["apps"]]


def test_the_operations_console_shows_every_app_and_the_catalog_sidecar(
    cluster: Cluster, admin: Page
) -> None:
    admin.goto("/admin/ops")
    for app_id in _dapr_apps():
        row = admin.locator(f'#ops-status tr[data-app="{app_id}"]')
        expect(row).to_contain_text("up")
        expect(row).to_contain_text("live / ready")
    # The panel refreshes itself (htmx, every 5 s).
    with admin.expect_response(lambda r: r.url.endswith("/admin/ops/status"), timeout=12_000):
        pass
    expect(admin.locator('#ops-status tr[data-app="catalog"]')).to_contain_text("up")
    shoot(admin, "admin-ops")
    assert_accessible(admin, "admin-ops")

    with cluster.sidecar("catalog") as sidecar:
        direct = sidecar.get("/v1.0/metadata").json()
    admin.locator('#ops-status tr[data-app="catalog"]').get_by_role("link").click()
    expect(admin.locator("h1")).to_contain_text("Service catalog")
    components = {
        (r.locator("th").inner_text(), r.locator("td").first.inner_text())
        for r in admin.locator("table.components tbody tr").all()
    }
    assert components == {(c["name"], c["type"]) for c in direct["components"]}
    subscriptions = {
        (r.locator("th").inner_text(), r.locator("td").nth(2).inner_text())
        for r in admin.locator("table.subscriptions tbody tr").all()
    }
    assert subscriptions == {
        (s["topic"], s.get("deadLetterTopic") or "none") for s in direct.get("subscriptions", [])
    }
    expect(admin.locator("#h-connection + dl")).to_contain_text(
        str(cluster.apps["catalog"].app_port)
    )
    expect(admin.locator(".facts").first).to_contain_text(direct["runtimeVersion"])

    admin.get_by_label("Lines", exact=True).fill("20")
    admin.get_by_role("button", name="Show logs").click()
    expect(admin.locator("#logs")).to_contain_text("of the last")
    lines = admin.locator("pre.logs").inner_text().strip().splitlines()
    assert 0 < len(lines) <= 20
    shoot(admin, "admin-service")
    assert_accessible(admin, "admin-service")


# -- users, settings, audit ----------------------------------------------------------------------
def test_an_admin_adds_and_removes_a_staff_member_and_a_setting_is_checked(
    cluster: Cluster, admin: Page, api_admin: dict[str, str]
) -> None:
    email = f"staff-{uuid.uuid4().hex[:10]}@example.com"
    admin.goto("/admin/users")
    admin.get_by_role("link", name="Add a staff member").click()
    admin.get_by_label("Name").fill("Sam Staff")
    admin.get_by_label("Email").fill("not-an-email")
    admin.get_by_role("button", name="Create user").click()
    expect(admin.locator("#e-email")).to_be_visible()  # the API's message, by its field
    expect(admin.locator("#e-password")).to_be_visible()
    shoot(admin, "admin-user-new")
    assert_accessible(admin, "admin-user-new")
    admin.get_by_label("Email").fill(email)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Create user").click()
    expect(admin.locator(".flash")).to_contain_text(f"{email} can now sign in as staff")

    admin.get_by_label("Search (email, name or id)").fill(email)
    admin.get_by_role("button", name="Show").click()
    row = admin.locator(f'tr[data-user="{email}"]')
    expect(row).to_contain_text("staff")
    shoot(admin, "admin-users")
    assert_accessible(admin, "admin-users")
    row.get_by_label(f"Role for {email}").select_option("admin")
    row.get_by_role("button", name="Change role").click()
    expect(admin.locator(".flash")).to_contain_text(f"{email} is now admin")
    row = admin.locator(f'tr[data-user="{email}"]')
    admin.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Delete").click()
    expect(admin.locator(".flash")).to_contain_text(f"{email} was deleted")
    expect(admin.locator(".empty-state")).to_contain_text("No users found")
    with cluster.client("storefront") as api:
        users = api.get("/api/admin/users", params={"limit": 100}, headers=api_admin).json()
        assert email not in [u["email"] for u in users["items"]]

    # A setting the API refuses: its message by the field, nothing stored.
    admin.goto("/admin/config")
    expect(admin.locator("table.config")).to_contain_text("fraud.bands")
    shoot(admin, "admin-config")
    assert_accessible(admin, "admin-config")
    admin.get_by_role("link", name="Edit fraud.bands").click()
    admin.get_by_label("review").fill("0.9")
    admin.get_by_label("reject").fill("0.5")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#e-value")).to_contain_text("Review must be below reject")
    shoot(admin, "admin-config-edit")
    assert_accessible(admin, "admin-config-edit")
    with cluster.client("storefront") as api:
        entry = api.get("/api/admin/config/fraud.bands", headers=api_admin).json()
        assert entry["source"] == "default", entry

    # The audit log has the admin's actions, filtered by actor (an email) and action.
    admin.goto("/admin/audit")
    admin.get_by_label("Actor (email or user id)").fill(ADMIN_EMAIL)
    admin.get_by_label("Action", exact=True).fill("user.deleted")

    def listed() -> bool:
        admin.get_by_role("button", name="Filter").click()
        expect(admin.locator("table.audit tbody tr").first).to_be_visible(timeout=2_000)
        return True

    eventually(lambda: listed(), timeout=20, interval=0.5)
    expect(admin.locator("table.audit")).to_contain_text(ADMIN_EMAIL)
    shoot(admin, "admin-audit")
    assert_accessible(admin, "admin-audit")


# -- (4) who may see the admin pages -------------------------------------------------------------
def _signup(cluster: Cluster, email: str) -> None:
    with cluster.client("storefront") as api:
        r = api.post(
            "/api/auth/signup", json={"email": email, "name": "Role Tester", "password": PASSWORD}
        )
        assert r.status_code == 201, r.text


def _staff(cluster: Cluster, email: str, api_admin: dict[str, str]) -> None:
    with cluster.client("storefront") as api:
        body = {"email": email, "name": "Staff Tester", "password": PASSWORD, "role": "staff"}
        r = api.post("/api/admin/users", json=body, headers=api_admin)
        assert r.status_code == 201, r.text


def _refused_everywhere(page: Page, who: str) -> None:
    csrf = str(page.locator('meta[name="csrf-token"]').get_attribute("content"))
    for path in ADMIN_PAGES:
        response = page.goto(path)
        assert response is not None and response.status == 403, (who, path)
        expect(page.locator("h1")).to_have_text("Not for this account")
    for path in ("/admin/sagas/o-1/terminate", "/admin/ops/services/cart/restart"):
        r = page.request.post(path, form={"csrf_token": csrf, "confirm": "yes"})
        assert r.status == 403, (who, path)


def test_staff_customers_and_visitors_do_not_see_admin_pages(
    cluster: Cluster, browser: Browser, web: str, api_admin: dict[str, str]
) -> None:
    staff_email = f"staff-{uuid.uuid4().hex[:10]}@example.com"
    customer_email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    _staff(cluster, staff_email, api_admin)
    _signup(cluster, customer_email)
    for who, email in (("staff", staff_email), ("customer", customer_email)):
        ctx = _new_context(browser, web)
        try:
            page = ctx.new_page()
            sign_in(page, email, PASSWORD, "/admin/ops")  # refused there too
            _refused_everywhere(page, who)
            if who == "staff":
                assert (
                    page.locator('nav[aria-label="Back office"] a[href="/admin/ops"]').count() == 0
                )
                shoot(page, "admin-forbidden")
                assert_accessible(page, "admin-forbidden")
        finally:
            ctx.close()
    ctx = _new_context(browser, web)
    try:
        page = ctx.new_page()
        for path in ADMIN_PAGES:
            page.goto(path)
            assert re.search(r"/signin\?next=", page.url), (path, page.url)
        with httpx.Client(base_url=web, follow_redirects=False) as anonymous:
            r = anonymous.post("/admin/ops/services/cart/restart", data={"confirm": "yes"})
            assert r.status_code in (303, 403), r.status_code
    finally:
        ctx.close()
