"""`OrderDirectory` over the order service's internal HTTP endpoints."""

from __future__ import annotations

import logging
from urllib.parse import quote

from application.errors import OrderNotFound, OrderServiceUnavailable
from domain.order import OrderSnapshot, OrderStatus
from infrastructure.neighbours.internal_http import NeighbourClient, call, rejected
from infrastructure.neighbours.order_wire import (
    GarbledReply,
    order_snapshot,
    status_reply_contradiction,
)

log = logging.getLogger(__name__)


class HttpOrderDirectory(NeighbourClient):
    """Reads orders (major units → `Money` once, here) and moves them to CONFIRMED/CANCELLED."""

    async def get(self, order_id: str) -> OrderSnapshot:
        extra = {"orderId": order_id}
        response = await call(
            self._client,
            "GET",
            _order_path(order_id),
            unavailable=OrderServiceUnavailable,
            log_extra=extra,
        )
        if response.status_code == 404:
            raise OrderNotFound(order_id)
        if response.status_code >= 400:
            raise rejected(response, extra)
        try:
            return order_snapshot(response.content, order_id)
        except GarbledReply as error:
            log.warning("order service sent a garbled order: %s", error, extra=extra)
            raise OrderServiceUnavailable(f"garbled answer for order {order_id}") from error

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        """Any 2xx is done, whatever its body; repeating it is harmless."""
        extra = {"orderId": order_id, "status": status}
        response = await call(
            self._client,
            "PATCH",
            f"{_order_path(order_id)}/status",
            unavailable=OrderServiceUnavailable,
            log_extra=extra,
            json={"status": status},
        )
        if response.status_code >= 400:
            raise rejected(response, extra)
        contradiction = status_reply_contradiction(response.content, order_id, status)
        if contradiction is not None:
            log.warning(
                "order service's reply contradicts the status change: %s",
                contradiction,
                extra=extra,
            )


def _order_path(order_id: str) -> str:
    # Escaped, so an id like "../x" can never reach another route of the order service.
    return f"/internal/orders/{quote(order_id, safe='')}"
