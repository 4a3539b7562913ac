"""The app side of the staff and admin checks. The gateway checks the role first; every app
checks it again from the gateway's signed context (`CONTEXT_HEADER`), so a call that skips
the gateway (another app's sidecar, a forged header) gets nothing. A caller without the
role — an anonymous call included: at an app it is a call without the gateway's context —
is refused with 403 naming the role needed; a forged or stale context is 401."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from apps.contracts.errors import Forbidden
from apps.contracts.identity import Principal, Role
from apps.platform.context import CONTEXT_HEADER, verify_context


async def signed_caller(
    request: Request, context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None
) -> Principal:
    """Whoever the gateway's signed context names (anonymous without one)."""
    return verify_context(context, await request.app.state.context_key.get())


def at_least(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the signed caller, if their role is `role` or above."""

    async def check(who: Annotated[Principal, Depends(signed_caller)]) -> Principal:
        if not who.signed_in or not who.user_id or not who.role.at_least(role):
            raise Forbidden(f"This needs the {role.value} role", required=role.value)
        return who

    return check


SignedCaller = Annotated[Principal, Depends(signed_caller)]
StaffCaller = Annotated[Principal, Depends(at_least(Role.STAFF))]
AdminCaller = Annotated[Principal, Depends(at_least(Role.ADMIN))]


async def _staff_id(who: StaffCaller) -> str:
    return str(who.user_id)


#: The staff member's user id (a staff or admin caller).
StaffId = Annotated[str, Depends(_staff_id)]
