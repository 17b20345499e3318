"""Effects throughput: paid webhooks in, `PATCH …/status CONFIRMED` out, through real processes.

Run: .venv/bin/python bench/effects_throughput.py [--store sqlite|postgres] [--payments 300]
     [--delay-ms 25] [--workers 1|2] [--rounds 3] [--code-root PATH] [--label NAME]

Starts, on free loopback ports:

- a stand-in order/inventory service (this file with `--stand-in PORT`: a raw ASGI
  app under uvicorn, in its own process) that answers every call after `--delay-ms`:
  `GET /internal/orders/{id}` with an order in DESIGN.md's shape (that of
  tests/fakes.py `an_order`, total 204.98 usd), `PATCH /internal/orders/{id}/status`
  200 with `{"order": {"_id", "status"}}` (the arrival of each order's first
  CONFIRMED is recorded, on the system-wide monotonic clock) and
  `POST /internal/inventory/release` 200 with `{"orderId", "productId", "released"}`
  (the documented shapes, which older versions insist on); one chosen order may
  answer 503 to everything;
- the payment service: `python -m interfaces.cli.main serve` from `--code-root`
  (this checkout by default; another one, e.g. `git worktree add /tmp/before
  caba141`, measures that version: the processes get PYTHONPATH=<root> and run in
  it, and the bench checks that they import its modules), on a SQLite file in a
  temp dir or a fresh PostgreSQL schema, without MongoDB or Stripe; with
  `--workers 2` also a `worker` on the same store.

Each run gets a fresh store and fresh processes. Its payments are opened in the
store before the service starts (`Payment.initiate` + `PaymentLedger.record`,
sessions `cs_<order>`, as tests/infrastructure/effects/queue_world.py does); 20
warm-up payments are paid and confirmed first (not timed); then one signed
`checkout.session.completed` per payment (amount = the order's total) is POSTed
over 16 keep-alive connections (a minimal HTTP/1.1 client, lighter than httpx, so
the load generator takes less of the cores), and the stand-in is polled until
every order is confirmed or `--timeout` seconds have passed.

Runs and figures:

1. max load (`--rounds` times, median and spread): all webhooks at once, 16 in
   flight. Confirmations/s = payments / (first webhook sent → last PATCH CONFIRMED
   received); the sequential cap is 1000/delay-ms per second; the ratio is the
   ceiling ratio. Also the webhook intake rate (webhooks answered per second) and
   the lag per payment (its webhook answered → its PATCH CONFIRMED received),
   p50/p99/max.
2. half load: webhooks paced at half the median confirmations/s; lag p50/p99/max.
3. one stuck order: the same pacing, the first order answering 503 throughout;
   the OTHER payments' lag p50/p99/max (one not confirmed by the deadline counts
   as infinitely late: shown as "> N s").

Also reported: the CPU each process used over the timed part (in % of one core)
and what the rest of the machine used (/proc/stat: PostgreSQL and anything else
running share the same cores); before each timed part the bench waits (up to
`--quiet-wait` s) for the machine to be less than `--quiet-below` % busy, and
reports how busy it was. With two processes, which one confirmed how many of the
timed orders (from their "payment effect done" lines: LOG_LEVEL INFO, the default
here); and how many PATCH CONFIRMED were repeated (at-least-once calls).

Diagnostics: `--profile DIR` first makes one extra max-load run (not counted)
with py-spy (`.venv/bin/pip install py-spy`; not a project dependency) sampling
each payment process, as collapsed stacks; `--effect-concurrency N` sets
EFFECT_CONCURRENCY; `--extra-pythonpath` appends to the service's PYTHONPATH for
what-if runs (e.g. packages installed with `pip install --target`).

Prints one table and merges the figures into bench/results/effects_latest.json
under a key naming the label, store, processes, delay and payments, with the
machine (nproc, Python, platform) and the date.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.apply_stripe_event import ApplyStripeEvent
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment
from infrastructure.event_store.store import event_store_env
from tests.fakes import an_order
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.stripe_payloads import checkout_event, encode, sign

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "effects_latest.json"
JWT_SECRET = "bench-jwt-secret-long-enough-for-hs256-use"
WEBHOOK_SECRET = "whsec_bench_effects"
WARM_UP = 20
CONNECTIONS = 16
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
POLL_SECONDS = 0.1
CONFIRMED = "CONFIRMED"
DONE_MESSAGE = "payment effect done"

# The order every stand-in answers with: tests/fakes.py `an_order`, in major units.
ORDER_ITEMS = [
    {"productId": "prod_a", "name": "Keyboard", "quantity": 2, "price": 99.99},
    {"productId": "prod_b", "name": "Cable", "quantity": 1, "price": 5.00},
]
ORDER_TOTAL_MAJOR = 204.98
ORDER_TOTAL_MINOR = 20498


# -- the stand-in order/inventory service (its own process) ---------------------------


class StandIn:
    """A raw ASGI order and inventory service with a per-call delay and one failing order."""

    def __init__(self) -> None:
        self.reset(0.0, ())

    def reset(self, delay: float, failing: Sequence[str]) -> None:
        self.delay = delay
        self.failing = set(failing)
        self.confirmed: dict[str, float] = {}  # order id -> first PATCH CONFIRMED's arrival
        self.confirm_calls: dict[str, int] = {}
        self.calls = 0
        self.failed_calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        arrived = time.monotonic()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, payload = await self._answer(scope["method"], scope["path"], body, arrived, scope)
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _answer(
        self, method: str, path: str, body: bytes, arrived: float, scope: dict[str, Any]
    ) -> tuple[int, Any]:
        if path.startswith("/_bench/"):
            return self._control(method, path, body, scope)
        self.calls += 1
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 3 and parts[:2] == ["internal", "orders"]:
            order_id = parts[2]
            return await self._after_delay(order_id, lambda: {"order": _order(order_id)})
        if method == "PATCH" and len(parts) == 4 and parts[:2] == ["internal", "orders"]:
            order_id, status = parts[2], json.loads(body)["status"]
            if status == CONFIRMED and order_id not in self.failing:
                self.confirm_calls[order_id] = self.confirm_calls.get(order_id, 0) + 1
                self.confirmed.setdefault(order_id, arrived)
            return await self._after_delay(
                order_id, lambda: {"order": {"_id": order_id, "status": status}}
            )
        if method == "POST" and path == "/internal/inventory/release":
            release = json.loads(body)
            order_id = release["orderId"]
            return await self._after_delay(
                order_id,
                lambda: {
                    "orderId": order_id,
                    "productId": release["productId"],
                    "released": release["quantity"],
                },
            )
        return 404, {"error": f"no route {method} {path}"}

    async def _after_delay(self, order_id: str, payload: Callable[[], Any]) -> tuple[int, Any]:
        if self.delay:
            await asyncio.sleep(self.delay)
        if order_id in self.failing:
            self.failed_calls += 1
            return 503, {"error": "unavailable"}
        return 200, payload()

    def _control(
        self, method: str, path: str, body: bytes, scope: dict[str, Any]
    ) -> tuple[int, Any]:
        if path == "/_bench/health":
            return 200, {"ok": True}
        if method == "POST" and path == "/_bench/setup":
            settings = json.loads(body)
            self.reset(float(settings["delay"]), settings["failing"])
            return 200, {"ok": True}
        prefix = scope.get("query_string", b"").decode().removeprefix("prefix=")
        arrivals = {k: v for k, v in self.confirmed.items() if k.startswith(prefix)}
        counters = {
            "calls": self.calls,
            "failedCalls": self.failed_calls,
            "confirmCalls": sum(n for k, n in self.confirm_calls.items() if k.startswith(prefix)),
        }
        if path == "/_bench/progress":
            return 200, {"confirmed": len(arrivals), **counters}
        if path == "/_bench/confirmed":
            return 200, {"arrivals": arrivals, **counters}
        return 404, {"error": f"no route {method} {path}"}


def _order(order_id: str) -> dict[str, Any]:
    return {
        "_id": order_id,
        "userId": "user_1",
        "status": "PENDING",
        "items": ORDER_ITEMS,
        "totalAmount": ORDER_TOTAL_MAJOR,
        "currency": "usd",
    }


def serve_stand_in(port: int) -> None:
    import uvicorn  # noqa: PLC0415 - only the stand-in process needs it

    uvicorn.run(
        StandIn(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
    )


# -- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(process)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
    raise SystemExit(f"{what} did not start:\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def stand_in_process(workdir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = workdir / "stand-in.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--stand-in", str(port)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{url}/_bench/health", process, "the stand-in", log)
        yield url, process.pid
    finally:
        stop(process)


@dataclass
class Service:
    """The payment processes of one run (`serve`, and `worker` with --workers 2)."""

    processes: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]
    url: str

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            stop(process)

    def confirmations_by_process(self, prefix: str) -> dict[str, int]:
        """How many of the timed orders each process confirmed, from its log lines."""
        counts: dict[str, int] = {}
        for name, path in self.logs.items():
            counts[name] = 0
            for line in path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError, AttributeError):
                    entry = json.loads(line)
                    if (
                        entry.get("message") == DONE_MESSAGE
                        and entry.get("effect") == "ConfirmOrder"
                        and str(entry.get("orderId", "")).startswith(prefix)
                    ):
                        counts[name] += 1
        return counts


def service_env(options: Options, store_url: str, stand_in_url: str) -> dict[str, str]:
    dropped = ("STRIPE_", "MONGODB_", "EVENT_STORE_", "INTERNAL_SERVICE_", "EFFECT_", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        JWT_SECRET=JWT_SECRET,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        EVENT_STORE_URL=store_url,
        ORDER_SERVICE_URL=stand_in_url,
        INVENTORY_SERVICE_URL=stand_in_url,
        LOG_LEVEL=options.log_level,
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(options.code_root), options.extra_pythonpath])
        ),
    )
    if options.effect_concurrency:
        env["EFFECT_CONCURRENCY"] = str(options.effect_concurrency)
    return env


def start_service(options: Options, store_url: str, stand_in_url: str, workdir: Path) -> Service:
    env = service_env(options, store_url, stand_in_url)
    env_file = str(workdir / "none.env")  # no such file: the environment only
    commands = {"serve": ["serve", "--host", "127.0.0.1"]}
    if options.workers == 2:
        commands["worker"] = ["worker"]
    port = free_port()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    for name, command in commands.items():
        logs[name] = workdir / f"{name}.log"
        argv = [sys.executable, "-m", "interfaces.cli.main", *command, "--env-file", env_file]
        with logs[name].open("ab") as out:
            processes[name] = subprocess.Popen(
                argv,
                cwd=options.code_root,
                env={**env, "PORT": str(port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    service = Service(processes, logs, f"http://127.0.0.1:{port}")
    try:
        wait_for_health(
            f"{service.url}/health", processes["serve"], "payments serve", logs["serve"]
        )
    except BaseException:
        service.stop()
        raise
    if any(process.poll() is not None for process in processes.values()):
        service.stop()
        raise SystemExit(f"a payment process exited early; see {workdir}")
    return service


# -- stores -------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_store(store: str, workdir: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{workdir / 'payments.db'}"
        return
    url = fresh_postgres_url()
    try:
        yield url
    finally:
        drop_postgres_schema(url)


def open_payments(store_url: str, order_ids: Sequence[str]) -> None:
    """Opens each payment as checkout would have (tests/infrastructure/effects/queue_world.py)."""
    with PaymentLedger(event_store_env(store_url)) as ledger:
        now = datetime.now(UTC)
        for order_id in order_ids:
            ledger.record(
                Payment.initiate(
                    an_order(order_id),
                    user_email="buyer@example.com",
                    checkout_session_id=f"cs_{order_id}",
                    checkout_url=f"https://checkout.example/cs_{order_id}",
                    expires_at=now + timedelta(minutes=30),
                    at=now,
                )
            )


# -- the load generator ------------------------------------------------------------------


def paid_body(order_id: str) -> bytes:
    return encode(
        checkout_event(
            "checkout.session.completed",
            order_id,
            f"cs_{order_id}",
            amount_total=ORDER_TOTAL_MINOR,
            evt_id=f"evt_{order_id}",
        )
    )


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs signed webhooks."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def webhook(self, body: bytes) -> int:
        self._writer.write(
            (
                f"POST /webhook HTTP/1.1\r\nHost: {self._host}\r\n"
                "Content-Type: application/json\r\n"
                f"Stripe-Signature: {sign(body, WEBHOOK_SECRET)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await self._reader.readexactly(length)
        return status

    def close(self) -> None:
        self._writer.close()


@dataclass
class Sent:
    """When each webhook went out and when its 200 came back (monotonic seconds)."""

    sent: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)


async def post_one(connection: Connection, order_id: str, body: bytes, sent: Sent) -> None:
    sent.sent[order_id] = time.monotonic()
    status = await connection.webhook(body)
    sent.answered[order_id] = time.monotonic()
    if status != 200:
        raise SystemExit(f"webhook for {order_id} answered {status}")


async def send_burst(port: int, order_ids: Sequence[str]) -> Sent:
    """Every webhook as fast as 16 connections take them."""
    bodies = {order_id: paid_body(order_id) for order_id in order_ids}
    connections = [await Connection.open(port) for _ in range(CONNECTIONS)]
    pending = iter(order_ids)
    sent = Sent()

    async def drive(connection: Connection) -> None:
        for order_id in pending:
            await post_one(connection, order_id, bodies[order_id], sent)

    try:
        await asyncio.gather(*(drive(connection) for connection in connections))
    finally:
        for connection in connections:
            connection.close()
    return sent


async def send_paced(port: int, order_ids: Sequence[str], rate: float) -> Sent:
    """One webhook every 1/rate seconds (open loop), over a pool of 16 connections."""
    bodies = {order_id: paid_body(order_id) for order_id in order_ids}
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await Connection.open(port))
    sent = Sent()

    async def one(order_id: str) -> None:
        connection = await pool.get()
        try:
            await post_one(connection, order_id, bodies[order_id], sent)
        finally:
            pool.put_nowait(connection)

    tasks = []
    started = time.monotonic()
    for index, order_id in enumerate(order_ids):
        wait = started + index / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(order_id)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return sent


def wait_confirmed(stand_in_url: str, prefix: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=stand_in_url, timeout=5) as client:
        while time.monotonic() < deadline:
            progress = client.get("/_bench/progress", params={"prefix": prefix}).json()
            if progress["confirmed"] >= expected:
                return
            time.sleep(POLL_SECONDS)


def stand_in_confirmed(stand_in_url: str, prefix: str) -> dict[str, Any]:
    reply: dict[str, Any] = httpx.get(
        f"{stand_in_url}/_bench/confirmed", params={"prefix": prefix}, timeout=5
    ).json()
    return reply


def setup_stand_in(stand_in_url: str, delay: float, failing: Sequence[str]) -> None:
    httpx.post(
        f"{stand_in_url}/_bench/setup", json={"delay": delay, "failing": list(failing)}, timeout=5
    ).raise_for_status()


# -- CPU accounting ------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuMeter:
    """CPU used over the timed part, in % of one core, by our processes and by the rest."""

    pids: dict[str, int]
    started: dict[str, float] = field(default_factory=dict)
    machine: tuple[float, float] = (0.0, 0.0)
    wall: float = 0.0

    def start(self) -> None:
        self.started = {name: process_cpu(pid) for name, pid in self.pids.items()}
        self.started["client"] = time.process_time()
        self.machine = machine_cpu()
        self.wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall
        used = {name: process_cpu(pid) - self.started[name] for name, pid in self.pids.items()}
        used["client"] = time.process_time() - self.started["client"]
        busy, total = machine_cpu()
        cores = os.cpu_count() or 1
        busy_share = (busy - self.machine[0]) / max(1.0, total - self.machine[1])
        shares = {name: 100 * seconds / wall for name, seconds in used.items()}
        # PostgreSQL's backends, and whatever else runs on the machine meanwhile.
        shares["rest of machine"] = max(0.0, 100 * busy_share * cores - sum(shares.values()))
        return {**shares, "machine busy %": 100 * busy_share, "cores": cores}


def wait_for_quiet(limit: float, max_wait: float) -> float:
    """Waits (up to `max_wait` s) until the machine is under `limit` % busy over a second."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_cpu()
        time.sleep(1.0)
        after = machine_cpu()
        busy = 100 * (after[0] - before[0]) / max(1.0, after[1] - before[1])
        if busy < limit or time.monotonic() > deadline:
            return busy


