from decimal import Decimal

import pytest

from domain.errors import InvalidAmount
from domain.money import Money


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [("199.98", "usd", 19998), ("0.1", "USD", 10), (1500, "jpy", 1500), ("1.234", "kwd", 1234)],
)
def test_major_units_convert_exactly_with_the_currency_exponent(
    major: str | int, currency: str, minor: int
) -> None:
    money = Money.from_major(major, currency)
    assert money == Money(minor, currency.lower())
    assert money.to_major() == Decimal(str(major))


@pytest.mark.parametrize(
    ("major", "currency"),
    [("19.999", "usd"), ("1.5", "jpy"), ("abc", "usd"), ("NaN", "usd"), ("1", "dollars")],
)
def test_amounts_that_cannot_be_charged_exactly_are_refused(major: str, currency: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_major(major, currency)
