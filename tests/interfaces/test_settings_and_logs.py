"""Settings from the environment and `.env`; JSON log lines that never carry secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.lifecycle import FailedPaymentPolicy
from infrastructure.settings import Settings, SettingsError
from infrastructure.structured_logging import configure_logging
from tests.interfaces.conftest import Api
from tests.stripe_payloads import checkout_event

SECRETS = {
    "JWT_SECRET": "jwt-secret-value-of-at-least-thirty-two-bytes",
    "STRIPE_WEBHOOK_SECRET": "whsec_value",
}


def test_defaults_with_only_the_two_secrets() -> None:
    settings = Settings.from_environment(SECRETS, env_file=None)
    assert settings.port == 8000
    assert settings.event_store_url == "sqlite:///var/payments.db"
    assert settings.checkout_expires_minutes == 30
    assert settings.payment_failed_policy is FailedPaymentPolicy.CANCEL
    assert settings.log_level == "INFO"
    assert settings.frontend_url == "http://localhost:3000"
    assert settings.reconcile_interval_seconds == 300
    assert settings.create_session_rate_limit == 30
    assert (
        settings.http_header_timeout_seconds,
        settings.http_keepalive_seconds,
        settings.http_max_connections,
    ) == (10, 5, 1000)
    assert settings.mongodb_uri is None and settings.stripe_secret_key is None


FILE_SECRET = "from-file-a-secret-of-32-bytes-or-more"


def test_dotenv_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"# local\nexport JWT_SECRET='{FILE_SECRET}'\nPORT=9000\nPAYMENT_FAILED_POLICY=retry\n"
    )
    settings = Settings.from_environment(
        {"STRIPE_WEBHOOK_SECRET": "whsec_w", "PORT": "8100"}, env_file=env_file
    )
    assert settings.jwt_secret == FILE_SECRET
    assert settings.port == 8100
    assert settings.payment_failed_policy is FailedPaymentPolicy.RETRY


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECKOUT_EXPIRES_MINUTES", "29"),
        ("CHECKOUT_EXPIRES_MINUTES", "1441"),
        ("PORT", "0"),
        ("PORT", "-1"),
        ("PAYMENT_FAILED_POLICY", "ignore"),
        ("LOG_LEVEL", "chatty"),
        ("MONGODB_URI", "http://mongo"),
        ("STRIPE_API_BASE", "localhost:12111"),
        ("ORDER_SERVICE_URL", "ftp://orders"),
        ("PORT", "\u00b2"),  # superscript two: isdigit() is true, int() fails
        ("PORT", "\uff18\uff10\uff18\uff10"),  # full-width 8080: int() would read it
        ("CHECKOUT_EXPIRES_MINUTES", "\u0663\u0660"),  # Arabic-Indic 30
        ("RECONCILE_INTERVAL_SECONDS", "\u00b9"),
        ("CREATE_SESSION_RATE_LIMIT", "0"),
        ("CREATE_SESSION_RATE_LIMIT", "30/min"),
        ("HTTP_HEADER_TIMEOUT_SECONDS", "0"),
        ("HTTP_HEADER_TIMEOUT_SECONDS", "61"),  # granian's ceiling
        ("HTTP_KEEPALIVE_SECONDS", "2.5"),
        ("HTTP_MAX_CONNECTIONS", "unlimited"),
        ("STRIPE_WEBHOOK_SECRET", " , "),
        ("STRIPE_WEBHOOK_SECRET", "whsec_a,,whsec_b"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_a,"),
        ("STRIPE_WEBHOOK_SECRET", "nope"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_new,sk_test_pasted_the_wrong_key"),
        ("STRIPE_WEBHOOK_SECRET", "WHSEC_upper"),
        ("ORDER_SERVICE_URL", "http://:80"),
        ("INVENTORY_SERVICE_URL", "http:///inventory"),
        ("FRONTEND_URL", "https://shop.example:99999"),
        ("FRONTEND_URL", "https://shop.example:0"),
        ("STRIPE_API_BASE", "http://[::1"),
        ("MONGODB_URI", "mongodb://user:pw@/paymentdb"),
        ("EVENT_STORE_URL", "postgresql://[db/payments"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment({**SECRETS, name: value}, env_file=None)
    message = str(raised.value)
    assert name in message and "\n" not in message


@pytest.mark.parametrize("secret", ["short", "x" * 31, "é" * 15])
def test_a_jwt_secret_under_256_bits_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment({**SECRETS, "JWT_SECRET": secret}, env_file=None)
    message = str(raised.value)
    assert "JWT_SECRET" in message and "32 bytes" in message and secret not in message


def test_a_jwt_secret_of_32_bytes_is_enough() -> None:
    for secret in ("x" * 32, "é" * 16):
        settings = Settings.from_environment({**SECRETS, "JWT_SECRET": secret}, env_file=None)
        assert settings.jwt_secret == secret


@pytest.mark.parametrize("listed", ["nope", "whsec_ok,sk_live_oops"])
def test_a_webhook_secret_that_is_not_whsec_is_refused_without_echoing_it(listed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment({**SECRETS, "STRIPE_WEBHOOK_SECRET": listed}, env_file=None)
    message = str(raised.value)
    assert "whsec_" in message and listed.split(",")[-1] not in message


def test_webhook_secrets_are_listed_trimmed() -> None:
    settings = Settings.from_environment(
        {**SECRETS, "STRIPE_WEBHOOK_SECRET": " whsec_new , whsec_old "}, env_file=None
    )
    assert settings.stripe_webhook_secret == "whsec_new,whsec_old"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONGODB_URI", "mongodb://db1:27017,db2:27017/paymentdb?replicaSet=rs0"),
        ("MONGODB_URI", "mongodb+srv://cluster0.example.net/paymentdb"),
        ("ORDER_SERVICE_URL", "http://[::1]:3000"),
        ("EVENT_STORE_URL", "sqlite:////var/lib/payments.db"),
    ],
)
def test_well_formed_urls_are_kept_as_given(name: str, value: str) -> None:
    settings = Settings.from_environment({**SECRETS, name: value}, env_file=None)
    assert value in repr(settings)


def test_repr_masks_secrets() -> None:
    settings = Settings.from_environment(
        {**SECRETS, "STRIPE_SECRET_KEY": "sk_test_abc"}, env_file=None
    )
    shown = repr(settings)
    assert SECRETS["JWT_SECRET"] not in shown and "sk_test_abc" not in shown
    assert "whsec_value" not in shown


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]


def test_log_lines_are_json_with_the_extra_fields(log_stream: io.StringIO) -> None:
    logging.getLogger("payments.test").info(
        "recorded", extra={"orderId": "ord_1", "sessionId": "cs_1", "eventId": "evt_1"}
    )
    line = json.loads(log_stream.getvalue().strip())
    assert line["message"] == "recorded"
    assert (line["orderId"], line["sessionId"], line["eventId"]) == ("ord_1", "cs_1", "evt_1")
    assert line["level"] == "INFO"


def test_secret_looking_fields_are_masked(log_stream: io.StringIO) -> None:
    logging.getLogger("payments.test").warning(
        "calling", extra={"authorization": "Bearer abc", "webhookSecret": "whsec_1"}
    )
    text = log_stream.getvalue()
    assert "Bearer abc" not in text and "whsec_1" not in text


def test_a_long_value_is_cut_to_a_few_hundred_characters_and_says_so(
    log_stream: io.StringIO,
) -> None:
    logging.getLogger("payments.test").info(
        "x" * 5000, extra={"path": "/" + "a" * 60_000, "ids": ["e" * 10_000] * 100, "n": 7}
    )
    text = log_stream.getvalue().strip()
    line = json.loads(text)
    assert len(text) < 10_000
    assert line["path"].startswith("/aaa") and line["path"].endswith("[truncated 59701 chars]")
    assert len(line["message"]) < 1100 and len(line["ids"]) <= 20
    assert line["n"] == 7


def lines_of(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


async def test_a_60_kb_path_makes_no_60_kb_log_line(log_stream: io.StringIO, api: Api) -> None:
    response = await api.client.get("/payments/status/" + "o" * 60_000)
    assert response.status_code == 401
    lines = lines_of(log_stream)
    assert lines and max(len(line) for line in lines) < 2048


@pytest.mark.parametrize("event_type", ["customer.created", "checkout.session.completed"])
async def test_a_signed_event_with_a_100_kb_id_makes_no_100_kb_log_line(
    log_stream: io.StringIO, api: Api, event_type: str
) -> None:
    session_id = await api.open_checkout()
    payload = checkout_event(event_type, "ord_1", session_id, evt_id="evt_" + "9" * 100_000)
    response = await api.webhook(payload)
    assert response.status_code < 500
    lines = lines_of(log_stream)
    assert lines and max(len(line) for line in lines) < 2048
