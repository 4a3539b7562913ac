"""The session cluster (a pytest plugin of tests/conftest.py): real PostgreSQL, Redis,
placement, scheduler and every app in dapr.yaml with its own daprd. Torn down even when tests
fail; logs kept when they do."""

import json
import os
from collections.abc import Iterator

import pytest

from tests.harness import Cluster
from tests.tokens import TokenIssuer, serve_jwks

#: Short timeouts so reminder and sweeper tests finish in seconds (production: minutes).
#: Guest carts expire after 12 idle seconds here (each test uses fresh sessions).
GUEST_CART_TTL_SECONDS = 12
#: The suite sends thousands of requests a minute from one address: only the per-email
#: sign-in limit keeps its production value (the brute-force tests rely on it).
STOREFRONT_LIMITS = {
    "STOREFRONT_RATE_LIMIT_IP_PER_MINUTE": "1000000",
    "STOREFRONT_RATE_LIMIT_USER_PER_MINUTE": "1000000",
    "STOREFRONT_RATE_LIMIT_AUTH_IP_PER_MINUTE": "1000000",
    "STOREFRONT_RATE_LIMIT_AUTH_EMAIL_PER_MINUTE": "10",
    "STOREFRONT_CORS_ORIGINS": json.dumps(["https://shop.example"]),
}
#: Password reset links expire after 8 s here (production: 30 min); the account outbox is
#: swept every second.
IDENTITY_RESET_TTL_SECONDS = 8
IDENTITY_ENV = {
    "IDENTITY_PASSWORD_RESET_TTL_SECONDS": str(IDENTITY_RESET_TTL_SECONDS),
    "IDENTITY_OUTBOX_SWEEP_SECONDS": "1",
    "IDENTITY_OUTBOX_GRACE_SECONDS": "2",
}
#: The saga gives up on a payment result after 30 s (production: 15 min), and on a shopper
#: authenticating a payment (3-D Secure) after 60 s (production: 10 min).
CHECKOUT_PAYMENT_TIMEOUT_SECONDS = 30
CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS = 60
#: A saga in flight idle this long is listed as stuck by /api/admin/sagas (production: its
#: own timeout plus a minute); well inside the payment timeout, so a test sees it stuck
#: before its timer cancels it (test_admin_sagas).
CHECKOUT_STUCK_AFTER_SECONDS = 4
FRAUD_TEST_BANDS = {"FRAUD_REVIEW_THRESHOLD": "0.90", "FRAUD_REJECT_THRESHOLD": "0.95"}
TICKET_FIRST_RESPONSE_SECONDS = 8
TICKET_STAFF_EMAIL = "support-team@smartcommerce.example"
APP_ENV = {
    # Paid orders are held for an hour (tests of paid orders see them stay paid; tests that
    # ship one release it: webhooks.release). The simulated carrier scans a shipment every
    # second, always on the normal route (exceptions are unit-tested); the return window is
    # ~50 s, after which a delivered order completes (test_returns waits for it).
    "orders": {
        "ORDERS_PAYMENT_TIMEOUT_SECONDS": "3600",
        "ORDERS_FULFILMENT_HOLD_SECONDS": "3600",
        "ORDERS_CARRIER_STEP_SECONDS": "1",
        "ORDERS_CARRIER_SCENARIO": "normal",
        "ORDERS_RETURN_WINDOW_DAYS": "0.0006",
    },
    "checkout": {
        "CHECKOUT_PAYMENT_TIMEOUT_SECONDS": str(CHECKOUT_PAYMENT_TIMEOUT_SECONDS),
        "CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS": str(CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS),
        "CHECKOUT_STUCK_AFTER_SECONDS": str(CHECKOUT_STUCK_AFTER_SECONDS),
    },
    # Wider approve band than production (0.30 / 0.80): the model weighs the shopper's local
    # hour, so without it a test order's band would depend on when the suite runs. An
    # honest-looking guest order scores at most ~0.86 at any hour; tests of the bands
    # restart fraud with their own thresholds.
    "fraud": FRAUD_TEST_BANDS,
    "cart": {
        "CART_GUEST_TTL_SECONDS": str(GUEST_CART_TTL_SECONDS),
        "CART_MAX_LINE_QUANTITY": "500",
    },
    "catalog": {"CATALOG_OUTBOX_SWEEP_SECONDS": "1", "CATALOG_OUTBOX_GRACE_SECONDS": "2"},
    # Tickets: a first answer is due within seconds at every priority (test_tickets waits
    # for the breach), the resolution within an hour; breaches mail TICKET_STAFF_EMAIL.
    "backoffice": {
        "BACKOFFICE_TICKET_FIRST_RESPONSE_SECONDS": json.dumps(
            dict.fromkeys(("low", "medium", "high", "urgent"), TICKET_FIRST_RESPONSE_SECONDS)
        ),
        "BACKOFFICE_TICKET_RESOLUTION_SECONDS": json.dumps(
            dict.fromkeys(("low", "medium", "high", "urgent"), 3600)
        ),
        "BACKOFFICE_TICKET_STAFF_EMAIL": TICKET_STAFF_EMAIL,
        # The restock list rereads every SKU's level after 2 s (production: 60 s).
        "BACKOFFICE_RESTOCK_LEVELS_TTL_SECONDS": "2",
    },
    # Mail that failed is retried within a second or two (production: 30 s doubling to an
    # hour, 20 attempts); never dead-lettered while a test holds the mail server down.
    "notifications": {
        "NOTIFICATIONS_SWEEP_SECONDS": "0.5",
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.5",
        "NOTIFICATIONS_RETRY_MAX_SECONDS": "2",
        "NOTIFICATIONS_SEND_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_LEASE_SECONDS": "5",
        "NOTIFICATIONS_MAX_ATTEMPTS": "1000",
        "NOTIFICATIONS_PUBLIC_BASE_URL": "https://shop.example",
    },
}