def spy_on(
    pids: dict[str, int], directory: Path | None, mode: str
) -> list[subprocess.Popen[bytes]]:
    """py-spy (installed in this virtualenv, not a project dependency) on each process,
    sampling the thread that holds the GIL; collapsed stacks, one line per stack
    (flamegraph.pl or speedscope read them)."""
    if directory is None:
        return []
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(f"--profile needs py-spy: {sys.executable} -m pip install py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in pids.items():
        output = directory / f"{mode}-{name}.txt"
        argv = [str(py_spy), "record", "--pid", str(pid), "--rate", "250"]
        argv += ["--format", "raw", "--output", str(output)]
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # attached before the first webhook
    return spies


# -- one run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    store: str
    payments: int
    delay_ms: float
    workers: int
    rounds: int
    timeout: float
    code_root: Path
    label: str
    log_level: str
    effect_concurrency: int | None
    quiet_below: float
    quiet_wait: float
    profile: Path | None = None
    extra_pythonpath: str = ""
    stand_in_pid: int = 0


@dataclass
class RunResult:
    mode: str
    payments: int
    confirmed: int
    seconds: float
    confirmations_per_second: float
    intake_per_second: float
    lag_ms: dict[str, float | None]
    unconfirmed: int
    sent_rate: float | None = None
    stuck_order: str | None = None
    stuck_failed_calls: int = 0
    confirm_calls: int = 0
    by_process: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy_before: float = 0.0
    waited_s: float = 0.0  # from the last webhook answered to the end of the wait


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))]


