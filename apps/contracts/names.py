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


class Component(StrEnum):
    """Dapr component names, identical in components/local and components/azure."""

    STATE = "statestore"  # PostgreSQL: documents, projections, actor and workflow state
    PUBSUB = "pubsub"  # Redis Streams locally, Service Bus topics in Azure
    SECRETS = "secretstore"  # local file locally, Key Vault in Azure
    RATELIMIT = "ratelimit"  # PostgreSQL table of the storefront's rate-limit counters


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


class ActorType(StrEnum):
    """Actor type names as registered with the Dapr actor runtime (language-neutral)."""

    ORDER = "OrderActor"
    CART = "CartActor"


class WorkflowName(StrEnum):
    """Registered workflow names; instance ids are the order ids."""

    CHECKOUT = "checkout_saga"


# Dapr configuration names (components/*/config.yaml and the Azure environment).
DAPR_CONFIGURATION = "appconfig"
RESILIENCY_POLICY = "resiliency"
