"""Validation of `POST /v1/checkout/sessions` into a `SessionSpec`, as Stripe validates it."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import params as p
from sandbox.stripe_api.errors import invalid_request, missing_param, resource_missing
from sandbox.stripe_api.objects import LineItemSpec, SessionSpec

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
# A client computing "now + 30 min" reaches us a little later; without slack the
# shortest expiry Stripe allows would be refused whenever a request takes a second.
EXPIRY_SLACK_SECONDS = 60

_MODELLED = {
    "cancel_url",
    "client_reference_id",
    "customer_email",
    "expand",
    "expires_at",
    "line_items",
    "metadata",
    "mode",
    "payment_intent_data",
    "success_url",
}
# Real Stripe parameters the sandbox accepts but does not model; anything else
# is refused like Stripe refuses it, so a typo in the gateway fails loudly.
_ACCEPTED_UNMODELLED = {
    "adaptive_pricing",
    "after_expiration",
    "allow_promotion_codes",
    "automatic_tax",
    "billing_address_collection",
    "consent_collection",
    "currency",
    "custom_fields",
    "custom_text",
    "customer_creation",
    "invoice_creation",
    "locale",
    "payment_method_collection",
    "payment_method_configuration",
    "payment_method_options",
    "payment_method_types",
    "phone_number_collection",
    "shipping_address_collection",
    "submit_type",
    "tax_id_collection",
    "ui_mode",
}
_LINE_ITEM_KEYS = {
    "price_data",
    "quantity",
    "price",
    "adjustable_quantity",
    "tax_rates",
    "dynamic_tax_rates",
}
_PRICE_DATA_KEYS = {
    "currency",
    "unit_amount",
    "product_data",
    "product",
    "tax_behavior",
    "unit_amount_decimal",
}
_PRODUCT_DATA_KEYS = {"name", "description", "images", "metadata", "tax_code"}
_PI_DATA_KEYS = {
    "metadata",
    "description",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "setup_future_usage",
    "capture_method",
}


def session_spec(params: dict[str, Any], now: int) -> SessionSpec:
    p.reject_unknown(params, _MODELLED | _ACCEPTED_UNMODELLED)
    _check_mode(params.get("mode"))
    if params.get("success_url") in (None, ""):
        raise missing_param("success_url")
    items = _line_items(params.get("line_items"))
    currencies = {item.currency for item in items}
    if len(currencies) > 1:
        raise invalid_request("All line items must use the same currency.", param="line_items")
    return SessionSpec(
        success_url=p.url(params["success_url"], "success_url"),
        cancel_url=None
        if params.get("cancel_url") in (None, "")
        else p.url(params["cancel_url"], "cancel_url"),
        currency=items[0].currency,
        line_items=items,
        expires_at=_expires_at(params.get("expires_at"), now),
        client_reference_id=p.optional_string(params, "client_reference_id"),
        customer_email=p.optional_string(params, "customer_email"),
        metadata=p.metadata(params.get("metadata")),
        payment_intent_metadata=_payment_intent_metadata(params.get("payment_intent_data")),
    )


def _check_mode(mode: Any) -> None:
    if mode in (None, ""):
        raise missing_param("mode")
    if mode in ("setup", "subscription"):
        raise invalid_request(
            f"The Stripe sandbox only supports mode=payment, not {mode}.", param="mode"
        )
    if mode != "payment":
        raise invalid_request(
            "Invalid mode: must be one of payment, setup, or subscription", param="mode"
        )


def _line_items(value: Any) -> list[LineItemSpec]:
    if value in (None, "", []):
        raise invalid_request(
            "`line_items` is required in `payment` mode.",
            param="line_items",
            code="parameter_missing",
        )
    if not isinstance(value, list):
        raise invalid_request("Invalid array", param="line_items")
    return [_line_item(item, f"line_items[{n}]") for n, item in enumerate(value)]


def _line_item(item: Any, param: str) -> LineItemSpec:
    if not isinstance(item, dict):
        raise invalid_request("Invalid object", param=param)
    p.reject_unknown(item, _LINE_ITEM_KEYS, param)
    if "price" in item:
        raise resource_missing("price", str(item["price"]), param=f"{param}[price]")
    price = item.get("price_data")
    if not isinstance(price, dict):
        raise missing_param(f"{param}[price_data]")
    p.reject_unknown(price, _PRICE_DATA_KEYS, f"{param}[price_data]")
    product = price.get("product_data")
    if not isinstance(product, dict):
        raise missing_param(f"{param}[price_data][product_data]")
    p.reject_unknown(product, _PRODUCT_DATA_KEYS, f"{param}[price_data][product_data]")
    for name, where in (("currency", price), ("unit_amount", price), ("name", product)):
        if where.get(name) in (None, ""):
            path = "product_data][name" if name == "name" else name
            raise missing_param(f"{param}[price_data][{path}]")
    if item.get("quantity") in (None, ""):
        raise missing_param(f"{param}[quantity]")
    return LineItemSpec(
        name=p.string(product["name"], f"{param}[price_data][product_data][name]"),
        unit_amount=p.integer(price["unit_amount"], f"{param}[price_data][unit_amount]", minimum=0),
        quantity=p.integer(item["quantity"], f"{param}[quantity]", minimum=1),
        currency=_currency(price["currency"], f"{param}[price_data][currency]"),
    )


def _currency(value: Any, param: str) -> str:
    code = p.string(value, param).lower()
    if len(code) != 3 or not code.isalpha():
        raise invalid_request(f"Invalid currency: {code}.", param=param)
    return code


def _expires_at(value: Any, now: int) -> int:
    if value in (None, ""):
        return now + MAX_EXPIRY_SECONDS
    expires_at = p.integer(value, "expires_at")
    if expires_at - now < MIN_EXPIRY_SECONDS - EXPIRY_SLACK_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            param="expires_at",
        )
    if expires_at - now > MAX_EXPIRY_SECONDS + EXPIRY_SLACK_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _payment_intent_metadata(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid_request("Invalid object", param="payment_intent_data")
    p.reject_unknown(value, _PI_DATA_KEYS, "payment_intent_data")
    return p.metadata(value.get("metadata"), "payment_intent_data[metadata]")
