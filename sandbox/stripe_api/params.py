"""Checks shared by the endpoints: integers, strings, URLs, metadata, `expand`."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api.errors import invalid_request, unknown_param

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def reject_unknown(params: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed:
            raise unknown_param(f"{prefix}[{name}]" if prefix else name)


def string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {param} must be a string", param=param)
    return value


def optional_string(params: dict[str, Any], name: str, param: str | None = None) -> str | None:
    value = params.get(name)
    # Stripe reads an empty string as "unset".
    return None if value in (None, "") else string(value, param or name)


def integer(value: Any, param: str, *, minimum: int | None = None) -> int:
    text = string(value, param)
    try:
        number = int(text)
    except ValueError:
        raise invalid_request(f"Invalid integer: {text}", param=param) from None
    if minimum is not None and number < minimum:
        raise invalid_request(
            f"This value must be greater than or equal to {minimum}.", param=param
        )
    return number


def url(value: Any, param: str) -> str:
    text = string(value, param)
    if not text.startswith(("http://", "https://")):
        raise invalid_request("Not a valid URL", param=param, code="url_invalid")
    return text


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid object: {param}", param=param)
    entries = {str(key): string(item, f"{param}[{key}]") for key, item in value.items()}
    if len(entries) > MAX_METADATA_KEYS:
        raise invalid_request(
            f"Invalid {param}: metadata can have up to 50 keys, but you passed in "
            f"{len(entries)} keys.",
            param=param,
        )
    for key, item in entries.items():
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise invalid_request(
                f"Invalid {param}: keys can be a maximum of 40 characters.", param=f"{param}[{key}]"
            )
        if len(item) > MAX_METADATA_VALUE_LENGTH:
            raise invalid_request(
                f"Invalid {param}: values can be a maximum of 500 characters.",
                param=f"{param}[{key}]",
            )
    return {key: item for key, item in entries.items() if item != ""}


def expand(params: dict[str, Any]) -> set[str]:
    value = params.get("expand", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise invalid_request("Invalid array", param="expand")
    return {string(item, "expand") for item in value}
