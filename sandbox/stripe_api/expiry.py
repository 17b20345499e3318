"""Background expiry: open sessions past `expires_at` become `expired`."""

from __future__ import annotations

import asyncio
import logging

from sandbox.stripe_api.checkout_sessions import expire_due_sessions
from sandbox.stripe_api.state import Sandbox

_log = logging.getLogger(__name__)
_INTERVAL_SECONDS = 0.5


async def expire_sessions_forever(sandbox: Sandbox) -> None:
    while True:
        try:
            expire_due_sessions(sandbox)
        except Exception:  # a bad row must not stop expiry for all the others
            _log.exception("expiry sweep failed")
        await asyncio.sleep(_INTERVAL_SECONDS)
