"""Prices in major units as exact decimals (never floats), rounded per currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sandbox.shop.errors import BadRequest

# Stripe's zero-decimal currencies: their major unit is also the minor unit.
ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def parse_amount(value: object, field: str) -> Decimal:
    """Accept a JSON number or numeric string; refuse anything else as bad input."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BadRequest(f"{field} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise BadRequest(f"{field} must be a number") from error
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"{field} must be a non-negative number")
    return amount


def round_for(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1) if currency.lower() in ZERO_DECIMAL else Decimal("0.01")
    return amount.quantize(exponent)