def lag_summary(lags: Sequence[float]) -> dict[str, float | None]:
    def ms(value: float) -> float | None:
        return None if math.isinf(value) else round(value * 1000, 1)

    if not lags:
        return {"p50": None, "p99": None, "max": None}
    return {
        "p50": ms(percentile(lags, 0.5)),
        "p99": ms(percentile(lags, 0.99)),
        "max": ms(max(lags)),
    }


def run_once(
    options: Options,
    stand_in_url: str,
    mode: str,
    rate: float | None = None,
    *,
    profile_this: bool = False,
) -> RunResult:
    """One fresh store and service; `mode` is "max", "half" or "stuck" (paced at `rate`)."""
    prefix = f"ord_{mode}_"
    order_ids = [f"{prefix}{index:05d}" for index in range(options.payments)]
    warm_ids = [f"warm_{mode}_{index:03d}" for index in range(WARM_UP)]
    stuck = order_ids[0] if mode == "stuck" else None
    with tempfile.TemporaryDirectory(prefix="bench-effects-") as tmp:
        workdir = Path(tmp)
        with fresh_store(options.store, workdir) as store_url:
            open_payments(store_url, [*warm_ids, *order_ids])
            setup_stand_in(stand_in_url, options.delay_ms / 1000, [stuck] if stuck else [])
            service = start_service(options, store_url, stand_in_url, workdir)
            try:
                port = int(service.url.rsplit(":", 1)[1])
                asyncio.run(send_burst(port, warm_ids))
                wait_confirmed(stand_in_url, "warm_", WARM_UP, options.timeout)
                pids = {name: process.pid for name, process in service.processes.items()}
                meter = CpuMeter({**pids, "stand-in": options.stand_in_pid})
                busy_before = wait_for_quiet(options.quiet_below, options.quiet_wait)
                spies = spy_on(pids, options.profile, mode) if profile_this else []
                meter.start()
                sent = asyncio.run(
                    send_burst(port, order_ids)
                    if rate is None
                    else send_paced(port, order_ids, rate)
                )
                expected = options.payments - (1 if stuck else 0)
                wait_confirmed(stand_in_url, prefix, expected, options.timeout)
                waited = time.monotonic() - max(sent.answered.values())
                cpu = meter.stop()
                for spy in spies:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its file and exits
                for spy in spies:
                    spy.wait(timeout=60)
                confirmed = stand_in_confirmed(stand_in_url, prefix)
                by_process = service.confirmations_by_process(prefix) if options.workers > 1 else {}
            finally:
                service.stop()
    result = summarise(mode, order_ids, stuck, sent, confirmed, rate, by_process, cpu)
    result.machine_busy_before = round(busy_before, 1)
    result.waited_s = round(waited, 1)
    return result


