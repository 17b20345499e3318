"""Who is calling: taken from the verified JWT by the HTTP layer."""

from __future__ import annotations

import msgspec

ADMIN_ROLE = "admin"
PRIVILEGED_ROLES = frozenset({ADMIN_ROLE, "auditor"})


class Caller(msgspec.Struct, frozen=True):
    user_id: str
    email: str = ""
    role: str = "user"

    def may_read(self, owner_id: str) -> bool:
        """Owners read their own payments; admins and auditors read any."""
        return self.user_id == owner_id or self.role in PRIVILEGED_ROLES

    @property
    def may_refund(self) -> bool:
        """Refunds are an operator's decision: admins only (auditors read, never act)."""
        return self.role == ADMIN_ROLE
