"""The auth service: users and their logins."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sandbox.shop.errors import Unauthorized
from sandbox.shop.passwords import verify_password
from sandbox.shop.tokens import Caller, issue_token


class Accounts:
    """Checks credentials and issues JWTs signed with the shared secret."""

    def __init__(self, connection: sqlite3.Connection, secret: str, lifetime: timedelta) -> None:
        self._db = connection
        self._secret = secret
        self._lifetime = lifetime

    def login(self, email: str, password: str) -> str:
        row = self._db.execute(
            "SELECT id, email, password_hash, role FROM users WHERE email = ?",
            (email.strip().lower(),),
        ).fetchone()
        if row is None or not verify_password(password, row["password_hash"]):
            raise Unauthorized("Invalid credentials")
        caller = Caller(user_id=row["id"], email=row["email"], role=row["role"])
        return issue_token(caller, self._secret, self._lifetime)

    def user_id(self, email: str) -> str | None:
        row = self._db.execute(
            "SELECT id FROM users WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        return None if row is None else str(row["id"])

    def users(self) -> list[dict[str, str]]:
        rows = self._db.execute("SELECT id, email, role FROM users ORDER BY id").fetchall()
        return [{"_id": r["id"], "email": r["email"], "role": r["role"]} for r in rows]
