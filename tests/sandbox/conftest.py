"""Fixtures of the sandbox suite: a webhook receiver and SDK clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as receiver:
        yield receiver


@pytest.fixture
def client(stripe_sandbox: RunningStripeSandbox) -> stripe.StripeClient:
    return stripe_sandbox.client()
