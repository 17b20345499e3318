"""Decode Stripe's bracket notation (`a[b][0][c]=v`) into nested dicts and lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from sandbox.stripe_api.errors import invalid_request

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def decode_query(raw: str) -> dict[str, Any]:
    """Parse a form body or query string the way Stripe's API reads it."""
    return decode_pairs(parse_qsl(raw, keep_blank_values=True))


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, _split_key(key), value)
    result: dict[str, Any] = _listify(root)
    return result


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    tokens = _BRACKETS.findall("[" + rest)
    if "".join(f"[{t}]" for t in tokens) != "[" + rest or not head:
        raise invalid_request(f"Invalid parameter name: {key}", param=key)
    return [head, *tokens]


def _insert(node: dict[str, Any], tokens: list[str], value: str) -> None:
    for position, token in enumerate(tokens):
        # `a[]=x` appends, as Rails-style encoders (and old Stripe clients) send it.
        name = str(len(node)) if token == "" else token
        if position == len(tokens) - 1:
            if isinstance(node.get(name), dict):
                raise invalid_request(f"Invalid value for {tokens[0]}", param=tokens[0])
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid value for {tokens[0]}", param=tokens[0])
        node = child


def _listify(node: Any) -> Any:
    """Turn dicts keyed only by indexes ("0", "1", …) into lists, in index order."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(child) for key, child in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
