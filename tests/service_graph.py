"""The service's graph as every test tier gets it: `bootstrap`, with fakes given for the ports.

Nothing is wired a second time in the tests: the use cases a test calls are the ones
production builds, over whatever the test hands in.
"""

from __future__ import annotations

from typing import Any

from infrastructure.settings import Settings

JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256-and-even-for-hs512-keys"
WEBHOOK_SECRET = "whsec_test_current"
OLD_WEBHOOK_SECRET = "whsec_test_previous"


def settings_for_tests(**changes: Any) -> Settings:
    """Valid settings whose secrets the tests know; the ports a test gives are not read."""
    values: dict[str, Any] = {
        "jwt_secret": JWT_SECRET,
        "stripe_webhook_secret": f"{WEBHOOK_SECRET},{OLD_WEBHOOK_SECRET}",
        **changes,
    }
    return Settings(**values)
