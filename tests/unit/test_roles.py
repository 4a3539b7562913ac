"""The apps' own staff/admin check (apps/platform/roles.py): the gateway's signed context
names who calls; a role below the one needed, or no context at all, is 403; a forged or
altered context is 401."""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from apps.contracts.errors import Forbidden, Unauthorized
from apps.contracts.identity import Principal, Role
from apps.platform.context import sign_context
from apps.platform.roles import at_least, signed_caller

KEY = "k" * 32


class _Key:
    async def get(self) -> str:
        return KEY


REQUEST: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(context_key=_Key())))


def _check(role: Role, header: str | None) -> Principal:
    async def run() -> Principal:
        return await at_least(role)(await signed_caller(REQUEST, header))

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("who", "needed", "allowed"),
    [
        (Role.CUSTOMER, Role.STAFF, False),
        (Role.STAFF, Role.STAFF, True),
        (Role.ADMIN, Role.STAFF, True),
        (Role.STAFF, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_a_role_at_least_the_one_needed_passes(who: Role, needed: Role, allowed: bool) -> None:
    header = sign_context(Principal(user_id="u-1", role=who), KEY)
    if allowed:
        assert _check(needed, header).user_id == "u-1"
    else:
        with pytest.raises(Forbidden) as refused:
            _check(needed, header)
        assert refused.value.details["required"] == needed.value


def test_no_context_is_403_and_a_forged_one_401() -> None:
    with pytest.raises(Forbidden):
        _check(Role.STAFF, None)
    with pytest.raises(Forbidden):
        _check(Role.STAFF, sign_context(Principal(), KEY))  # anonymous, signed
    staff = sign_context(Principal(user_id="s-1", role=Role.STAFF), KEY)
    with pytest.raises(Unauthorized):
        _check(Role.STAFF, staff.replace(".", ".x", 1))
    with pytest.raises(Unauthorized):
        _check(Role.STAFF, sign_context(Principal(user_id="s-1", role=Role.ADMIN), "o" * 32))
