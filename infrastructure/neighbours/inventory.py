"""`Inventory` over the inventory service's internal release endpoint."""

from __future__ import annotations

import logging

from application.errors import InventoryServiceUnavailable
from infrastructure.neighbours.internal_http import NeighbourClient, call, rejected
from infrastructure.neighbours.order_wire import release_reply_contradiction

log = logging.getLogger(__name__)


def release_key(order_id: str, product_id: str) -> str:
    """One key per order and product: the inventory service releases each item once."""
    return f"release:{order_id}:{product_id}"


class HttpInventory(NeighbourClient):
    """Gives reserved stock back; safe to repeat, the idempotency key makes it happen once."""

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        extra = {"orderId": order_id, "productId": product_id}
        response = await call(
            self._client,
            "POST",
            "/internal/inventory/release",
            unavailable=InventoryServiceUnavailable,
            log_extra=extra,
            json={"productId": product_id, "quantity": quantity, "orderId": order_id},
            headers={"Idempotency-Key": release_key(order_id, product_id)},
        )
        if response.status_code >= 400:
            raise rejected(response, extra)
        contradiction = release_reply_contradiction(response.content, order_id, product_id)
        if contradiction is not None:
            log.warning("inventory's reply contradicts the release: %s", contradiction, extra=extra)
