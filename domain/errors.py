"""Errors the payment domain raises; the HTTP layer maps them to responses."""

from __future__ import annotations


class PaymentError(Exception):
    """Base of every domain error."""


class InvalidAmount(PaymentError):
    """An amount or currency that cannot be represented exactly."""


class InvalidOrder(PaymentError):
    """Order data that cannot be charged as it stands (empty, totals disagree…)."""


class ImplausibleAmount(InvalidAmount):
    """Money reported in an amount or currency no real charge has: never recorded."""