def record_paid(store_url: str, order_ids: Sequence[str]) -> None:
    """Applies each payment's paid event straight into the store, as the webhook would."""
    with PaymentLedger(event_store_env(store_url)) as ledger:
        apply = ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL)
        for order_id in order_ids:
            apply.apply(decode_stripe_event(paid_body(order_id)))


def drain_once(options: Options, stand_in_url: str) -> float:
    """Effects alone: every payment already paid in the store when the service starts.

    Confirmations/s from the first PATCH to the last, so the figure is the queue's
    drain rate, with no webhook intake sharing the process.
    """
    prefix = "ord_drain_"
    order_ids = [f"{prefix}{index:05d}" for index in range(options.payments)]
    with tempfile.TemporaryDirectory(prefix="bench-effects-") as tmp:
        workdir = Path(tmp)
        with fresh_store(options.store, workdir) as store_url:
            open_payments(store_url, order_ids)
            record_paid(store_url, order_ids)
            setup_stand_in(stand_in_url, options.delay_ms / 1000, [])
            wait_for_quiet(options.quiet_below, options.quiet_wait)
            service = start_service(options, store_url, stand_in_url, workdir)
            try:
                wait_confirmed(stand_in_url, prefix, options.payments, options.timeout)
                arrivals = sorted(stand_in_confirmed(stand_in_url, prefix)["arrivals"].values())
            finally:
                service.stop()
    return (len(arrivals) - 1) / max(arrivals[-1] - arrivals[0], 1e-9)