@pytest.fixture(scope="session")
def tokens() -> Iterator[tuple[TokenIssuer, str]]:
    """The test token issuer and the URL of its JWKS (the storefront trusts it)."""
    issuer = TokenIssuer()
    with serve_jwks(issuer) as url:
        yield issuer, url


@pytest.fixture(scope="session")
def issuer(tokens: tuple[TokenIssuer, str]) -> TokenIssuer:
    return tokens[0]


ENTRA_ISSUER = "https://login.microsoftonline.com/tenant-test/v2.0"
ENTRA_AUDIENCE = "api://smartcommerce-test"


@pytest.fixture(scope="session")
def entra_keys() -> Iterator[tuple[TokenIssuer, str]]:
    """A second, locally generated key set acting as Microsoft Entra ID (the identity app
    validates its tokens by the configured issuer, audience and JWKS URL)."""
    entra = TokenIssuer(issuer=ENTRA_ISSUER, audience=ENTRA_AUDIENCE)
    with serve_jwks(entra) as url:
        yield entra, url


@pytest.fixture(scope="session")
def entra(entra_keys: tuple[TokenIssuer, str]) -> TokenIssuer:
    return entra_keys[0]


@pytest.fixture(scope="session")
def cluster(
    request: pytest.FixtureRequest,
    tokens: tuple[TokenIssuer, str],
    entra_keys: tuple[TokenIssuer, str],
) -> Iterator[Cluster]:
    c = Cluster.create()
    test_issuer = tokens[0]
    c.staff_token = lambda: test_issuer.token("staff-harness", "staff")
    print(f"\n[harness] cluster work dir: {c.workdir}")
    # The storefront trusts the identity app's keys and, for tests, the test issuer's too.
    env = {
        **APP_ENV,
        "storefront": {
            "STOREFRONT_EXTRA_JWKS_URLS": json.dumps([tokens[1]]),
            **STOREFRONT_LIMITS,
        },
        "identity": {
            "IDENTITY_ENTRA_ISSUER": ENTRA_ISSUER,
            "IDENTITY_ENTRA_AUDIENCE": ENTRA_AUDIENCE,
            "IDENTITY_ENTRA_JWKS_URL": entra_keys[1],
            "IDENTITY_KEY_ACTIVATION_SECONDS": "3",
            **IDENTITY_ENV,
        },
    }
    started = False
    try:
        c.start_infrastructure()
        for app_id in c.app_specs():
            c.start_app(app_id, env=env.get(app_id), wait=False)
        for app_id in c.app_specs():
            c.wait_ready(app_id)
        # The category tree products are filed under (seed's 56 categories, no products).
        c.seed("--products", "0")
        started = True
        yield c
    finally:
        try:
            c.stop()
        finally:
            failed = not started or request.session.testsfailed > 0
            if failed or os.environ.get("SC_KEEP_TEST_LOGS") == "1":
                print(f"\n[harness] logs kept in {c.logs}")
            else:
                c.remove()
