"""Stripe list semantics: `limit`, `starting_after`, `ending_before`, `created` ranges."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import objects
from sandbox.stripe_api import params as p
from sandbox.stripe_api.errors import invalid_request

MAX_LIMIT = 100


def page(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """One page of `items` (already newest first) in Stripe's list envelope."""
    limit = p.integer(params.get("limit", "10"), "limit", minimum=1)
    if limit > MAX_LIMIT:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    ids = [item["id"] for item in items]
    after, before = params.get("starting_after"), params.get("ending_before")
    if after:
        items = items[_index(ids, after, "starting_after") + 1 :]
        return objects.list_envelope(items[:limit], len(items) > limit, url)
    if before:
        items = items[: _index(ids, before, "ending_before")]
        return objects.list_envelope(items[-limit:], len(items) > limit, url)
    return objects.list_envelope(items[:limit], len(items) > limit, url)


def _index(ids: list[str], cursor: Any, param: str) -> int:
    if cursor not in ids:
        raise invalid_request(f"No such object: '{cursor}'", param=param, code="resource_missing")
    return ids.index(cursor)


def created_matches(created: int, spec: Any) -> bool:
    """`created=N` or `created[gt|gte|lt|lte]=N`."""
    if spec in (None, ""):
        return True
    if not isinstance(spec, dict):
        return created == p.integer(spec, "created")
    checks = {
        "gt": created.__gt__,
        "gte": created.__ge__,
        "lt": created.__lt__,
        "lte": created.__le__,
    }
    for name, bound in spec.items():
        if name not in checks:
            raise invalid_request(
                f"Received unknown parameter: created[{name}]",
                param=f"created[{name}]",
                code="parameter_unknown",
            )
        if not checks[name](p.integer(bound, f"created[{name}]")):
            return False
    return True
