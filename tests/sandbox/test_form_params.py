"""Stripe's bracket notation decoded into nested dicts and lists (pure, no server)."""

from __future__ import annotations

import pytest

from sandbox.stripe_api.errors import StripeApiError
from sandbox.stripe_api.form_params import decode_query


def test_nested_objects_and_indexed_lists() -> None:
    raw = (
        "mode=payment&line_items[1][quantity]=1&line_items[0][quantity]=2"
        "&line_items[0][price_data][product_data][name]=Pen"
        "&metadata[orderId]=o-1&payment_intent_data[metadata][orderId]=o-1"
    )

    assert decode_query(raw) == {
        "mode": "payment",
        "line_items": [
            {"quantity": "2", "price_data": {"product_data": {"name": "Pen"}}},
            {"quantity": "1"},
        ],
        "metadata": {"orderId": "o-1"},
        "payment_intent_data": {"metadata": {"orderId": "o-1"}},
    }


def test_empty_brackets_append_and_values_are_url_decoded() -> None:
    assert decode_query("expand[]=a&expand[]=line_items&x=a%20b%26c") == {
        "expand": ["a", "line_items"],
        "x": "a b&c",
    }


def test_a_key_both_scalar_and_object_is_refused() -> None:
    with pytest.raises(StripeApiError) as refused:
        decode_query("metadata[a]=1&metadata[a][b]=2")

    assert refused.value.status == 400
