"""The order and inventory services' JSON, as msgspec Structs, converted to the domain once.

Prices arrive in major units (199.98); they become `Money` in minor units here
and nowhere else. Anything that does not fit these shapes is a garbled answer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, TypeVar

import msgspec

from domain.errors import InvalidAmount
from domain.money import Money
from domain.order import OrderLine, OrderSnapshot, OrderStatus

DEFAULT_CURRENCY = "usd"

T = TypeVar("T")

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class GarbledReply(ValueError):
    """A 2xx answer whose body is not what the contract promises."""


class WireItem(msgspec.Struct, rename="camel"):
    product_id: NonEmpty
    quantity: Annotated[int, msgspec.Meta(ge=0)]
    price: Decimal
    name: str | None = None


class WireOrder(msgspec.Struct, rename="camel"):
    id: NonEmpty = msgspec.field(name="_id")
    user_id: NonEmpty = msgspec.field(name="userId")
    status: NonEmpty = msgspec.field(name="status")
    items: list[WireItem] = msgspec.field(name="items")
    total_amount: Decimal = msgspec.field(name="totalAmount")
    currency: str | None = None


class OrderEnvelope(msgspec.Struct):
    order: WireOrder


class WireStatus(msgspec.Struct):
    id: str = msgspec.field(name="_id")
    status: str


class StatusEnvelope(msgspec.Struct):
    order: WireStatus


class WireRelease(msgspec.Struct, rename="camel"):
    order_id: str
    product_id: str
    released: Annotated[int, msgspec.Meta(ge=0)]


def _decode(body: bytes, shape: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=shape)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise GarbledReply(str(error)) from error


def order_snapshot(body: bytes, order_id: str) -> OrderSnapshot:
    """Decodes `GET /internal/orders/{id}`; the answer must be about the order asked for."""
    order = _decode(body, OrderEnvelope).order
    if order.id != order_id:
        raise GarbledReply(f"asked for order {order_id}, got {order.id}")
    # Only a missing currency means the default; an empty one is a garbled answer.
    currency = DEFAULT_CURRENCY if order.currency is None else order.currency
    amounts = [order.total_amount, *(item.price for item in order.items)]
    # msgspec cannot bound a Decimal, and a string may decode to NaN or Infinity.
    if not all(amount.is_finite() and amount >= 0 for amount in amounts):
        raise GarbledReply(f"an amount of order {order_id} is not a finite, positive number")
    try:
        lines = tuple(
            OrderLine(
                product_id=item.product_id,
                name=item.name or item.product_id,
                quantity=item.quantity,
                unit_price=Money.from_major(item.price, currency),
            )
            for item in order.items
        )
        total = Money.from_major(order.total_amount, currency)
    except InvalidAmount as error:
        raise GarbledReply(str(error)) from error
    return OrderSnapshot(order.id, order.user_id, _status(order.status), lines, total)


def _status(text: str) -> OrderStatus | str:
    """One of our statuses as the enum; any other the order service's own word."""
    try:
        return OrderStatus(text)
    except ValueError:
        return text


def status_reply_contradiction(body: bytes, order_id: str, status: str) -> str | None:
    """What a `PATCH …/status` reply in the documented shape says against the request.

    Any 2xx means done, whatever its body (DESIGN.md): a body in another shape, or
    none, says nothing. Only an order of the documented shape that names another
    order or status is worth a warning, and even that is not retried: asking again
    would get the same answer.
    """
    order = _documented(body, StatusEnvelope)
    if order is None or (order.order.id, order.order.status) == (order_id, status):
        return None
    return f"asked {order_id} {status}, answered {order.order.id} {order.order.status}"


def release_reply_contradiction(body: bytes, order_id: str, product_id: str) -> str | None:
    """What a release reply in the documented shape says against the request (see above)."""
    release = _documented(body, WireRelease)
    if release is None or (release.order_id, release.product_id) == (order_id, product_id):
        return None
    return f"asked {order_id} {product_id}, answered {release.order_id} {release.product_id}"


def _documented(body: bytes, shape: type[T]) -> T | None:
    try:
        return msgspec.json.decode(body, type=shape) if body.strip() else None
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
