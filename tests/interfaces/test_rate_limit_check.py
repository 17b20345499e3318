"""Which requests the per-user rate limit counts is decided on the event loop, not in a thread."""

from __future__ import annotations

import inspect

from litestar.middleware.rate_limit import RateLimitConfig

from interfaces.rate_limit import per_user_rate_limit


def test_the_rate_limit_check_is_a_coroutine_function() -> None:
    config: RateLimitConfig = per_user_rate_limit(30)
    # A plain function would be wrapped to run in a worker thread for every request.
    assert inspect.iscoroutinefunction(config.check_throttle_handler)
