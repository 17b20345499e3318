"""Background sweeps on the sandbox clock: open sessions past `expires_at` become
`expired`, and refunds whose test card booked a later outcome get it."""

from __future__ import annotations

import asyncio
import logging

from sandbox.stripe_api.checkout_sessions import expire_due_sessions
from sandbox.stripe_api.refund_outcomes import settle_due_refunds
from sandbox.stripe_api.state import Sandbox

_log = logging.getLogger(__name__)
_INTERVAL_SECONDS = 0.5


async def sweep_forever(sandbox: Sandbox) -> None:
    while True:
        for sweep in (expire_due_sessions, settle_due_refunds):
            try:
                sweep(sandbox)
            except Exception:  # a bad row must not stop the sweep for all the others
                _log.exception("%s failed", sweep.__name__)
        await asyncio.sleep(_INTERVAL_SECONDS)
