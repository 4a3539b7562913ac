"""Who is calling: roles (SPEC "Roles") and the principal the gateway derives from a token."""

from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


_RANK = {Role.ANONYMOUS: 0, Role.CUSTOMER: 1, Role.STAFF: 2, Role.ADMIN: 3}


class Principal(BaseModel):
    """The caller as the storefront verified it; apps trust it only from the gateway."""

    user_id: str | None = None
    role: Role = Role.ANONYMOUS
    email: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None and self.role.at_least(Role.CUSTOMER)


ANONYMOUS = Principal()
