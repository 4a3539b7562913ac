"""Customer requests on the real cluster: a customer opens a request about their order,
staff answer, assign and resolve it through the gateway, the customer is emailed; only the
owner or staff read it, a customer is refused the staff routes; an unanswered request
breaches its first-response target (seconds here: APP_ENV), is escalated once and staff
are emailed, and a reminder still fires after the back office restarts."""

import time
from typing import Any

import httpx

from tests import factories, webhooks
from tests.cluster import TICKET_FIRST_RESPONSE_SECONDS, TICKET_STAFF_EMAIL
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

Json = dict[str, Any]


def _open(api: httpx.Client, headers: dict[str, str], order_id: str, email: str) -> Json:
    body = {
        "order_id": order_id,
        "email": email,
        "type": "delivery",
        "subject": f"Where is my parcel {factories.ref('s')}",
        "description": "It has not arrived yet",
    }
    key = {"Idempotency-Key": factories.ref("idem-ticket")}
    opened = api.post("/api/tickets", json=body, headers={**headers, **key})
    assert opened.status_code == 201, opened.text
    again = api.post("/api/tickets", json=body, headers={**headers, **key})
    assert again.status_code == 201 and again.json()["ticket_id"] == opened.json()["ticket_id"]
    return dict(opened.json())


def _staff_ticket(api: httpx.Client, ticket_id: str) -> Json:
    got = api.get(f"/api/staff/tickets/{ticket_id}")
    assert got.status_code == 200, got.text
    return dict(got.json())


def test_a_request_from_open_to_resolved(cluster: Cluster, issuer: TokenIssuer) -> None:
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, ship=False)
        customer = issuer.headers(factories.ref("u"))
        stranger = issuer.headers(factories.ref("u"))

        # Someone else's order (wrong email) is the 404 of a missing order.
        refused = api.post(
            "/api/tickets",
            json={
                "order_id": order_id,
                "email": factories.email(),
                "subject": "x",
                "description": "y",
            },
            headers=stranger,
        )
        assert refused.status_code == 404, refused.text
        ticket = _open(api, customer, order_id, email)
        tid = ticket["ticket_id"]
        assert ticket["status"] == "open" and ticket["order_id"] == order_id
        assert ticket["ticket_number"].startswith("SC-T-")

        # Only the owner (or staff) reads it; a customer is refused every staff route.
        assert api.get(f"/api/tickets/{tid}", headers=stranger).status_code == 404
        assert api.get(f"/api/tickets/{tid}").status_code == 401
        assert api.get("/api/staff/tickets", headers=customer).status_code == 403
        assert api.get(f"/api/staff/tickets/{tid}", headers=customer).status_code == 403
        for method, path, body in (
            ("PUT", "status", {"new_status": "closed"}),
            ("PUT", "assign", {"staff_id": "s-1"}),
            ("POST", "response", {"message": "hi"}),
        ):
            r = api.request(method, f"/api/staff/tickets/{tid}/{path}", json=body, headers=customer)
            assert r.status_code == 403, (path, r.text)
        # ... and so is a call that reached the back office without staff's signed context.
        with cluster.client("backoffice") as backoffice:
            assert backoffice.get("/staff/tickets").status_code == 403

        # The customer adds a detail; staff leave a note, answer, assign.
        r = api.post(
            f"/api/tickets/{tid}/messages", json={"message": "Tracking says lost"}, headers=customer
        )
        assert r.status_code == 200, r.text
        note = {"message": "carrier claim opened", "internal_note": True}
        assert api.post(f"/api/staff/tickets/{tid}/response", json=note).status_code == 200
        answer = {"message": "We sent a replacement today."}
        answered = api.post(f"/api/staff/tickets/{tid}/response", json=answer)
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "pending_customer"
        assert answered.json()["first_response_at"] is not None
        assignee = factories.ref("staff")
        assigned = api.put(f"/api/staff/tickets/{tid}/assign", json={"staff_id": assignee})
        assert assigned.status_code == 200 and assigned.json()["assigned_to"] == assignee

        seen = api.get(f"/api/tickets/{tid}", headers=customer).json()
        assert [m["message"] for m in seen["messages"]] == [
            "It has not arrived yet",
            "Tracking says lost",
            "We sent a replacement today.",
        ]
        assert len(_staff_ticket(api, tid)["messages"]) == 4

        # The lists come from the view the events keep.
        def listed() -> bool:
            mine = api.get("/api/users/me/tickets", headers=customer).json()
            assert [t["ticket_id"] for t in mine["items"]] == [tid]
            staff = api.get("/api/staff/tickets", params={"assigned_to": assignee}).json()
            assert [t["ticket_id"] for t in staff["items"]] == [tid]
            assert staff["items"][0]["status"] == "pending_customer"
            return True

        eventually(listed, timeout=30, interval=0.5)
        assert api.get("/api/users/me/tickets", headers=stranger).json()["items"] == []

        # Resolved: an illegal move is a 409; the customer is emailed both answers.
        resolve = {"new_status": "resolved", "resolution": "Replacement delivered"}
        resolved = api.put(f"/api/staff/tickets/{tid}/status", json=resolve)
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        bad = api.put(f"/api/staff/tickets/{tid}/status", json={"new_status": "pending_customer"})
        assert bad.status_code == 409, bad.text

        def emailed() -> list[str]:
            subjects = [
                m["Subject"]
                for m in cluster.mails(email)
                if ticket["ticket_number"] in m["Subject"]
            ]
            assert any(s.startswith("Re: ") for s in subjects), subjects
            assert any(s.startswith("Resolved: ") for s in subjects), subjects
            return subjects

        subjects = eventually(emailed, timeout=60, interval=1)
        assert len(subjects) == 2, subjects
        body = next(m for m in cluster.mails(email) if m["Subject"].startswith("Re: "))
        assert "We sent a replacement today." in body["Text"]
        assert "carrier claim" not in body["Text"]

        # Replying to a resolved request reopens it; a closed one takes no more.
        reopened = api.post(
            f"/api/tickets/{tid}/messages", json={"message": "Not here"}, headers=customer
        )
        assert reopened.json()["status"] == "pending_staff"
        api.put(f"/api/staff/tickets/{tid}/status", json={"new_status": "closed"})
        late = api.post(f"/api/tickets/{tid}/messages", json={"message": "?"}, headers=customer)
        assert late.status_code == 409


