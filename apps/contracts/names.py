"""Names that must match YAML (dapr.yaml, components/, bicep/).

Defined once here; tests/unit/test_names_match_yaml.py checks them against the files.
"""

from enum import StrEnum


class AppId(StrEnum):
    """Dapr app-ids (SPEC "Apps")."""

    STOREFRONT = "storefront"
    IDENTITY = "identity"
    CATALOG = "catalog"
    CART = "cart"
    ORDERS = "orders"
    CHECKOUT = "checkout"
    PAYMENTS = "payments"
    NOTIFICATIONS = "notifications"
    BACKOFFICE = "backoffice"
    FRAUD = "fraud"
    RECOMMENDATIONS = "recommendations"
    PRICING = "pricing"
    FORECAST = "forecast"
    WEB = "web"  # the web front end (pages), a client of the storefront API


class Component(StrEnum):
    """Dapr component names, identical in components/local and components/azure."""

    STATE = "statestore"  # PostgreSQL: documents, projections, actor and workflow state
    IDENTITY_STATE = "identitystore"  # PostgreSQL: identity's accounts and keys, identity only
    PUBSUB = "pubsub"  # Redis Streams locally, Service Bus topics in Azure
    # The same topics read by every replica for itself (a consumer group / subscription per
    # sidecar): catalog's read model applies each product and stock event on every replica.
    PUBSUB_BROADCAST = "pubsub-broadcast"
    RATELIMIT = "ratelimit"  # PostgreSQL table of the storefront's rate-limit counters
    # Secret stores, one per audience (a local file each locally, Key Vault in Azure): an
    # app's sidecar loads only the stores scoped to it, so it reads no one else's secrets.
    SECRETS = "secretstore"  # infrastructure: what components reference (every app)
    GATEWAY_SECRETS = "gateway-secrets"  # the gateway-context key: who signs or checks it
    PAYMENTS_SECRETS = "payments-secrets"  # Stripe keys: payments only
    IDENTITY_SECRETS = "identity-secrets"  # the first admin's password: identity only
    NOTIFICATIONS_SECRETS = "notifications-secrets"  # the SMTP login: notifications only
    WEB_SECRETS = "web-secrets"  # the web session cookie's key: web only
    # Output binding (bindings.smtp): notifications' email. Mailpit locally, Azure
    # Communication Services' SMTP endpoint in Azure; notifications only.
    EMAIL = "email"
    # Configuration store (Dapr Configuration API): runtime settings and feature flags.
    # PostgreSQL table locally, Azure App Configuration in Azure; read by the apps that
    # apply a key (apps/contracts/runtime_config.py) and by backoffice (the admin API).
    RUNTIME_CONFIG = "runtime-config"


class Secret(StrEnum):
    """Secret names, each held by exactly one secret store (`SECRET_STORE`)."""

    POSTGRES_CONNECTION_STRING = "postgres-connection-string"
    REDIS_HOST = "redis-host"
    GATEWAY_CONTEXT_KEY = "gateway-context-key"
    STRIPE_API_KEY = "stripe-api-key"
    STRIPE_WEBHOOK_SECRET = "stripe-webhook-secret"
    IDENTITY_ADMIN_PASSWORD = "identity-admin-password"
    # What the `email` binding connects to (referenced by the component, like the stores').
    SMTP_HOST = "smtp-host"
    SMTP_PORT = "smtp-port"
    SMTP_USER = "smtp-user"
    SMTP_PASSWORD = "smtp-password"
    # The key of the web app's encrypted session cookie (comma-separated, newest first).
    WEB_SESSION_KEY = "web-session-key"


#: The store that holds each secret (tests/unit/test_local_azure_consistency.py checks the
#: local files and that each store is scoped to exactly the apps that read it).
SECRET_STORE: dict[str, Component] = {
    Secret.POSTGRES_CONNECTION_STRING: Component.SECRETS,
    Secret.REDIS_HOST: Component.SECRETS,
    Secret.GATEWAY_CONTEXT_KEY: Component.GATEWAY_SECRETS,
    Secret.STRIPE_API_KEY: Component.PAYMENTS_SECRETS,
    Secret.STRIPE_WEBHOOK_SECRET: Component.PAYMENTS_SECRETS,
    Secret.IDENTITY_ADMIN_PASSWORD: Component.IDENTITY_SECRETS,
    Secret.SMTP_HOST: Component.NOTIFICATIONS_SECRETS,
    Secret.SMTP_PORT: Component.NOTIFICATIONS_SECRETS,
    Secret.SMTP_USER: Component.NOTIFICATIONS_SECRETS,
    Secret.SMTP_PASSWORD: Component.NOTIFICATIONS_SECRETS,
    Secret.WEB_SESSION_KEY: Component.WEB_SECRETS,
}


class Topic(StrEnum):
    """Pub/sub topics (SPEC "Events", seed 004 "Event Hub Configuration")."""

    USER_EVENTS = "user-events"
    PRODUCT_EVENTS = "product-events"
    ORDER_EVENTS = "order-events"
    INVENTORY_EVENTS = "inventory-events"
    PAYMENT_EVENTS = "payment-events"
    SHIPPING_EVENTS = "shipping-events"
    SUPPORT_EVENTS = "support-events"
    DEAD_LETTER = "dead-letter-events"
    AUDIT_EVENTS = "audit-events"  # the one way into the audit log (backoffice)


class ActorType(StrEnum):
    """Actor type names as registered with the Dapr actor runtime (language-neutral)."""

    ORDER = "OrderActor"
    CART = "CartActor"
    SHIPMENT = "ShipmentActor"
    TICKET = "TicketActor"


class WorkflowName(StrEnum):
    """Registered workflow names; instance ids are the order ids."""

    CHECKOUT = "checkout_saga"


# Dapr configuration names (components/*/config.yaml and the Azure environment).
DAPR_CONFIGURATION = "appconfig"
RESILIENCY_POLICY = "resiliency"
