"""Idempotency keys honoured the way Stripe honours them.

Same key and parameters: the saved response again (a 5xx included). Same key,
other parameters or endpoint: 400 `idempotency_error`. A key whose first
request is still running: 409. Validation failures (4xx) are not saved.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.stripe_api.errors import (
    StripeApiError,
    idempotency_in_flight,
    idempotency_mismatch,
    invalid_request,
)
from sandbox.stripe_api.store import SandboxStore, SavedResponse

MAX_KEY_LENGTH = 255
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiResult:
    """A JSON answer and its status, possibly a replay."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """What identifies a request for idempotency."""

    key: str | None
    method: str
    path: str
    params: dict[str, Any]
    request_id: str

    def fingerprint(self) -> str:
        canonical = json.dumps(self.params, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    """Runs POST operations under their `Idempotency-Key`."""

    def __init__(self, store: SandboxStore) -> None:
        self._store = store
        self._in_flight: set[str] = set()

    async def run(self, call: Call, operation: Callable[[], Awaitable[ApiResult]]) -> ApiResult:
        if call.key is None:
            return await operation()
        if len(call.key) > MAX_KEY_LENGTH:
            raise invalid_request(
                f"Invalid Idempotency-Key: keys can be at most {MAX_KEY_LENGTH} characters."
            )
        saved = self._store.saved_response(call.key)
        if saved is not None:
            return _replay(call, saved)
        if call.key in self._in_flight:
            raise idempotency_in_flight()
        self._in_flight.add(call.key)
        try:
            return self._save(call, await _run_capturing_5xx(operation))
        finally:
            self._in_flight.discard(call.key)

    def _save(self, call: Call, result: ApiResult) -> ApiResult:
        assert call.key is not None
        self._store.save_response(
            call.key,
            SavedResponse(
                call.method,
                call.path,
                call.fingerprint(),
                result.status,
                result.body,
                call.request_id,
            ),
        )
        return result


async def _run_capturing_5xx(operation: Callable[[], Awaitable[ApiResult]]) -> ApiResult:
    """A 5xx is a result Stripe saves; a 4xx means the request never started."""
    try:
        return await operation()
    except StripeApiError as error:
        if error.status < 500:
            raise
        return ApiResult(error.status, error.body(), dict(error.headers))
    except Exception:
        _log.exception("operation crashed; answering 500 like Stripe would")
        crash = StripeApiError(500, "api_error", "An unknown error occurred.")
        return ApiResult(500, crash.body())


def _replay(call: Call, saved: SavedResponse) -> ApiResult:
    if (saved.method, saved.path, saved.fingerprint) != (
        call.method,
        call.path,
        call.fingerprint(),
    ):
        assert call.key is not None
        raise idempotency_mismatch(call.key)
    headers = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
    if saved.status >= 500:
        headers["Stripe-Should-Retry"] = "false"
    return ApiResult(saved.status, saved.body, headers)
