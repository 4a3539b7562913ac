"""The back office's ticket routes check the gateway's signed context themselves: anonymous
callers are refused the customer routes (401), customers the staff routes (403), and the
user id handed to the use cases is the context's, never the request's."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.backoffice.tickets_api import router
from apps.contracts.identity import Principal, Role
from apps.platform.context import CONTEXT_HEADER, sign_context
from apps.platform.http import install_common

KEY = "test-context-key"


class Key:
    async def get(self) -> str:
        return KEY


class RecordingService:
    """Answers nothing useful: records who each use case was called for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def mine(self, user_id: str, page: int, limit: int) -> dict[str, Any]:
        self.calls.append(("mine", user_id))
        return {"items": [], "page": page, "limit": limit, "total": 0}

    async def staff_list(self, *args: Any) -> dict[str, Any]:
        self.calls.append(("staff_list", args))
        return {"items": [], "page": 1, "limit": 50, "total": 0}


@pytest.fixture
def client() -> tuple[TestClient, RecordingService]:
    app = FastAPI()
    install_common(app)
    app.include_router(router)
    service = RecordingService()
    app.state.context_key = Key()
    app.state.tickets = service
    return TestClient(app), service


def as_(user_id: str, role: Role) -> dict[str, str]:
    return {CONTEXT_HEADER: sign_context(Principal(user_id=user_id, role=role), KEY)}


def test_customer_routes_use_the_context_user(client: tuple[TestClient, RecordingService]) -> None:
    api, service = client
    assert api.get("/tickets").status_code == 401
    r = api.get("/tickets", params={"user_id": "someone-else"}, headers=as_("u-1", Role.CUSTOMER))
    assert r.status_code == 200, r.text
    assert service.calls == [("mine", "u-1")]


def test_staff_routes_need_staff(client: tuple[TestClient, RecordingService]) -> None:
    api, service = client
    assert api.get("/staff/tickets").status_code == 403
    assert api.get("/staff/tickets", headers=as_("u-1", Role.CUSTOMER)).status_code == 403
    forged = {CONTEXT_HEADER: sign_context(Principal(user_id="s", role=Role.STAFF), "wrong")}
    assert api.get("/staff/tickets", headers=forged).status_code == 401
    assert service.calls == []
    ok = api.get("/staff/tickets", params={"status": "open"}, headers=as_("s-1", Role.STAFF))
    assert ok.status_code == 200, ok.text
    assert service.calls[0][1][0] == ["open"]
