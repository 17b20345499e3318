"""Money as an integer count of the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from domain.errors import InvalidAmount

# ISO 4217 exponents that differ from the usual 2 (Stripe's zero- and
# three-decimal currency lists); every other currency has two decimals.
CURRENCY_EXPONENTS: dict[str, int] = {
    **{
        code: 0
        for code in (
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
        )
    },
    **{code: 3 for code in ("bhd", "jod", "kwd", "omr", "tnd")},
}
DEFAULT_EXPONENT = 2


def exponent_of(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency, DEFAULT_EXPONENT)


def normalise_currency(currency: str) -> str:
    code = currency.strip().lower()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidAmount(f"not an ISO 4217 currency code: {currency!r}")
    return code


class Money(msgspec.Struct, frozen=True):
    """An amount in minor units (cents, yen…) and its lowercase ISO currency."""

    minor: int
    currency: str

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Converts a major-unit amount (19.99 USD) exactly, refusing sub-minor digits."""
        code = normalise_currency(currency)
        try:
            value = Decimal(str(amount))
        except InvalidOperation as error:
            raise InvalidAmount(f"not a number: {amount!r}") from error
        if not value.is_finite():
            raise InvalidAmount(f"not a finite amount: {amount!r}")
        minor = value.scaleb(exponent_of(code))
        if minor != minor.to_integral_value():
            raise InvalidAmount(f"{amount} has more decimals than {code} allows")
        return cls(int(minor), code)

    def to_major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent_of(self.currency))

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency.upper()}"
