"""`InventoryLedger` over the inventory service's internal release endpoint."""

from __future__ import annotations

import logging

from application.errors import InventoryServiceUnavailable
from infrastructure.neighbours.internal_http import call, internal_client, rejected
from infrastructure.neighbours.order_wire import GarbledReply, check_release_reply

log = logging.getLogger(__name__)


def release_key(order_id: str, product_id: str) -> str:
    """One key per order and product: the inventory service releases each item once."""
    return f"release:{order_id}:{product_id}"


class HttpInventoryLedger:
    """Gives reserved stock back; safe to repeat, the idempotency key makes it happen once."""

    def __init__(
        self,
        base_url: str,
        *,
        internal_token: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._client = internal_client(base_url, internal_token, timeout_seconds)

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
        try:
            check_release_reply(response.content, order_id, product_id)
        except GarbledReply as error:
            # Whether stock came back is unknown; the same key makes a retry harmless.
            log.warning("inventory sent a garbled release reply: %s", error, extra=extra)
            raise InventoryServiceUnavailable(f"garbled release reply for {order_id}") from error

    async def aclose(self) -> None:
        await self._client.aclose()
