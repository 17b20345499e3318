"""Create-session rate limit per user: Litestar's rate-limit middleware, keyed by the caller.

Mounted on the app, it counts only handlers whose `opt` sets `PER_USER_RATE_LIMIT`,
after the JWT middleware has named the caller (that one sits outermost), so an
unauthenticated request is refused before it is counted and one user's burst never
spends another's budget. Counts live in the app's memory store: per process.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig

from application.identity import Caller

PER_USER_RATE_LIMIT = "per_user_rate_limit"  # a handler's opt key: count it per caller
# Litestar's 429 says when its window resets in this header; Retry-After repeats it
# in the header every HTTP client knows (see interfaces/errors.py).
RESET_HEADER = "RateLimit-Reset"


def per_user_rate_limit(requests_per_minute: int) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", requests_per_minute),
        identifier_for_request=_caller_key,
        check_throttle_handler=_is_counted,
        rate_limit_reset_header_key=RESET_HEADER,
    )


async def _is_counted(request: Request[Any, Any, Any]) -> bool:
    # async: Litestar runs a plain function here in a worker thread, for every request.
    return bool(request.route_handler.opt.get(PER_USER_RATE_LIMIT))


def _caller_key(request: Request[Any, Any, Any]) -> str:
    caller = request.scope.get("user")
    return f"user:{caller.user_id}" if isinstance(caller, Caller) else "anonymous"
