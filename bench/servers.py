"""ASGI servers on the service's real endpoints, with wrk (ADR 0005): one table of req/s.

Run: .venv/bin/python bench/servers.py [--rounds 2] [--seconds 3] [--before PATH]

Each variant is `payments serve` on the same seeded SQLite store (2,000 paid payments,
their MongoDB view built by `projections rebuild`), as production runs it (effect
workers, projection), measured in alternating order over `--rounds`: `GET /health`
(the framework alone), `GET /payments/status/{id}` with a JWT (MongoDB view), and a
signed webhook redelivered (verify, decode, load). Variants: uvicorn with its httptools
protocol on uvloop (the default), granian, and with `--before PATH` (a checkout of an
older commit, e.g. `git worktree add /tmp/before 9194ab2`) that code's uvicorn (h11).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import effects_throughput as effects
import jwt
from run import JWT_SECRET, WEBHOOK_SECRET, compact
from seed_payments import mark_followed, seed
from wrk_load import Request, run_wrk

from infrastructure.event_store.store import open_ledger
from tests.fixtures.mongo import start_secantus, stop_secantus, with_database
from tests.stripe_payloads import sign

REPO_ROOT = Path(__file__).resolve().parent.parent
PAYMENTS = 2_000


def start(root: Path, server: str, env: dict[str, str], log: Path) -> effects.Service:
    port = effects.free_port()
    argv = [sys.executable, "-m", "interfaces.cli.main", "serve", "--host", "127.0.0.1"]
    argv += ["--server", server, "--env-file", str(log.parent / "none")]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=root,
            env={**env, "PORT": str(port), "PYTHONPATH": str(root)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = effects.Service({"serve": process}, {"serve": log}, f"http://127.0.0.1:{port}")
    effects.wait_for_health(f"{service.url}/health", process, server, log)
    return service


def requests() -> dict[str, list[Request]]:
    token = jwt.encode({"userId": "user_1", "exp": int(time.time()) + 3600}, JWT_SECRET)
    ids = [f"s{n:07d}" for n in range(0, PAYMENTS, 7)]
    body = compact(effects.paid_body("s0000001"))
    return {
        "GET /health": [Request("GET", "/health")],
        "GET /payments/status (JWT)": [
            Request("GET", f"/payments/status/{i}", ("Authorization", f"Bearer {token}"))
            for i in ids
        ],
        "POST /webhook (redelivery)": [
            Request("POST", "/webhook", ("Stripe-Signature", sign(body, WEBHOOK_SECRET)), body)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--before", type=Path, help="an older checkout: its uvicorn (h11)")
    args = parser.parse_args()
    variants = {"uvicorn (httptools, uvloop)": (REPO_ROOT, "uvicorn"),
                "granian": (REPO_ROOT, "granian")}  # fmt: skip
    if args.before:
        variants["uvicorn before (h11)"] = (args.before.resolve(), "uvicorn")
    rates: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp, contextlib.ExitStack() as st:
        workdir = Path(tmp)
        mongodb_uri, mongo = start_secantus(workdir / "secantus")
        st.callback(stop_secantus, mongo)
        store = f"sqlite:///{workdir / 'payments.db'}"
        uri = with_database(mongodb_uri, "bench_servers")
        with open_ledger(store) as ledger:
            seed([ledger], [f"s{n:07d}" for n in range(PAYMENTS)], settled=True)
            mark_followed(ledger)
        subprocess.run([sys.executable, "-m", "interfaces.cli.main", "projections", "rebuild",
                        "--store", store, "--mongodb-uri", uri], cwd=REPO_ROOT, check=True,
                       capture_output=True)  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MONGODB_"))}
        env.update(JWT_SECRET=JWT_SECRET, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                   EVENT_STORE_URL=store, MONGODB_URI=uri, LOG_LEVEL="INFO")  # fmt: skip
        for index in range(args.rounds):
            order = list(variants) if index % 2 == 0 else list(reversed(variants))
            for name in order:
                root, server = variants[name]
                service = start(root, server, env, workdir / f"{server}-{index}.log")
                try:
                    port = int(service.url.rsplit(":", 1)[1])
                    for endpoint, batch in requests().items():
                        run_wrk(port, batch, 1, args.connections)  # warm-up
                        result = run_wrk(port, batch, args.seconds, args.connections)
                        rates[name].setdefault(endpoint, []).append(result.per_second)
                        print(f"  round {index + 1} {name:28} {endpoint:28} "
                              f"{result.per_second:8.0f} req/s  p99 {result.p99_ms:.1f} ms",
                              flush=True)  # fmt: skip
                finally:
                    service.stop()
    print(json.dumps({n: {e: statistics.median(v) for e, v in r.items()} for n, r in rates.items()},
                     indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
