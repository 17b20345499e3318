"""The service's throughput beside its ceilings, at growing store sizes: one command, one table.

Run: .venv/bin/python bench/run.py [--full] [--sizes 10000,100000] [--seconds 3]
     [--stores sqlite,postgres] [--server uvicorn|granian] [--profile DIR] [--only-webhooks]
     [--out PATH]

Starts, on free loopback ports: SecantusDB (the MongoDB-compatible view server), the
Stripe sandbox, and bench/effects_throughput.py's stand-in order and inventory
service (`--delay-ms` per call). Opens a SQLite file and a fresh PostgreSQL schema
(`127.0.0.1:5432/test`, trust) and grows both to each size in turn (10k and 100k
stored payments; 1M too with `--full`), writing the payments' events through the
recorder in batches (bench/seed_payments.py). At each size:

- `payments projections rebuild`, `payments audit verify` and `payments audit export`
  run as children on the SQLite store: events/s and the child's peak memory (max RSS);
  ceiling: reading the log alone through the recorder, in pages.
- `payments serve` starts on each store with what production runs beside the API: the
  effect workers (against the stand-in) and the status projection (into SecantusDB).
  wrk (2 threads, `--connections`) then sends:
  - signed `checkout.session.completed` for distinct open payments (each once), then,
    once their orders are confirmed, the same deliveries again (redeliveries); ceilings:
    eventsourcing load + save of one event, and the load alone, in-process on the same
    store (bench/ceilings.py);
  - on SQLite only: `GET /payments/status/{id}` with a JWT over payments spread across
    the store; ceiling: raw `find_one` on the same SecantusDB at the same concurrency;
    `GET /health` (the middleware and a handler; ceiling: a bare Litestar endpoint on the
    same server, bench/bare_app.py), and that bare endpoint beside plain uvicorn (h11 on
    asyncio's loop, the server before issue 15: the goal is 2x);
  - on SQLite only: create-session one at a time; ceiling: the two calls it makes (the
    order, then the Checkout Session from the sandbox) through the same adapters;
  - on SQLite only: confirmation lag at half load, with effects_throughput's functions
    (a burst gives the maximum confirmations/s, then webhooks paced at half of it);
    floor: the lag of one payment at a time on the idle service.

Beside each service figure, the CPU the service's processes used per operation (a paid
webhook's until its order is confirmed: its effects and view update included): on a
shared machine the rates move with what else runs, the CPU per operation much less.

Prints one table (every figure, its ceiling from the same run, their ratio, and per
figure the cost per operation, and the CPU per operation, at the largest size relative
to the first) and writes
bench/results/latest.json (or `--out PATH`: trial runs leave the committed one alone)
with the machine, versions, date and every figure. `--only-webhooks` measures the
webhook figures alone, the view's position moved past the seeded payments. Under
`--profile DIR` py-spy samples the service (without stopping it: `--nonblocking`) under
each load, into DIR as raw stacks with their top frames beside them; it takes part of a
core, so the figures of a profiled run are for the profiles, not the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import effects_throughput as effects
from seed_payments import mark_followed, mark_projected, seed, seed_settled
from wrk_load import Request, WrkResult, run_wrk, wrk_available

from application.ledger import PaymentLedger
from infrastructure.event_store.store import open_ledger
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.fixtures.mongo import start_secantus, stop_secantus, with_database
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxOptions
from tests.stripe_payloads import sign

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "latest.json"
CEILINGS = Path(__file__).resolve().parent / "ceilings.py"
BARE_APP = Path(__file__).resolve().parent / "bare_app.py"
JWT_SECRET = effects.JWT_SECRET
WEBHOOK_SECRET = effects.WEBHOOK_SECRET  # its Connection signs with it
STRIPE_KEY = "sk_test_bench_run"
DEFAULT_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
OPEN_FOR_WEBHOOKS = 2_500
OPEN_FOR_CEILING = 2_000
LAG_PAYMENTS = 300
CREATE_SESSIONS = 300
STATUS_SAMPLE = 5_000
STORES = ("sqlite", "postgres")
PY_SPY_MODE = [os.environ.get("BENCH_PY_SPY_MODE", "--gil")]  # "--idle": where threads wait
MAIN_STORE = "sqlite"
STARTUP_LIMIT = 120.0  # seconds a started service may take to go idle


@dataclass
class Figure:
    """One measured figure beside its ceiling; `unit` says what a higher number means."""

    name: str
    value: float
    ceiling: float | None
    unit: str
    detail: str = ""
    ceiling_detail: str = ""
    lower_is_better: bool = False
    cpu_ms: float | None = None  # the service's CPU per operation (all its processes)

    @property
    def ratio(self) -> float | None:
        if not self.ceiling or not self.value:
            return None
        return self.ceiling / self.value if self.lower_is_better else self.value / self.ceiling

    @property
    def cost(self) -> float:
        """Per-operation cost, for the growth column (time per operation, or the value itself)."""
        if self.lower_is_better:
            return self.value
        return 1 / self.value if self.value else float("inf")


@dataclass
class Level:
    size: int
    figures: dict[str, Figure] = field(default_factory=dict)

    def add(self, figure: Figure) -> None:
        self.figures[figure.name] = figure
        ratio = f", ratio {figure.ratio:.2f}" if figure.ratio is not None else ""
        ceiling = f" (ceiling {figure.ceiling:,.1f})" if figure.ceiling else ""
        cpu = f"; {figure.cpu_ms:.2f} ms CPU/op" if figure.cpu_ms is not None else ""
        print(f"    {figure.name}: {figure.value:,.1f} {figure.unit}{ceiling}{ratio}"
              f"{'; ' + figure.detail if figure.detail else ''}{cpu}", flush=True)  # fmt: skip


# -- children --------------------------------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    max_rss_mb: float
    stdout: str


def run_child(argv: list[str], env: dict[str, str] | None = None) -> ChildRun:
    """Runs a command to its end; its wall time and peak memory.

    The peak is the kernel's high-water mark of the program's own memory (`VmHWM`, reset
    when it starts), read until it ends: `ru_maxrss` from wait4 would also count the
    copy of this process the child was before it started the program.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, high_water_kb(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}:\n{stderr[-2000:]}")
    return ChildRun(seconds, peak_kb / 1024, stdout)


