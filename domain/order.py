"""The order as the payment service sees it: a snapshot taken from the order service."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from domain.errors import InvalidOrder
from domain.money import Money


class OrderStatus(StrEnum):
    """The order statuses the payment service acts on: it charges PENDING orders and
    moves them to CONFIRMED or CANCELLED. The order service may report others."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class OrderLine(msgspec.Struct, frozen=True):
    """One product of an order, priced per unit in minor units."""

    product_id: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def subtotal(self) -> Money:
        return self.unit_price.times(self.quantity)


class OrderSnapshot(msgspec.Struct, frozen=True):
    """What the order service told us about an order, in minor units.

    `status` is an `OrderStatus` when it is one of ours; any other word of the order
    service's (`SHIPPED`…) is kept as it came, to be named in the refusal.
    """

    order_id: str
    user_id: str
    status: OrderStatus | str
    lines: tuple[OrderLine, ...]
    total: Money

    @property
    def is_pending(self) -> bool:
        return self.status == OrderStatus.PENDING

    def chargeable_lines(self) -> tuple[OrderLine, ...]:
        """The lines to put on the checkout page; refuses to charge anything but the total."""
        if not self.lines:
            raise InvalidOrder(f"order {self.order_id} has no items")
        for line in self.lines:
            if line.quantity <= 0 or line.unit_price.minor < 0:
                raise InvalidOrder(f"order {self.order_id} has an invalid line {line.product_id}")
            if line.unit_price.currency != self.total.currency:
                raise InvalidOrder(f"order {self.order_id} mixes currencies")
        charged = sum(line.subtotal.minor for line in self.lines)
        if charged != self.total.minor or self.total.minor <= 0:
            raise InvalidOrder(
                f"order {self.order_id}: line items add up to {charged}, "
                f"total is {self.total.minor} ({self.total.currency})"
            )
        return self.lines