def summarise(
    mode: str,
    order_ids: Sequence[str],
    stuck: str | None,
    sent: Sent,
    confirmed: dict[str, Any],
    rate: float | None,
    by_process: dict[str, int],
    cpu: dict[str, float],
) -> RunResult:
    arrivals: dict[str, float] = confirmed["arrivals"]
    others = [order_id for order_id in order_ids if order_id != stuck]
    lags = [arrivals.get(o, math.inf) - sent.answered[o] for o in others]
    first_sent = min(sent.sent.values())
    done = [arrivals[o] for o in others if o in arrivals]
    seconds = (max(done) - first_sent) if done else math.inf
    intake = len(sent.answered) / (max(sent.answered.values()) - first_sent)
    return RunResult(
        mode=mode,
        payments=len(order_ids),
        confirmed=len(done),
        seconds=round(seconds, 3),
        confirmations_per_second=round(len(done) / seconds, 1) if done else 0.0,
        intake_per_second=round(intake, 1),
        lag_ms=lag_summary(lags),
        unconfirmed=len(others) - len(done),
        sent_rate=None if rate is None else round(rate, 1),
        stuck_order=stuck,
        stuck_failed_calls=int(confirmed["failedCalls"]),
        confirm_calls=int(confirmed["confirmCalls"]),
        by_process=by_process,
        cpu={name: round(value, 1) for name, value in cpu.items()},
    )