def high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (0 once it has gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def payments_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "interfaces.cli.main", *args]


def ceiling(*args: str) -> dict[str, float]:
    result: dict[str, float] = json.loads(
        run_child([sys.executable, str(CEILINGS), *args]).stdout.strip().splitlines()[-1]
    )
    return result


# -- the service -------------------------------------------------------------------------


@dataclass
class World:
    """Everything started once for the whole run."""

    workdir: Path
    mongodb_uri: str
    stripe_url: str
    stand_in_url: str
    stand_in_pid: int
    delay_ms: float
    connections: int
    seconds: float
    server: str | None
    profile: Path | None = None
    only_webhooks: bool = False


def service_env(world: World, store: str, store_url: str) -> dict[str, str]:
    dropped = ("STRIPE_", "MONGODB_", "EVENT_STORE_", "INTERNAL_SERVICE_", "EFFECT_", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        JWT_SECRET=JWT_SECRET,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_API_BASE=world.stripe_url,
        EVENT_STORE_URL=store_url,
        MONGODB_URI=with_database(world.mongodb_uri, f"bench_{store}"),
        ORDER_SERVICE_URL=world.stand_in_url,
        INVENTORY_SERVICE_URL=world.stand_in_url,
        CREATE_SESSION_RATE_LIMIT="1000",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


@contextlib.contextmanager
def running_service(
    world: World, store: str, store_url: str, *, apart: bool = False
) -> Iterator[effects.Service]:
    """`payments serve` as production runs it; `apart`: `serve --http-only` and a
    `payments worker` beside it, which runs the effects queue and the projection."""
    port = effects.free_port()
    env_file = str(world.workdir / "none")
    argv = payments_cli("serve", "--host", "127.0.0.1", "--env-file", env_file)
    if world.server:
        argv += ["--server", world.server]
    commands = {"serve": [*argv, "--http-only"] if apart else argv}
    if apart:
        commands["worker"] = payments_cli("worker", "--env-file", env_file)
    env = {**service_env(world, store, store_url), "PORT": str(port), "METRICS_PORT": "0"}
    processes, logs = {}, {}
    for name, command in commands.items():
        logs[name] = world.workdir / f"{name}-{store}-{port}.log"
        with logs[name].open("ab") as out:
            processes[name] = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
    service = effects.Service(processes, logs, f"http://127.0.0.1:{port}")
    try:
        effects.wait_for_health(
            f"{service.url}/health", processes["serve"], "payments serve", logs["serve"]
        )
        yield service
    finally:
        service.stop()


def port_of(service: effects.Service) -> int:
    return int(service.url.rsplit(":", 1)[1])


# -- one size ---------------------------------------------------------------------------------


@dataclass
class Stores:
    urls: dict[str, str]
    ledgers: dict[str, PaymentLedger]
    settled: int = 0  # settled payments seeded so far, ids s0000000…

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()


def grow(stores: Stores, size: int, world: World) -> dict[str, list[str]]:
    """Seeds both stores up to `size` payments; returns this size's open payments by purpose."""
    tag = f"{size // 1000}k"
    open_ids = {
        "webhooks": [f"wh{tag}_{i:05d}" for i in range(OPEN_FOR_WEBHOOKS)],
        "apart": [f"wa{tag}_{i:05d}" for i in range(OPEN_FOR_WEBHOOKS)],
        "ceiling": [f"ce{tag}_{i:05d}" for i in range(OPEN_FOR_CEILING)],
    }
    lag = 2 * LAG_PAYMENTS + effects.WARM_UP
    target = size - sum(map(len, open_ids.values())) - lag - CREATE_SESSIONS
    started = time.perf_counter()
    new = [f"s{n:07d}" for n in range(stores.settled, max(stores.settled, target))]
    ledgers = list(stores.ledgers.values())
    seed_settled(ledgers, new)
    stores.settled += len(new)
    for ids in open_ids.values():
        seed(ledgers, ids, settled=False)
    for ledger in ledgers:
        mark_followed(ledger)
    print(f"  seeded {len(new):,} settled and {sum(map(len, open_ids.values())):,} open "
          f"payments into {', '.join(stores.ledgers)} in {time.perf_counter() - started:.0f} s",
          flush=True)  # fmt: skip
    return open_ids


def offline_figures(level: Level, ledger: PaymentLedger, store_url: str, world: World) -> None:
    """Rebuild, verify and export as children of their own, beside reading the log alone."""
    events = ledger.last_notification_id()
    if store_url.startswith("sqlite"):
        # The seeding's write-ahead log into the file first: a reader maps the log's index,
        # whose size is the log's, not the store's, and would count in its peak memory.
        with contextlib.closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    read = ceiling("read-log", store_url)
    uri = with_database(world.mongodb_uri, f"bench_{MAIN_STORE}")
    runs = {
        "projections rebuild": payments_cli("projections", "rebuild", "--store", store_url,
                                            "--mongodb-uri", uri),
        "audit verify": payments_cli("audit", "verify", "--json", "--store", store_url),
        "audit export": payments_cli("audit", "export", "--store", store_url,
                                     "--out", os.devnull),
    }  # fmt: skip
    for name, argv in runs.items():
        run = run_child(argv)
        level.add(Figure(f"{name}, events/s", events / run.seconds, read["per_second"],
                         "events/s", f"{events:,} events in {run.seconds:.1f} s",
                         "reading the log alone"))  # fmt: skip
        level.add(Figure(f"{name}, peak memory", run.max_rss_mb, None, "MB",
                         lower_is_better=True))  # fmt: skip


def webhook_figures(
    level: Level, store: str, store_url: str, service: effects.Service, ids: dict[str, list[str]],
    world: World, settled: int, *, apart: bool = False,
) -> int:  # fmt: skip
    """Returns how many distinct payments were paid."""
    workdir = world.workdir
    ceiling_ids = workdir / f"ceiling-{store}-{level.size}.txt"
    ceiling_ids.write_text("\n".join(ids["ceiling"]))
    load_save = ceiling("load-save", store_url, str(ceiling_ids), str(world.seconds))
    paid_ids = workdir / f"paid-{store}-{level.size}.txt"
    paid_ids.write_text("\n".join(f"s{n:07d}" for n in range(0, settled, max(1, settled // 5000))))
    load = ceiling("load", store_url, str(paid_ids), str(world.seconds))
    # Compact JSON, one line each (wrk_load reads one request a line), signed below.
    webhook_ids = ids["apart" if apart else "webhooks"]
    bodies = {order_id: compact(effects.paid_body(order_id)) for order_id in webhook_ids}

    def deliveries(order_ids: Iterable[str]) -> list[Request]:
        return [
            Request("POST", "/webhook", ("Stripe-Signature", sign(body, WEBHOOK_SECRET)), body)
            for body in (bodies[order_id] for order_id in order_ids)
        ]

    port = port_of(service)
    where = f"{store}, effects and projection in a worker" if apart else store
    prefix = webhook_ids[0].split("_", 1)[0] + "_"
    with profiled(world, service, f"webhooks-{store}{'-apart' if apart else ''}-{level.size}"):
        # The CPU of a paid webhook counts its effects and view update, done by the time
        # its order is confirmed; the redeliveries come after, on an idle service.
        cpu = service_cpu(service)
        distinct = run_wrk(port, deliveries(webhook_ids), world.seconds, world.connections,
                           once=True)  # fmt: skip
        paid = min(distinct.requests, len(webhook_ids))
        wait_settled(world, prefix, paid)
        distinct_cpu = (service_cpu(service) - cpu) / paid
        # Only those delivered: the 3 s seldom use up the list, and a first delivery among
        # the redeliveries would be a paid webhook with its effects.
        delivered = effects.stand_in_confirmed(world.stand_in_url, prefix)["arrivals"]
        cpu = service_cpu(service)
        again = run_wrk(port, deliveries(sorted(delivered)), world.seconds, world.connections)
        again_cpu = (service_cpu(service) - cpu) / again.requests
    level.add(Figure(f"webhook, distinct payments ({where})", distinct.per_second,
                     load_save["per_second"], "req/s", wrk_detail(distinct),
                     "eventsourcing load+save, in-process",
                     cpu_ms=1000 * distinct_cpu))  # fmt: skip
    level.add(Figure(f"webhook, redeliveries ({where})", again.per_second, load["per_second"],
                     "req/s", wrk_detail(again), "eventsourcing load, in-process",
                     cpu_ms=1000 * again_cpu))  # fmt: skip
    return paid


def startup_figure(level: Level, where: str, service: effects.Service) -> None:
    """The CPU a started service spends until it is idle (imports, then catching up with the
    log: the effects queue's feeder, the view, the reconciliation's first sweep), which must
    not grow with the store; the load figures are only measured once it is idle, so that this
    one-off work is not counted per operation."""
    cpu, idle = wait_until_idle(service)
    level.add(Figure(f"service start until idle, CPU seconds ({where})", cpu, None, "CPU s",
                     "" if idle else f"still busy after {STARTUP_LIMIT:.0f} s",
                     lower_is_better=True))  # fmt: skip
    effects.wait_for_quiet(40, 10)


def wait_until_idle(service: effects.Service) -> tuple[float, bool]:
    """(CPU seconds the service's processes used since they started, whether they went idle:
    under 3 % of a core over a second) within `STARTUP_LIMIT` seconds."""
    deadline = time.monotonic() + STARTUP_LIMIT
    used = service_cpu(service)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = service_cpu(service)
        if now - used < 0.03:
            return now, True
        used = now
    return used, False


def service_cpu(service: effects.Service) -> float:
    """CPU seconds the service's processes have used so far."""
    return sum(effects.process_cpu(process.pid) for process in service.processes.values())


@contextlib.contextmanager
def profiled(world: World, service: effects.Service, name: str) -> Iterator[None]:
    """py-spy on the service while the block runs (with --profile DIR): raw stacks, and
    their top frames as text beside them (bench/profile_summary.py)."""
    if world.profile is None:
        yield
        return
    from profile_summary import summary  # noqa: PLC0415

    world.profile.mkdir(parents=True, exist_ok=True)
    raw = world.profile / f"{name}.txt"
    py_spy = Path(sys.executable).with_name("py-spy")
    spy = subprocess.Popen(
        [str(py_spy), "record", *PY_SPY_MODE, "--pid", str(service.processes["serve"].pid),
         "--rate", "200", "--nonblocking", "--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        if raw.exists():
            (world.profile / f"{name}.top.txt").write_text(summary(raw) + "\n")


def compact(body: bytes) -> bytes:
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def wrk_detail(result: WrkResult) -> str:
    text = f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
    if result.non_2xx or result.socket_errors:
        text += f", {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
    if result.exhausted:
        text += ", ran out of distinct payments (a lower bound)"
    return text


def status_figures(level: Level, service: effects.Service, stores: Stores, world: World) -> None:
    rng = random.Random(level.size)
    sample = sorted(rng.sample(range(stores.settled), min(STATUS_SAMPLE, stores.settled)))
    ids = [f"s{n:07d}" for n in sample]
    token = jwt.encode({"userId": "user_1", "exp": int(time.time()) + 3600}, JWT_SECRET)
    requests = [
        Request("GET", f"/payments/status/{order_id}", ("Authorization", f"Bearer {token}"))
        for order_id in ids
    ]
    port = port_of(service)
    run_wrk(port, requests[:200], 1, world.connections)  # warm-up
    with profiled(world, service, f"status-{level.size}"):
        cpu = service_cpu(service)
        reads = run_wrk(port, requests, world.seconds, world.connections)
        reads_cpu = (service_cpu(service) - cpu) / reads.requests
    ids_file = world.workdir / f"status-{level.size}.txt"
    ids_file.write_text("\n".join(ids))
    uri = with_database(world.mongodb_uri, f"bench_{MAIN_STORE}")
    raw = ceiling("find-one", uri, str(ids_file), str(world.seconds), str(world.connections))
    level.add(Figure("status read (MongoDB view)", reads.per_second, raw["per_second"], "req/s",
                     wrk_detail(reads), f"raw find_one, p99 {raw['p99_ms']:.1f} ms",
                     cpu_ms=1000 * reads_cpu))  # fmt: skip
    framework_figures(level, service, world)


def framework_figures(level: Level, service: effects.Service, world: World) -> None:
    """`GET /health` of the service beside a bare Litestar endpoint on the same server, and
    that bare endpoint beside plain uvicorn (h11, asyncio: the server before issue 15).

    On two shared cores wrk and the server compete for them, so the CPU each request
    cost the server says more about the server than its rate does."""
    health = [Request("GET", "/health")]
    port = port_of(service)
    run_wrk(port, health, 1, world.connections)  # warm-up
    with profiled(world, service, f"health-{level.size}"):
        cpu = service_cpu(service)
        ours = run_wrk(port, health, world.seconds, world.connections)
        ours_cpu = (service_cpu(service) - cpu) / ours.requests
    bare, bare_cpu = {}, {}
    for kind in ("service", "plain"):
        with bare_server(kind, world.workdir) as (bare_port, pid):
            run_wrk(bare_port, health, 1, world.connections)
            cpu = effects.process_cpu(pid)
            bare[kind] = run_wrk(bare_port, health, world.seconds, world.connections)
            bare_cpu[kind] = (effects.process_cpu(pid) - cpu) / bare[kind].requests
    level.add(Figure("GET /health (the service's middleware and handler)", ours.per_second,
                     bare["service"].per_second, "req/s", wrk_detail(ours),
                     "a bare Litestar endpoint on the service's server",
                     cpu_ms=1000 * ours_cpu))  # fmt: skip
    level.add(Figure("bare Litestar endpoint on the service's server", bare["service"].per_second,
                     bare["plain"].per_second, "req/s",
                     f"{wrk_detail(bare['service'])}; CPU/request "
                     f"{bare_cpu['plain'] / bare_cpu['service']:.2f}x less than plain uvicorn's",
                     "the same on plain uvicorn (h11, asyncio); goal 2x",
                     cpu_ms=1000 * bare_cpu["service"]))  # fmt: skip


@contextlib.contextmanager
def bare_server(kind: str, workdir: Path) -> Iterator[tuple[int, int]]:
    """bench/bare_app.py as a process of its own on a free port."""
    port = effects.free_port()
    log = workdir / f"bare-{kind}-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, str(BARE_APP), str(port), kind],
                                   cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        effects.wait_for_health(f"http://127.0.0.1:{port}/health", process, "bare app", log)
        yield port, process.pid
    finally:
        effects.stop(process)


def create_session_figures(level: Level, service: effects.Service, world: World) -> None:
    effects.setup_stand_in(world.stand_in_url, 0.0, [])
    token = jwt.encode(
        {"userId": "user_1", "email": "buyer@example.com", "exp": int(time.time()) + 3600},
        JWT_SECRET,
    )
    tag = f"{level.size // 1000}k"
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}) as http:
        started = time.perf_counter()
        for index in range(CREATE_SESSIONS):
            reply = http.post("/payments/create-session", json={"orderId": f"cs{tag}_{index:05d}"})
            if reply.status_code != 200:
                raise SystemExit(f"create-session answered {reply.status_code}: {reply.text}")
        rate = CREATE_SESSIONS / (time.perf_counter() - started)
    direct = ceiling("create-session", world.stand_in_url, world.stripe_url, STRIPE_KEY, "100")
    level.add(Figure("create-session, one at a time", rate, direct["per_second"], "req/s",
                     "", "its two calls (order, Stripe session) alone"))  # fmt: skip
    effects.setup_stand_in(world.stand_in_url, world.delay_ms / 1000, [])


def lag_figures(level: Level, store_url: str, service: effects.Service, world: World) -> None:
    tag = f"{level.size // 1000}k"
    burst_ids = [f"lb{tag}_{i:05d}" for i in range(LAG_PAYMENTS)]
    half_ids = [f"lh{tag}_{i:05d}" for i in range(LAG_PAYMENTS)]
    warm_ids = [f"lw{tag}_{i:05d}" for i in range(effects.WARM_UP)]
    effects.open_payments(store_url, [*warm_ids, *burst_ids, *half_ids])
    port = port_of(service)
    floor = idle_lag_ms(port, warm_ids, world)
    sent = asyncio.run(effects.send_burst(port, burst_ids))
    effects.wait_confirmed(world.stand_in_url, f"lb{tag}_", LAG_PAYMENTS, 60)
    confirmed = effects.stand_in_confirmed(world.stand_in_url, f"lb{tag}_")
    burst = effects.summarise("max", burst_ids, None, sent, confirmed, None, {}, {})
    rate = max(1.0, burst.confirmations_per_second / 2)
    sent = asyncio.run(effects.send_paced(port, half_ids, rate))
    effects.wait_confirmed(world.stand_in_url, f"lh{tag}_", LAG_PAYMENTS, 60)
    confirmed = effects.stand_in_confirmed(world.stand_in_url, f"lh{tag}_")
    half = effects.summarise("half", half_ids, None, sent, confirmed, rate, {}, {})
    level.add(Figure("confirmations/s, burst", burst.confirmations_per_second,
                     1000 / world.delay_ms * 32, "/s", f"{LAG_PAYMENTS} paid at once",
                     "EFFECT_CONCURRENCY / call delay"))  # fmt: skip
    p50, p99 = half.lag_ms["p50"] or float("inf"), half.lag_ms["p99"] or float("inf")
    level.add(Figure("confirmation lag p50, half load", p50, floor, "ms",
                     f"sent at {rate:,.0f}/s; p99 {p99:,.0f} ms", "one payment at a time",
                     lower_is_better=True))  # fmt: skip


def idle_lag_ms(port: int, order_ids: list[str], world: World) -> float:
    """The lag with nothing else going on: one paid webhook, then its confirmation, and so on."""
    lags = []
    for order_id in order_ids:
        prefix = order_id
        sent = asyncio.run(effects.send_burst(port, [order_id]))
        effects.wait_confirmed(world.stand_in_url, prefix, 1, 30)
        arrival = effects.stand_in_confirmed(world.stand_in_url, prefix)["arrivals"][order_id]
        lags.append(arrival - sent.answered[order_id])
    return float(sorted(lags)[len(lags) // 2]) * 1000


def wait_settled(world: World, prefix: str, expected: int) -> None:
    effects.wait_confirmed(world.stand_in_url, prefix, expected, 120)


def measure_level(size: int, stores: Stores, world: World) -> Level:
    level = Level(size)
    print(f"\n{size:,} stored payments", flush=True)
    ids = grow(stores, size, world)
    main_url = stores.urls[MAIN_STORE]
    if not world.only_webhooks:
        offline_figures(level, stores.ledgers[MAIN_STORE], main_url, world)
    for store, url in stores.urls.items():
        if store != MAIN_STORE or world.only_webhooks:  # a view that is not measured
            view_uri = with_database(world.mongodb_uri, f"bench_{store}")
            mark_projected(stores.ledgers[store], view_uri)
        effects.setup_stand_in(world.stand_in_url, world.delay_ms / 1000, [])
        with running_service(world, store, url) as service:
            startup_figure(level, f"{store}, effects and projection in-process", service)
            webhook_figures(level, store, url, service, ids, world, stores.settled)
            if store == MAIN_STORE and not world.only_webhooks:
                wait_until_idle(service)  # the redeliveries' view updates, logs, collections
                status_figures(level, service, stores, world)
                create_session_figures(level, service, world)
                lag_figures(level, url, service, world)
            if store == MAIN_STORE and not world.only_webhooks:
                apart_figures(level, url, stores, ids, world)
    return level


def apart_figures(
    level: Level, url: str, stores: Stores, ids: dict[str, list[str]], world: World
) -> None:
    """Webhooks into `serve --http-only`, the background work in a `payments worker`."""
    with running_service(world, MAIN_STORE, url, apart=True) as service:
        startup_figure(level, f"{MAIN_STORE}, serve --http-only and a worker", service)
        webhook_figures(level, MAIN_STORE, url, service, ids, world, stores.settled, apart=True)


# -- report -------------------------------------------------------------------------------------


def table(levels: list[Level]) -> str:
    names = list(dict.fromkeys(name for level in levels for name in level.figures))
    head = ["figure"]
    for level in levels:
        head += [f"{level.size // 1000:,}k", "ceiling", "ratio"]
    if len(levels) > 1:
        sizes = f"{levels[-1].size // 1000:,}k/{levels[0].size // 1000:,}k"
        head += [f"cost {sizes}", f"CPU/op {sizes}"]
    rows = [head]
    for name in names:
        row = [name]
        for level in levels:
            figure = level.figures.get(name)
            if figure is None:
                row += ["", "", ""]
                continue
            row += [
                f"{figure.value:,.1f} {figure.unit}",
                f"{figure.ceiling:,.1f}" if figure.ceiling else "",
                f"{figure.ratio:.2f}" if figure.ratio is not None else "",
            ]
        first, last = levels[0].figures.get(name), levels[-1].figures.get(name)
        if len(levels) > 1:
            row.append(f"{last.cost / first.cost:.2f}x" if first and last else "")
            before, after = (f.cpu_ms if f else None for f in (first, last))
            row.append(f"{after / before:.2f}x" if before and after else "")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor())  # fmt: skip
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def versions() -> dict[str, str]:
    names = ("eventsourcing", "litestar", "uvicorn", "granian", "uvloop", "httptools", "msgspec",
             "psycopg", "pymongo", "SecantusDB", "stripe", "aiohttp")  # fmt: skip
    found = {}
    for name in names:
        with contextlib.suppress(Exception):
            found[name] = version(name)
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc"]
    postgres = subprocess.run([*psql, "SHOW server_version"], capture_output=True, text=True,
                              check=False)  # fmt: skip
    found["postgresql"] = postgres.stdout.strip()
    found["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                                  check=False).stdout.split(" [")[0]  # fmt: skip
    return found


def save(levels: list[Level], args: argparse.Namespace, started: datetime, text: str) -> Path:
    data = {
        "date": started.isoformat(timespec="seconds"),
        "minutes": round((datetime.now(UTC) - started).total_seconds() / 60, 1),
        "code": effects.code_version(REPO_ROOT),
        "machine": machine(),
        "versions": versions(),
        "config": {
            "sizes": [level.size for level in levels],
            "seconds_per_load": args.seconds,
            "connections": args.connections,
            "wrk_threads": 2,
            "stand_in_delay_ms": args.delay_ms,
            "server": args.server or "service default",
            "stores": args.stores.split(","),
            "offline_and_reads_on": MAIN_STORE,
        },
        "levels": [
            {
                "size": level.size,
                "figures": {n: {**asdict(f), "ratio": f.ratio} for n, f in level.figures.items()},
            }
            for level in levels
        ],
        "table": text,
    }
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help="also 1M stored payments")
    parser.add_argument("--sizes", help="comma-separated store sizes (default 10000,100000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="each wrk load (default 3)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, default=25.0, help="stand-in's per-call delay")
    parser.add_argument("--server", choices=("uvicorn", "granian"), help="default: the service's")
    parser.add_argument("--profile", type=Path, help="py-spy on the service under load, into DIR")
    parser.add_argument(
        "--only-webhooks", action="store_true", help="webhook figures alone (quicker, for trials)"
    )
    parser.add_argument("--stores", default=",".join(STORES), help="webhooks on (sqlite,postgres)")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help=f"default {RESULTS.name}; trials elsewhere, so the committed full run stays",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not wrk_available():
        raise SystemExit("bench/run.py needs wrk: apt-get install -y wrk")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        list(FULL_SIZES) if args.full else list(DEFAULT_SIZES))  # fmt: skip
    started = datetime.now(UTC)
    info = machine()
    print(f"{info['platform']}, {info['nproc']} cores ({info['cpu']}), Python {info['python']}, "
          f"load average {info['load_average_at_start']}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        mongodb_uri, mongo = start_secantus(workdir / "secantus")
        stack.callback(stop_secantus, mongo)
        sandbox = RunningStripeSandbox(
            StripeSandboxOptions(deliver=False, api_key=STRIPE_KEY), workdir / "stripe.log"
        ).start()
        stack.callback(sandbox.close)
        stand_in_url, stand_in_pid = stack.enter_context(effects.stand_in_process(workdir))
        world = World(workdir, mongodb_uri, sandbox.url, stand_in_url, stand_in_pid,
                      args.delay_ms, args.connections, args.seconds, args.server,
                      args.profile.resolve() if args.profile else None,
                      args.only_webhooks)  # fmt: skip
        urls = {"sqlite": f"sqlite:///{workdir / 'payments.db'}"}
        if "postgres" in args.stores.split(","):
            urls["postgres"] = fresh_postgres_url()
            stack.callback(drop_postgres_schema, urls["postgres"])
        stores = Stores(urls, {name: open_ledger(url) for name, url in urls.items()})
        stack.callback(stores.close)
        levels = [measure_level(size, stores, world) for size in sizes]
    text = table(levels)
    print()
    print(text)
    out = save(levels, args, started, text)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
