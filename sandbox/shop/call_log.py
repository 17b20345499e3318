"""Every internal call the shop received, and the effects it applied, for tests to audit."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InternalCall:
    route: str
    method: str
    path: str
    order_id: str | None
    body: str
    idempotency_key: str | None
    status: int
    fault: str | None
    at: str


def _body(text: str) -> Any:
    """The body as JSON when it is JSON, else the raw text, so odd requests stay visible."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


class CallLog:
    """Stored in the shop's database, so it survives a restart like the orders do."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def record(self, call: InternalCall) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO internal_calls (route, method, path, order_id, body, "
                "idempotency_key, status, fault, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.route,
                    call.method,
                    call.path,
                    call.order_id,
                    call.body,
                    call.idempotency_key,
                    call.status,
                    call.fault,
                    call.at,
                ),
            )

    def calls(self, order_id: str | None, route: str | None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM internal_calls WHERE 1 = 1", list[str]()
        if order_id is not None:
            query, args = query + " AND order_id = ?", [*args, order_id]
        if route is not None:
            query, args = query + " AND route = ?", [*args, route]
        rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [
            {
                "seq": r["seq"],
                "route": r["route"],
                "method": r["method"],
                "path": r["path"],
                "orderId": r["order_id"],
                "body": _body(r["body"]),
                "idempotencyKey": r["idempotency_key"],
                "status": r["status"],
                "fault": r["fault"],
                "at": r["at"],
            }
            for r in rows
        ]

    def effects(self, order_id: str) -> dict[str, Any]:
        """What actually changed: status transitions and stock given back, per product."""
        changes = self._db.execute(
            "SELECT from_status, to_status, at FROM status_changes WHERE order_id = ? ORDER BY seq",
            (order_id,),
        ).fetchall()
        releases = self._db.execute(
            "SELECT product_id, SUM(released) AS released, COUNT(*) AS calls FROM releases "
            "WHERE order_id = ? GROUP BY product_id ORDER BY product_id",
            (order_id,),
        ).fetchall()
        return {
            "statusChanges": [
                {"from": c["from_status"], "to": c["to_status"], "at": c["at"]} for c in changes
            ],
            "confirmed": sum(c["to_status"] == "CONFIRMED" for c in changes),
            "cancelled": sum(c["to_status"] == "CANCELLED" for c in changes),
            "released": {r["product_id"]: r["released"] for r in releases},
            "releaseKeys": {r["product_id"]: r["calls"] for r in releases},
        }
