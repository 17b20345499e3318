"""What a real Stripe charge can be: the currencies Stripe has, and its largest amount.

A signed event that reports money outside these bounds is not money received, whatever
it says (issue 11): it is never recorded, so it can never be confirmed or refunded.
"""

from __future__ import annotations

from domain.money import Money

MAX_CHARGE_MINOR = 99_999_999
"""Stripe's amounts have at most eight digits (99,999,999: $999,999.99, ¥99,999,999)."""

_STRIPE_CURRENCY_LIST = """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp
    byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel
    gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd
    kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn
    nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd
    shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst
    xaf xcd xcg xof xpf yer zar zmw
"""
STRIPE_CURRENCIES = frozenset(_STRIPE_CURRENCY_LIST.split())
"""The currencies Stripe charges in (its presentment currencies, lowercase ISO 4217)."""


def implausible_charge(received: Money, expected: Money) -> str | None:
    """Why `received` cannot be a real charge for an order of `expected`, or None if it can.

    A plausible amount that differs from the order's (a cent short, another currency
    Stripe has) is a real charge of the wrong amount: it is received, and refunded.
    """
    if received.currency not in STRIPE_CURRENCIES:
        return f"currency {received.currency!r} is not one Stripe charges in"
    if received.minor < 0:
        return f"negative amount {received.minor}"
    if received.minor == 0 and expected.minor != 0:
        return f"nothing charged for an order of {expected}"
    if received.minor > MAX_CHARGE_MINOR:
        return f"{received.minor} minor units is beyond Stripe's largest charge"
    return None
