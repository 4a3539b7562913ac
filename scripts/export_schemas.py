"""Exports JSON Schemas of actor payloads and events to schemas/, so services in other
languages can call the same actors and consume the same topics.

    .venv/bin/python scripts/export_schemas.py          # write
    .venv/bin/python scripts/export_schemas.py --check  # fail if schemas/ is out of date
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from apps.contracts import (
    audit,
    cart,
    catalog,
    inventory,
    merchandising,
    notifications,
    orders,
    payments,
    returns,
    shipping,
    tickets,
    user_events,
)
from apps.contracts.events import EventEnvelope, EventPayload

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "schemas"

ACTORS: dict[str, dict[str, type[BaseModel]]] = {
    "OrderActor": {
        "create.request": orders.CreateOrder,
        "transition.request": orders.TransitionRequest,
        "request_return.request": returns.RequestReturn,
        "decide_return.request": returns.DecideReturn,
        "return_progress.request": returns.ReturnProgress,
        "reply": orders.ActorReply,
    },
    "ShipmentActor": {
        "create.request": shipping.CreateShipment,
        "update_status.request": shipping.UpdateShipmentStatus,
        "contact.request": shipping.OpenCarrierCase,
        "reply": shipping.ShipmentReply,
    },
    "TicketActor": {
        "create.request": tickets.CreateTicket,
        "reply.request": tickets.CustomerReply,
        "respond.request": tickets.StaffResponse,
        "set_status.request": tickets.SetStatus,
        "assign.request": tickets.AssignTicket,
        "reply": tickets.TicketReply,
    },
    "CartActor": {
        "add_item.request": cart.AddItem,
        "update_item.request": cart.UpdateItem,
        "remove_item.request": cart.RemoveItem,
        "clear.request": cart.ClearCart,
        "apply_promo.request": cart.ApplyPromo,
        "remove_promo.request": cart.RemovePromo,
        "set_destination.request": cart.SetDestination,
        "merge.request": cart.MergeCart,
        "hand_over.request": cart.HandOver,
        "reply": cart.CartReply,
        "hand_over.reply": cart.HandOverReply,
    },
}
EVENTS: list[type[EventPayload]] = [
    catalog.ProductCreated,
    catalog.ProductUpdated,
    catalog.ProductArchived,
    catalog.ProductDeleted,
    orders.OrderCreated,
    orders.OrderStatusChanged,
    orders.OrderPaid,
    orders.OrderCancelled,
    orders.OrderCompleted,
    orders.OrderPlaced,
    cart.CartAbandoned,
    payments.PaymentProcessed,
    payments.PaymentFailed,
    payments.RefundProcessed,
    shipping.ShipmentScheduled,
    shipping.ShipmentStatusUpdated,
    shipping.DeliveryCompleted,
    shipping.CustomerNotificationRequested,
    returns.ReturnRequested,
    returns.ReturnApproved,
    returns.ReturnRejected,
    returns.ReturnReceived,
    returns.ReturnRefunded,
    inventory.StockReturned,
    merchandising.FraudReviewRequested,
    tickets.TicketCreated,
    tickets.TicketUpdated,
    tickets.TicketResolved,
    user_events.UserCreated,
    user_events.UserUpdated,
    user_events.UserDeleted,
    user_events.EmailVerificationRequested,
    user_events.PasswordResetRequested,
    user_events.NewDeviceSignIn,
    notifications.NotificationDeadLettered,
    audit.AuditRecorded,
]


def documents() -> dict[str, str]:
    docs: dict[str, dict[str, object]] = {"event-envelope.json": EventEnvelope.model_json_schema()}
    for actor, methods in ACTORS.items():
        for name, model in methods.items():
            docs[f"actors/{actor}.{name}.json"] = model.model_json_schema(
                mode="serialization" if name.endswith("reply") else "validation"
            )
    for event in EVENTS:
        schema = event.model_json_schema(mode="serialization")
        schema["x-topic"] = event.TOPIC.value
        schema["x-event-type"] = event.EVENT_TYPE
        schema["x-event-version"] = event.EVENT_VERSION
        docs[f"events/{event.TOPIC.value}/{event.EVENT_TYPE}.v{event.EVENT_VERSION}.json"] = schema
    return {k: json.dumps(v, indent=2, sort_keys=True) + "\n" for k, v in docs.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    docs = documents()
    if args.check:
        stale = [
            n for n, text in docs.items() if not (OUT / n).exists() or (OUT / n).read_text() != text
        ]
        extra = [
            str(p.relative_to(OUT))
            for p in OUT.rglob("*.json")
            if str(p.relative_to(OUT)) not in docs
        ]
        if stale or extra:
            print(f"schemas/ out of date: {stale + extra}; run ./taskw schemas", file=sys.stderr)
            return 1
        return 0
    for name, text in docs.items():
        (OUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text(text)
    print(f"wrote {len(docs)} schemas to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