# -- report ------------------------------------------------------------------------------------


def code_version(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{commit}+dirty" if dirty else commit


def before(result: RunResult) -> str:
    return f"machine {result.machine_busy_before:.0f}% busy just before"


def lag_text(result: RunResult) -> str:
    def fmt_ms(value: float | None) -> str:
        return f"> {result.waited_s:,.0f} s" if value is None else f"{value:,.0f} ms"

    lag = result.lag_ms
    text = f"p50 {fmt_ms(lag['p50'])}, p99 {fmt_ms(lag['p99'])}, max {fmt_ms(lag['max'])}"
    if result.unconfirmed:
        text += f" ({result.unconfirmed} not confirmed in time)"
    return text


def table(
    options: Options, version: str, rounds: list[RunResult], half: RunResult, stuck: RunResult
) -> list[tuple[str, str]]:
    rates = [r.confirmations_per_second for r in rounds]
    median = statistics.median(rates)
    cap = 1000 / options.delay_ms
    spread = (max(rates) - min(rates)) / median * 100 if median else 0.0
    best = min(rounds, key=lambda r: abs(r.confirmations_per_second - median))
    intake = statistics.median(r.intake_per_second for r in rounds)
    cpu = ", ".join(
        f"{name} {value:.0f}"
        for name, value in best.cpu.items()
        if name not in ("machine busy %", "cores")
    )
    machine = f"machine {best.cpu['machine busy %']:.0f}% busy ({best.cpu['cores']:.0f} cores)"
    setup = (
        f"{options.store}, {options.workers} process(es), {options.payments} payments, "
        f"{options.delay_ms:g} ms per call"
    )
    rows = [
        ("code", f"{options.label} ({version}) from {options.code_root}"),
        ("setup", setup),
        (
            "confirmations/s, max load",
            f"{median:,.1f} median of {len(rates)} "
            f"({min(rates):,.1f}-{max(rates):,.1f}, spread {spread:.0f}%)",
        ),
        ("sequential cap (1000/delay)", f"{cap:,.1f}/s"),
        ("ceiling ratio", f"{median / cap:.2f}x the sequential cap"),
        ("webhook intake, max load", f"{intake:,.0f}/s (median)"),
        ("lag, max load (median run)", lag_text(best)),
        ("lag, half load", f"sent at {half.sent_rate:,.1f}/s: {lag_text(half)}"),
        (
            "others' lag, one order 503",
            f"sent at {stuck.sent_rate:,.1f}/s: {lag_text(stuck)}; "
            f"the stuck order answered 503 {stuck.stuck_failed_calls} times",
        ),
        ("CPU, % of one core (median run)", f"{cpu}; {machine}"),
    ]
    if best.by_process:
        shares = ", ".join(f"{name} {count}" for name, count in best.by_process.items())
        rows.append(("orders confirmed by (median run)", shares))
    duplicates = sum(r.confirm_calls - r.confirmed for r in rounds)
    rows.append(("repeated PATCH CONFIRMED, max-load runs", str(duplicates)))
    return rows


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def save(
    options: Options, version: str, rounds: list[RunResult], half: RunResult, stuck: RunResult
) -> str:
    rates = [r.confirmations_per_second for r in rounds]
    median = statistics.median(rates)
    key = (f"{options.label} {options.store} x{options.workers} "
           f"{options.delay_ms:g}ms {options.payments}")  # fmt: skip
    data: dict[str, Any] = {}
    if RESULTS.exists():
        with contextlib.suppress(ValueError):
            data = json.loads(RESULTS.read_text())
    machine = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    data["machine"] = machine
    data["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
    data.setdefault("runs", {})[key] = {
        "date": data["updated"],
        "machine": machine,
        "code": {
            "label": options.label,
            "version": version,
            "root": str(options.code_root),
            "extra_pythonpath": options.extra_pythonpath,
        },
        "config": {
            "store": options.store,
            "workers": options.workers,
            "payments": options.payments,
            "delay_ms": options.delay_ms,
            "rounds": options.rounds,
            "webhook_connections": CONNECTIONS,
            "warm_up_payments": WARM_UP,
            "log_level": options.log_level,
            "effect_concurrency": options.effect_concurrency or "service default",
            "timeout_s": options.timeout,
            "quiet_below_percent": options.quiet_below,
        },
        "figures": {
            "confirmations_per_second_median": median,
            "confirmations_per_second_rounds": rates,
            "sequential_cap_per_second": 1000 / options.delay_ms,
            "ceiling_ratio": round(median / (1000 / options.delay_ms), 2),
            "max_load_runs": [asdict(r) for r in rounds],
            "half_load": asdict(half),
            "one_order_503_at_half_load": asdict(stuck),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    return key


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=25.0)
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--rounds", type=int, default=3, help="max-load runs (median, spread)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the confirmations"
    )
    parser.add_argument(
        "--code-root", type=Path, default=REPO_ROOT, help="checkout the service runs from"
    )
    parser.add_argument("--label", default=None, help="name in the results (default: its commit)")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the service")
    parser.add_argument(
        "--effect-concurrency", type=int, default=None, help="EFFECT_CONCURRENCY (default: unset)"
    )
    parser.add_argument(
        "--quiet-below",
        type=float,
        default=25.0,
        help="before each timed part, wait until the machine is less busy than this %%",
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=120.0, help="seconds to wait for that at most"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="first, one extra max-load run (not counted) with py-spy on each payment process",
    )
    parser.add_argument(
        "--extra-pythonpath",
        default="",
        help="appended to the service's PYTHONPATH, for what-if runs (e.g. packages "
        "installed with pip install --target)",
    )
    parser.add_argument("--stand-in", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_code_root(root: Path) -> None:
    """The service processes must import the modules of `root`, not those of this checkout."""
    probe = subprocess.run(
        [sys.executable, "-c", "import interfaces.cli.main as m; print(m.__file__)"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    imported = Path(probe.stdout.strip() or "?").resolve()
    if not imported.is_relative_to(root):
        raise SystemExit(f"the service would import {imported}, not {root}: {probe.stderr}")


def measure(options: Options) -> None:
    version = code_version(options.code_root)
    print(f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"service {options.label} ({version}) from {options.code_root}; {options.store}, "
          f"{options.workers} process(es), {options.payments} payments, "
          f"{options.delay_ms:g} ms per call")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="bench-stand-in-") as tmp,
        stand_in_process(Path(tmp)) as (stand_in_url, pid),
    ):
        options = Options(**{**asdict(options), "stand_in_pid": pid})
        rounds = []
        if options.profile is not None:
            profiled = run_once(options, stand_in_url, "max", profile_this=True)
            print(f"  max load under py-spy (not counted): "
                  f"{profiled.confirmations_per_second:,.1f} confirmations/s; "
                  f"profiles in {options.profile}")  # fmt: skip
        for index in range(options.rounds):
            result = run_once(options, stand_in_url, "max")
            rounds.append(result)
            print(f"  max load, round {index + 1}: {result.confirmations_per_second:,.1f} "
                  f"confirmations/s, intake {result.intake_per_second:,.0f}/s, "
                  f"{lag_text(result)}; {before(result)}")  # fmt: skip
        drained = [drain_once(options, stand_in_url) for _ in range(options.rounds)]
        drain = statistics.median(drained)
        print(f"  drain of {options.payments} paid payments (effects alone): "
              f"{drain:,.1f} confirmations/s, {drain / (1000 / options.delay_ms):.2f}x the "
              f"sequential cap; rounds {', '.join(f'{d:,.0f}' for d in drained)}")  # fmt: skip
        median = statistics.median(r.confirmations_per_second for r in rounds)
        half_rate = max(1.0, median / 2)
        half = run_once(options, stand_in_url, "half", half_rate)
        print(f"  half load ({half_rate:,.1f}/s): {lag_text(half)}; {before(half)}")
        stuck = run_once(options, stand_in_url, "stuck", half_rate)
        print(f"  one order 503 ({half_rate:,.1f}/s): others' {lag_text(stuck)}; {before(stuck)}")
    print_table(table(options, version, rounds, half, stuck))
    key = save(options, version, rounds, half, stuck)
    print(f"\nsaved as {key!r} in {RESULTS.relative_to(REPO_ROOT)}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.stand_in:
        serve_stand_in(args.stand_in)
        return
    root = args.code_root.resolve()
    check_code_root(root)
    measure(
        Options(
            store=args.store,
            payments=args.payments,
            delay_ms=args.delay_ms,
            workers=args.workers,
            rounds=args.rounds,
            timeout=args.timeout,
            code_root=root,
            label=args.label or code_version(root),
            log_level=args.log_level,
            effect_concurrency=args.effect_concurrency,
            quiet_below=args.quiet_below,
            quiet_wait=args.quiet_wait,
            profile=args.profile.resolve() if args.profile else None,
            extra_pythonpath=args.extra_pythonpath,
        )
    )


if __name__ == "__main__":
    main()
