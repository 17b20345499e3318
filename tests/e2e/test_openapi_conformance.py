"""Standing program 1 (issue 13): Schemathesis against the running service's own document.

A real `payments serve` on the reference shop and the Stripe sandbox; every
operation of `/schema/openapi.json` fuzzed from a fixed seed, positive and
negative, with good, forged, expired and missing JWTs, signed, unsigned and
forged webhooks (tests/e2e/openapi_fuzz.py). No answer may be a 5xx or outside
the document.

Bounded for the suite; a longer run, another seed (README, "Reliability"):
`SCHEMATHESIS_EXAMPLES=500 SCHEMATHESIS_SEED=7 .venv/bin/python -m pytest \
tests/e2e/test_openapi_conformance.py`.
With `RELIABILITY_RESULTS=<dir>`, the run's figures are written there as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.openapi_fuzz import Target, exercise
from tests.e2e.payment_processes import WEBHOOK_SECRET, service_env, start_service
from tests.fixtures.shop import CABLE, KEYBOARD, OTHER_USER, TEST_USER, USER_IDS, RunningShop
from tests.fixtures.stripe_sandbox import StripeSandboxFactory

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261127"))


def test_every_answer_is_no_5xx_and_inside_the_document(
    shop: RunningShop, stripe_sandbox_factory: StripeSandboxFactory, tmp_path: Path
) -> None:
    sandbox = stripe_sandbox_factory(deliver=False)
    env = service_env(
        shop,
        f"sqlite:///{tmp_path / 'payments.db'}",
        STRIPE_API_BASE=sandbox.url,
        STRIPE_SECRET_KEY=sandbox.api_key,
        CREATE_SESSION_RATE_LIMIT="1000",
    )
    service = start_service(env, tmp_path / "serve.log")
    try:
        owner = shop.login()
        pending = shop.create_order(owner, [(KEYBOARD, 1)])["_id"]
        initiated = shop.create_order(owner, [(CABLE, 2)])["_id"]
        theirs = shop.create_order(shop.login(OTHER_USER), [(CABLE, 1)])["_id"]
        target = Target(
            base_url=service.url,
            jwt_secret=shop.jwt_secret,
            webhook_secret=WEBHOOK_SECRET,
            owner_id=USER_IDS[TEST_USER],
            real_order_ids=[pending, initiated, theirs],
        )
        opened = httpx.post(
            f"{service.url}/payments/create-session",
            json={"orderId": initiated},
            headers=target.callers()["owner"],
        )
        assert opened.status_code == 200, opened.text

        tally = exercise(target, EXAMPLES, SEED)
    finally:
        service.stop()

    if results := os.environ.get("RELIABILITY_RESULTS"):
        figures = {**tally.as_dict(), "examplesPerOperation": EXAMPLES, "seed": SEED}
        Path(results).mkdir(parents=True, exist_ok=True)
        (Path(results) / "openapi_fuzz.json").write_text(json.dumps(figures, indent=2))
    assert not tally.failures, "\n\n".join(tally.failures[:10])
    assert tally.as_dict()["serverErrors"] == 0
    assert tally.cases >= EXAMPLES  # the run generated something
