"""SIGTERM to `payments serve` in the middle of a webhook storm, with effect calls in flight:
it stops accepting, finishes the requests it has, stops its effect workers after their calls,
and exits 0 well within the orchestrator's grace period; every webhook it acknowledged is in
the store, and every call the shop received has its fact recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from application.ledger import PaymentLedger
from domain.payment import Payment, payment_id_for
from infrastructure.event_store.store import event_store_env
from tests.e2e.payment_processes import PaymentProcess, service_env, start_service
from tests.e2e.shop_payments import open_payment, webhook
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop

pytestmark = pytest.mark.e2e

STORM = 80  # paid webhooks sent at once
HELD = 4  # requests whose body is held back until after SIGTERM: surely in flight
CALL_SECONDS = 1.0  # the shop holds every order PATCH this long: calls are in flight
GRACE_SECONDS = 45  # docker-compose.yml's stop_grace_period
COMPLETED = "checkout.session.completed"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    app = PaymentLedger(event_store_env(f"sqlite:///{tmp_path / 'payments.db'}"))
    yield app
    app.close()


class HeldRequest:
    """A webhook POST whose headers and half its body are sent; the rest when `finish()`ed."""

    def __init__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        host_port = url.removeprefix("http://")
        host, port = host_port.split(":")
        self._sock = socket.create_connection((host, int(port)), timeout=20)
        self._body = body
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._sock.sendall(
            f"POST /payments/webhook HTTP/1.1\r\nHost: {host_port}\r\n{head}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[: len(body) // 2]
        )

    def finish(self) -> int:
        """Sends the rest of the body; the answer's status code."""
        self._sock.sendall(self._body[len(self._body) // 2 :])
        answer = b""
        while chunk := self._sock.recv(65536):
            answer += chunk
        self._sock.close()
        return int(answer.split(b" ", 2)[1])


async def send(client: httpx.AsyncClient, url: str, payment: Payment, event_id: str) -> str | None:
    """The event id if the service acknowledged it (200), else None (refused, reset, 5xx)."""
    body, headers = webhook(payment, COMPLETED, event_id)
    try:
        response = await client.post(f"{url}/payments/webhook", content=body, headers=headers)
    except httpx.TransportError:
        return None
    return event_id if response.status_code == 200 else None


async def a_quarter_answered(tasks: list[asyncio.Task[str | None]]) -> None:
    quarter = asyncio.Event()
    done = 0

    def one_more(_: asyncio.Task[str | None]) -> None:
        nonlocal done
        done += 1
        if done >= len(tasks) // 4:
            quarter.set()

    for task in tasks:
        task.add_done_callback(one_more)
    await quarter.wait()


class Storm:
    """What the clients saw around SIGTERM."""

    acknowledged: list[str]
    answered_before: int  # storm requests answered when SIGTERM was sent
    held_statuses: list[int]
    signalled_at: float  # monotonic
    signalled_wall: datetime
    refused_after: bool


async def storm(service: PaymentProcess, payments: list[Payment], held: list[HeldRequest]) -> Storm:
    """Sends every webhook at once; SIGTERM once a quarter are answered, the rest in flight."""
    seen = Storm()
    limits = httpx.Limits(max_connections=len(payments), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        tasks = [
            asyncio.create_task(send(client, service.url, payment, f"evt_storm_{n}"))
            for n, payment in enumerate(payments)
        ]
        await a_quarter_answered(tasks)
        os.kill(service.pid, signal.SIGTERM)
        seen.answered_before = sum(task.done() for task in tasks)
        seen.signalled_at, seen.signalled_wall = time.monotonic(), datetime.now(UTC)
        await asyncio.sleep(0.3)
        # Still running (the held requests are not finished), but accepting nothing new.
        try:
            await client.get(f"{service.url}/health")
            seen.refused_after = False
        except httpx.ConnectError:
            seen.refused_after = True
        seen.held_statuses = await asyncio.to_thread(lambda: [h.finish() for h in held])
        seen.acknowledged = [event_id for event_id in await asyncio.gather(*tasks) if event_id]
    return seen


def _applied(ledger: PaymentLedger, payment: Payment, event_id: str) -> bool:
    stored = ledger.load(payment.id)
    return stored is not None and stored.has_applied(event_id)


def recorded_confirmation(ledger: PaymentLedger, order_id: str) -> datetime | None:
    """When the order's confirmation was recorded, if it was."""
    for event in ledger.history(payment_id_for(order_id)):
        if isinstance(event, Payment.declared_event("OrderConfirmed")):
            timestamp: datetime = event.timestamp
            return timestamp
    return None


def test_sigterm_mid_storm_loses_no_acknowledged_webhook_and_exits_0(
    shop: RunningShop, ledger: PaymentLedger, tmp_path: Path
) -> None:
    token = shop.login()
    shop.set_stock(KEYBOARD, STORM)
    shop.set_stock(CABLE, STORM)
    orders = [shop.create_order(token, [(KEYBOARD, 1), (CABLE, 1)])["_id"] for _ in range(STORM)]
    payments = [open_payment(shop, ledger, order_id) for order_id in orders]
    store_url = f"sqlite:///{tmp_path / 'payments.db'}"
    service = start_service(service_env(shop, store_url), tmp_path / "serve.log")
    shop.set_fault("order_status", mode="delay", seconds=CALL_SECONDS)
    held = [
        HeldRequest(service.url, *webhook(payment, COMPLETED, f"evt_held_{n}"))
        for n, payment in enumerate(payments[:HELD])
    ]
    try:
        seen = asyncio.run(storm(service, payments[HELD:], held))
        status = service.exit_status(within=GRACE_SECONDS)
    finally:
        service.kill()
    stopped_in = time.monotonic() - seen.signalled_at

    assert status == 0, service.tail()
    assert stopped_in < 10, f"took {stopped_in:.1f} s"  # HTTP_DRAIN_SECONDS + one call
    assert seen.refused_after, "a new connection after SIGTERM was accepted"
    assert seen.held_statuses == [200] * HELD  # in flight at SIGTERM: finished
    # Storm requests the service had taken in were answered after SIGTERM, not dropped.
    assert len(seen.acknowledged) > seen.answered_before
    assert not service.has_logged("Cancel 1 running task(s), timeout graceful shutdown exceeded")

    # Every acknowledged delivery is in the store, read afresh after the process ended.
    after = PaymentLedger(ledger.env)
    try:
        about = {f"evt_held_{n}": p for n, p in enumerate(payments[:HELD])}
        about |= {f"evt_storm_{n}": p for n, p in enumerate(payments[HELD:])}
        acknowledged = [*seen.acknowledged, *(f"evt_held_{n}" for n in range(HELD))]
        lost = [e for e in acknowledged if not _applied(after, about[e], e)]
        assert lost == [], "acknowledged, then lost"
        # No effect call was abandoned: every confirmation the shop received is recorded,
        # among them calls still in flight when SIGTERM came.
        confirmed_at_shop = {o for o in orders if shop.effects(o)["confirmed"]}
        recorded = {o: at for o in orders if (at := recorded_confirmation(after, o))}
        assert confirmed_at_shop == set(recorded)
        assert any(at > seen.signalled_wall for at in recorded.values()), "no call in flight"
    finally:
        after.close()
