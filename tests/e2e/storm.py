"""A webhook storm with a crash loop, against a real `payments serve` (issue 13, program 4).

The plan: N orders, each with two distinct Stripe events whose outcome does not
depend on their order of arrival (below), each event delivered `copies` times,
all deliveries shuffled and sent `concurrency` at a time, signed as Stripe signs.
The sender behaves like Stripe: a delivery that does not get a 2xx (a refused
connection while the service is down, a reset, a 5xx) is sent again until it
does. Meanwhile the crash loop SIGKILLs the service at random points of the
storm and starts it again on the same port.

| kind | events | final payment, order | stock |
| --- | --- | --- | --- |
| paid | completed (paid) + an unhandled `payment_intent.succeeded` | SUCCESS, CONFIRMED | kept |
| async success | completed (unpaid) + async_payment_succeeded | SUCCESS, CONFIRMED | kept |
| async failure | completed (unpaid) + async_payment_failed | FAILED, CANCELLED | released |
| declined | payment_intent.payment_failed + expired | FAILED, CANCELLED | released |
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.stripe_payloads import checkout_event, payment_failed_event, sign

KINDS = ("paid", "async success", "async failure", "declined")
FINAL = {
    "paid": ("SUCCESS", "CONFIRMED"),
    "async success": ("SUCCESS", "CONFIRMED"),
    "async failure": ("FAILED", "CANCELLED"),
    "declined": ("FAILED", "CANCELLED"),
}


@dataclass(frozen=True)
class PlannedOrder:
    order_id: str
    session_id: str
    amount_total: int
    items: dict[str, int]  # product id → quantity
    kind: str

    @property
    def final(self) -> tuple[str, str]:
        return FINAL[self.kind]


def events_for(order: PlannedOrder, n: int) -> list[dict[str, Any]]:
    """The order's two distinct events (ids unique across the storm)."""
    intent = f"pi_storm_{n:04d}"

    def checkout(event_type: str, payment_status: str, suffix: str) -> dict[str, Any]:
        return checkout_event(
            event_type, order.order_id, order.session_id, payment_status=payment_status,
            amount_total=order.amount_total, payment_intent=intent,
            evt_id=f"evt_storm_{n:04d}_{suffix}",
        )  # fmt: skip

    if order.kind == "paid":
        unhandled = payment_failed_event(order.order_id, intent, f"evt_storm_{n:04d}_pi")
        unhandled["type"] = "payment_intent.succeeded"
        return [checkout("checkout.session.completed", "paid", "cs"), unhandled]
    if order.kind == "async success":
        return [
            checkout("checkout.session.completed", "unpaid", "cs"),
            checkout("checkout.session.async_payment_succeeded", "paid", "async"),
        ]
    if order.kind == "async failure":
        return [
            checkout("checkout.session.completed", "unpaid", "cs"),
            checkout("checkout.session.async_payment_failed", "unpaid", "async"),
        ]
    return [
        payment_failed_event(order.order_id, intent, f"evt_storm_{n:04d}_pi"),
        checkout("checkout.session.expired", "unpaid", "exp"),
    ]


@dataclass
class Delivery:
    event_id: str
    body: bytes


def deliveries(orders: list[PlannedOrder], copies: int, rng: random.Random) -> list[Delivery]:
    every = [
        Delivery(event["id"], json.dumps(event).encode())
        for n, order in enumerate(orders)
        for event in events_for(order, n)
        for _ in range(copies)
    ]
    rng.shuffle(every)
    return every


@dataclass
class StormFigures:
    """What the sender saw."""

    deliveries: int = 0
    acknowledged: int = 0
    attempts: int = 0
    connection_errors: int = 0
    server_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    kills: list[datetime] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Sender:
    """Stripe's side of the storm: sign, send, and send again until a 2xx."""

    url: str
    secret: str
    figures: StormFigures
    give_up_after: float = 120.0

    async def deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        pause = 0.05
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            self.figures.attempts += 1
            headers = {
                "Stripe-Signature": sign(delivery.body, self.secret),
                "Content-Type": "application/json",
            }
            try:
                answer = await client.post(
                    f"{self.url}/payments/webhook", content=delivery.body, headers=headers
                )
            except httpx.TransportError:
                self.figures.connection_errors += 1  # the service is down: not a 5xx
            else:
                if answer.status_code < 300:
                    self.figures.acknowledged += 1
                    return
                if answer.status_code < 500:
                    self.figures.refused.append(f"{delivery.event_id}: {answer.status_code}")
                    return
                self.figures.server_errors.append(f"{delivery.event_id}: {answer.status_code}")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        self.figures.refused.append(f"{delivery.event_id}: no 2xx within {self.give_up_after} s")

    async def send_all(self, every: list[Delivery], concurrency: int) -> None:
        self.figures.deliveries = len(every)
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        for delivery in every:
            queue.put_nowait(delivery)
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=15.0, limits=limits) as client:

            async def worker() -> None:
                while not queue.empty():
                    await self.deliver(client, queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(concurrency)))


async def crash_loop(
    figures: StormFigures,
    at_acknowledged: list[int],
    kill: Callable[[], None],
    restart: Callable[[], None],
    rng: random.Random,
) -> None:
    """SIGKILLs the service once the storm has acknowledged each of `at_acknowledged`
    deliveries (plus a random moment), and starts it again."""
    for threshold in at_acknowledged:
        while figures.acknowledged < threshold:  # noqa: ASYNC110 - a counter, polled
            await asyncio.sleep(0.005)
        await asyncio.sleep(rng.uniform(0.0, 0.05))
        kill()
        figures.kills.append(datetime.now(UTC))
        await asyncio.to_thread(restart)


def kill_points(total: int, kills: int, rng: random.Random) -> list[int]:
    """One random point in each of `kills` equal stretches of the storm's middle 90 %."""
    start, span = total // 20, (total * 9 // 10) // kills
    return [rng.randrange(start + i * span, start + (i + 1) * span) for i in range(kills)]
