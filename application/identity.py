"""Who is calling: taken from the verified JWT by the HTTP layer."""

from __future__ import annotations

import msgspec

PRIVILEGED_ROLES = frozenset({"admin", "auditor"})


class Caller(msgspec.Struct, frozen=True):
    user_id: str
    email: str = ""
    role: str = "user"

    def may_read(self, owner_id: str) -> bool:
        """Owners read their own payments; admins and auditors read any."""
        return self.user_id == owner_id or self.role in PRIVILEGED_ROLES
