"""Fault injection for the internal endpoints, so clients can be tested against a bad neighbour.

A fault matches a route (`order_get`, `order_status`, `release` or `*`) and has a mode:

- `status` (default): answer `status` (default 500) instead of doing the work;
  `down` is the same with 503.
- `delay`: do the work, then hold the answer for `delay` seconds (a client that
  times out has still caused the effect, as with a real slow server).
- `malformed`: answer 200 with a broken body; `variant` picks how: `price`
  (non-numeric price), `quantity` (negative), `missing` (no totalAmount), `type`
  (order is a list), `json` (truncated JSON).
- `reply`: do the work, then answer `status` (default 200) with `body` verbatim
  (default none): a neighbour whose success looks other than documented, such
  as `200 {}`, `204` or a body naming another order.

`apply: true` makes `status`/`malformed` do the work first and then lose the
answer. A fault lasts `duration` seconds (`seconds` for the non-delay modes;
for `delay`, `seconds` is the delay itself, as the brief's examples use it) or
for `times` calls, or until cleared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec

from sandbox.shop.errors import BadRequest

ROUTES = frozenset({"order_get", "order_status", "release", "*"})
MODES = frozenset({"status", "down", "delay", "malformed", "reply"})
VARIANTS = frozenset({"price", "quantity", "missing", "type", "json"})


class FaultSpec(msgspec.Struct, forbid_unknown_fields=True):
    """The body of `POST /_shop/faults`."""

    route: str = "*"
    mode: str = "status"
    status: int | None = None
    seconds: float | None = None
    delay: float | None = None
    duration: float | None = None
    times: int | None = None
    variant: str = "price"
    apply: bool = False
    body: str = ""


@dataclass(slots=True)
class Fault:
    id: int
    route: str
    mode: str
    status: int
    delay: float
    variant: str
    apply: bool
    body: str
    until: float | None
    remaining: int | None
    hits: int = field(default=0)

    def live(self, now: float) -> bool:
        alive = self.until is None or now < self.until
        return alive and (self.remaining is None or self.remaining > 0)

    def describe(self, now: float) -> dict[str, object]:
        left = None if self.until is None else max(0.0, round(self.until - now, 3))
        return {
            "id": self.id,
            "route": self.route,
            "mode": self.mode,
            "status": self.status,
            "delay": self.delay,
            "variant": self.variant,
            "apply": self.apply,
            "body": self.body,
            "secondsLeft": left,
            "remaining": self.remaining,
            "hits": self.hits,
        }


def _validate(spec: FaultSpec) -> None:
    if spec.route not in ROUTES:
        raise BadRequest(f"route must be one of {sorted(ROUTES)}")
    if spec.mode not in MODES:
        raise BadRequest(f"mode must be one of {sorted(MODES)}")
    if spec.variant not in VARIANTS:
        raise BadRequest(f"variant must be one of {sorted(VARIANTS)}")
    if spec.status is not None and not 100 <= spec.status <= 599:
        raise BadRequest("status must be an HTTP status code")
    if spec.body and spec.status in (204, 304):
        raise BadRequest(f"a {spec.status} answer has no body")


def _lifetime(spec: FaultSpec) -> float | None:
    """Seconds the fault stays live; `seconds` means that, except for a delay (see above)."""
    if spec.duration is not None or spec.mode == "delay":
        return spec.duration
    return spec.seconds


def _delay(spec: FaultSpec) -> float:
    if spec.delay is not None:
        return spec.delay
    return spec.seconds if spec.seconds is not None else 5.0


class FaultBoard:
    """The faults currently injected; kept in memory, so a restarted shop starts healthy."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: FaultSpec) -> Fault:
        _validate(spec)
        is_delay = spec.mode == "delay"
        lifetime = _lifetime(spec)
        default_status = {"down": 503, "reply": 200}.get(spec.mode, 500)
        fault = Fault(
            id=self._next_id,
            route=spec.route,
            mode="status" if spec.mode == "down" else spec.mode,
            status=spec.status or default_status,
            delay=_delay(spec) if is_delay else 0.0,
            variant=spec.variant,
            apply=spec.apply or is_delay or spec.mode == "reply",
            body=spec.body,
            until=None if lifetime is None else time.monotonic() + lifetime,
            remaining=spec.times,
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def listing(self) -> list[dict[str, object]]:
        now = time.monotonic()
        return [f.describe(now) for f in self._faults if f.live(now)]

    def take(self, route: str) -> Fault | None:
        """The newest live fault for this route, counted as used once."""
        now = time.monotonic()
        self._faults = [f for f in self._faults if f.live(now)]
        for fault in reversed(self._faults):
            if fault.route in (route, "*"):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None