def _breached(api: httpx.Client, tid: str) -> Json:
    ticket = _staff_ticket(api, tid)
    assert ticket["sla"]["breaches"], "not breached yet"
    return ticket


def _staff_mails(cluster: Cluster, number: str) -> list[Json]:
    return [m for m in cluster.mails(TICKET_STAFF_EMAIL) if number in m["Subject"]]


def test_an_unanswered_request_is_escalated_once_even_across_a_restart(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    wait = TICKET_FIRST_RESPONSE_SECONDS + 60
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, ship=False)
        customer = issuer.headers(factories.ref("u"))
        first = _open(api, customer, order_id, email)
        assert first["priority"] == "medium"

        ticket = eventually(lambda: _breached(api, first["ticket_id"]), timeout=wait, interval=1)
        assert ticket["priority"] == "high"
        (breach,) = ticket["sla"]["breaches"]
        assert breach["target"] == "first_response"
        assert (breach["priority_before"], breach["priority_after"]) == ("medium", "high")
        eventually(lambda: _staff_mails(cluster, first["ticket_number"]), timeout=60, interval=1)

        def escalated_in_list() -> bool:
            page = api.get("/api/staff/tickets", params={"priority": "high", "limit": 100}).json()
            assert first["ticket_id"] in [t["ticket_id"] for t in page["items"]]
            return True

        eventually(escalated_in_list, timeout=30, interval=0.5)

        # A reminder registered before the restart fires after it.
        second = _open(api, customer, order_id, email)
        cluster.restart_app("backoffice")
        ticket = eventually(lambda: _breached(api, second["ticket_id"]), timeout=wait, interval=1)
        assert ticket["priority"] == "high" and len(ticket["sla"]["breaches"]) == 1
        eventually(lambda: _staff_mails(cluster, second["ticket_number"]), timeout=60, interval=1)

        # Once per breach: nothing more later, for either.
        time.sleep(3)
        for opened in (first, second):
            assert len(_staff_ticket(api, opened["ticket_id"])["sla"]["breaches"]) == 1
            assert len(_staff_mails(cluster, opened["ticket_number"])) == 1
