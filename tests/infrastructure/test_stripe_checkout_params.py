"""The Checkout Session request and its idempotency key (ADR 0008), without a network."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from application.ports import CheckoutRequest
from domain.errors import InvalidOrder
from domain.money import Money
from domain.order import OrderLine, OrderSnapshot
from infrastructure.settings import Settings, SettingsError
from infrastructure.stripe.checkout_params import (
    MAX_EXPIRES_MINUTES,
    MIN_EXPIRES_MINUTES,
    session_attempt,
)
from tests.fakes import an_order

FRONTEND = "https://shop.example/"
BUCKET_START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def request(
    order: OrderSnapshot | None = None, email: str = "buyer@example.com"
) -> CheckoutRequest:
    order = order or an_order("ord_42")
    return CheckoutRequest(order, email, f"checkout:{order.order_id}")


def test_line_items_are_the_order_lines_in_minor_units() -> None:
    attempt = session_attempt(request(), FRONTEND, 30, BUCKET_START)
    params = attempt.params

    assert params["mode"] == "payment"
    assert params["line_items"] == [
        {"price_data": {"currency": "usd", "unit_amount": 9999,
                        "product_data": {"name": "Keyboard"}}, "quantity": 2},
        {"price_data": {"currency": "usd", "unit_amount": 500,
                        "product_data": {"name": "Cable"}}, "quantity": 1},
    ]  # fmt: skip
    assert params["client_reference_id"] == "ord_42"
    # The attempt (its key) marks the session and its PaymentIntent (ADR 0018).
    marked = {"checkoutAttempt": attempt.idempotency_key}
    assert params["metadata"] == {"orderId": "ord_42", "userId": "user_1", **marked}
    assert params["payment_intent_data"] == {"metadata": {"orderId": "ord_42", **marked}}
    assert params["customer_email"] == "buyer@example.com"


def test_return_urls_lead_back_to_the_order_page() -> None:
    params = session_attempt(request(), FRONTEND, 30, BUCKET_START).params

    assert params["success_url"] == (
        "https://shop.example/orders/ord_42?payment=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "https://shop.example/orders/ord_42?payment=cancelled"


def test_an_empty_email_is_left_out_so_stripe_asks_the_customer() -> None:
    params = session_attempt(request(email=""), FRONTEND, 30, BUCKET_START).params

    assert "customer_email" not in params


def test_lines_that_do_not_add_up_to_the_total_are_refused() -> None:
    order = an_order()
    tampered = OrderSnapshot(
        order.order_id, order.user_id, "PENDING", order.lines, Money(order.total.minor - 1, "usd")
    )

    with pytest.raises(InvalidOrder):
        session_attempt(request(tampered), FRONTEND, 30, BUCKET_START)


def test_zero_decimal_currencies_are_sent_as_is() -> None:
    lines = (OrderLine("p", "Tea set", 3, Money(1500, "jpy")),)
    order = OrderSnapshot("ord_jpy", "user_1", "PENDING", lines, Money(4500, "jpy"))

    params = session_attempt(request(order), FRONTEND, 30, BUCKET_START).params

    assert params["line_items"][0]["price_data"]["unit_amount"] == 1500


def single_line_order(price: str, currency: str, quantity: int = 2) -> OrderSnapshot:
    unit = Money.from_major(price, currency)
    lines = (OrderLine("p", "Dates", quantity, unit),)
    return OrderSnapshot(f"ord_{currency}", "user_1", "PENDING", lines, unit.times(quantity))


@pytest.mark.parametrize("currency", ["kwd", "bhd", "jod", "omr", "tnd"])
def test_a_three_decimal_amount_stripe_would_refuse_is_refused_first(currency: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        session_attempt(request(single_line_order("5.124", currency)), FRONTEND, 30, BUCKET_START)
    assert "multiples of 10" in str(refused.value) and currency.upper() in str(refused.value)


def test_a_three_decimal_amount_ending_in_zero_is_sent_in_thousandths() -> None:
    order = single_line_order("5.120", "kwd")

    params = session_attempt(request(order), FRONTEND, 30, BUCKET_START).params

    assert params["line_items"][0]["price_data"]["unit_amount"] == 5120


def test_icelandic_kronur_are_charged_whole() -> None:
    whole = session_attempt(request(single_line_order("5", "isk")), FRONTEND, 30, BUCKET_START)
    assert whole.params["line_items"][0]["price_data"]["unit_amount"] == 500
    with pytest.raises(InvalidOrder):
        session_attempt(request(single_line_order("5.50", "isk")), FRONTEND, 30, BUCKET_START)


def test_retries_within_five_minutes_send_the_same_request_under_the_same_key() -> None:
    first = session_attempt(request(), FRONTEND, 30, BUCKET_START + timedelta(seconds=5))
    again = session_attempt(request(), FRONTEND, 30, BUCKET_START + timedelta(seconds=290))

    assert again == first
    assert first.idempotency_key.startswith("checkout:ord_42:")


def test_a_later_attempt_gets_a_fresh_key_so_a_saved_failure_is_not_replayed() -> None:
    first = session_attempt(request(), FRONTEND, 30, BUCKET_START)
    later = session_attempt(request(), FRONTEND, 30, BUCKET_START + timedelta(minutes=5))

    assert later.idempotency_key != first.idempotency_key


def test_other_parameters_never_reuse_a_key() -> None:
    first = session_attempt(request(), FRONTEND, 30, BUCKET_START)
    other_email = session_attempt(request(email="new@example.com"), FRONTEND, 30, BUCKET_START)

    assert other_email.idempotency_key != first.idempotency_key


@pytest.mark.parametrize("minutes", [30, 60, 1440])
@pytest.mark.parametrize("into_bucket", [0, 1, 150, 299])
def test_expiry_stays_inside_stripes_window_from_any_moment(minutes: int, into_bucket: int) -> None:
    now = BUCKET_START + timedelta(seconds=into_bucket)

    attempt = session_attempt(request(), FRONTEND, minutes, now)

    lifetime = attempt.expires_at - int(now.timestamp())
    # Stripe takes 30 min to 24 h after it creates the session; a minute either side
    # leaves room for the request to get there.
    assert 30 * 60 + 60 <= lifetime <= 24 * 3600 - 60
    assert attempt.params["expires_at"] == attempt.expires_at


def test_a_very_long_order_id_still_gives_a_key_stripe_accepts() -> None:
    order = an_order("o" * 400)

    attempt = session_attempt(request(order), FRONTEND, 30, BUCKET_START)

    assert len(attempt.idempotency_key) <= 255


def module_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def test_the_expiry_range_is_defined_once_for_settings_and_gateway() -> None:
    infrastructure = Path(__file__).resolve().parents[2] / "infrastructure"
    defining = sorted(
        str(path.relative_to(infrastructure))
        for path in infrastructure.rglob("*.py")
        if {"MIN_EXPIRES_MINUTES", "MAX_EXPIRES_MINUTES"} & module_level_names(path.read_text())
    )
    assert defining == ["stripe/checkout_params.py"]


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [
        (MIN_EXPIRES_MINUTES - 1, False),
        (MIN_EXPIRES_MINUTES, True),
        (MAX_EXPIRES_MINUTES, True),
        (MAX_EXPIRES_MINUTES + 1, False),
    ],
)
def test_settings_accept_exactly_stripes_expiry_range(minutes: int, accepted: bool) -> None:
    environ = {"JWT_SECRET": "j" * 32, "STRIPE_WEBHOOK_SECRET": "whsec_x"}
    environ["CHECKOUT_EXPIRES_MINUTES"] = str(minutes)
    try:
        Settings.from_environment(environ, env_file=None)
    except SettingsError:
        assert not accepted
    else:
        assert accepted
