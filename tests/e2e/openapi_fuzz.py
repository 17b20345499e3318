"""Schemathesis against a running `payments serve` and its own OpenAPI document.

For every operation of `/schema/openapi.json`, Hypothesis generates requests
that fit the document (positive) and requests that do not (negative), from a
fixed seed. Each generated case is sent several ways: with the owner's JWT, an
admin's, a forged one, an expired one and none (routes that take a JWT); signed,
unsigned and forged (the webhook); and again with the order id of a real order, the
caller's or someone else's, or a Stripe event type the service handles. Every
answer must be no 5xx and inside the document: a declared status, its content
type, its body schema; a request the document forbids must be refused with a 4xx.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case as GeneratedCase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.schemas import APIOperation as SchemaOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from application.stripe_events import HANDLED_EVENTS
from tests.stripe_payloads import sign

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
HANDLED_EVENT_TYPES = tuple(sorted(HANDLED_EVENTS))  # refunds and disputes too (issue 12)
Headers = dict[str, str]
GENUINE_CALLERS = frozenset({"owner", "admin"})
Case = GeneratedCase[Any]
APIOperation = SchemaOperation[Any, Any, Any, Any]


@dataclass
class Target:
    """The running service and what a fuzzer needs to speak to it as a real caller."""

    base_url: str
    jwt_secret: str
    webhook_secret: str
    owner_id: str
    real_order_ids: list[str]  # the owner's, in several states, and someone else's

    def token(self, secret: str | None = None, expires_in: int = 3600, role: str = "") -> str:
        claims: dict[str, Any] = {"userId": self.owner_id, "email": "fuzz@example.com"}
        if role:
            claims["role"] = role
        claims["exp"] = int(time.time()) + expires_in
        return jwt.encode(claims, secret or self.jwt_secret, algorithm="HS256")

    def callers(self) -> dict[str, Headers]:
        return {
            "owner": {"Authorization": f"Bearer {self.token()}"},
            # An admin reaches what the owner cannot: any order's status, and refunds.
            "admin": {"Authorization": f"Bearer {self.token(role='admin')}"},
            "forged JWT": {"Authorization": f"Bearer {self.token('not-the-secret-' * 3)}"},
            "expired JWT": {"Authorization": f"Bearer {self.token(expires_in=-60)}"},
            "no JWT": {},
        }


@dataclass
class Tally:
    """What a run did; written to the reliability report."""

    cases: int = 0
    requests: int = 0
    bad_inputs: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "requests": self.requests,
            "badInputs": self.bad_inputs,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "serverErrors": sum(n for code, n in self.statuses.items() if code >= 500),
            "failures": len(self.failures),
        }


@dataclass
class Variant:
    """One way to send a generated case: who calls, and what is swapped in first.

    `headers=None` sends the case's own headers: a negative case whose headers are
    the broken part (a missing or malformed Authorization) goes as generated."""

    label: str
    headers: Headers | None
    bad_input: bool
    change: Callable[[Case], None] = lambda _: None
    sign_with: str | None = None


def operations(schema: Any) -> Iterator[APIOperation]:
    for result in schema.get_all_operations():
        yield result.ok()


def is_secured(operation: APIOperation) -> bool:
    return bool(operation.definition.raw.get("security", [{}]) != [])


def negative_parts(case: Case) -> set[ParameterLocation]:
    if case.meta is None:
        return set()
    return {where for where, info in case.meta.components.items() if info.mode.is_negative}


def variants(operation: APIOperation, case: Case, target: Target, n: int) -> list[Variant]:
    """The ways to send `case`; only a case valid as generated gets real ids swapped in
    (a swap could mend what a negative case broke)."""
    broken = negative_parts(case)
    public = not is_secured(operation) and not is_webhook(operation)
    if public or ParameterLocation.HEADER in broken:
        return [Variant("as generated", None, bool(broken))]
    if is_webhook(operation):
        return webhook_variants(case, target, n, bool(broken))
    callers = target.callers()
    found = [
        Variant(name, headers, bool(broken) or name not in GENUINE_CALLERS)
        for name, headers in callers.items()
    ]
    real_id = target.real_order_ids[n % len(target.real_order_ids)]
    if broken:
        return found
    if "orderId" in (case.path_parameters or {}):
        found.append(
            Variant(
                "owner, a real order id", callers["owner"], False,
                change=lambda c: c.path_parameters.update(orderId=real_id),
            )
        )  # fmt: skip
    elif isinstance(case.body, dict):
        caller = "admin" if operation.path.endswith("/refunds") else "owner"
        found.append(
            Variant(
                f"{caller}, a real order id", callers[caller], False,
                change=lambda c: body_of(c).update(orderId=real_id),
            )
        )  # fmt: skip
    return found


def body_of(case: Case) -> dict[str, Any]:
    """A JSON object body, which the variants that swap a field in were made for."""
    assert isinstance(case.body, dict), case.body
    return case.body


def is_webhook(operation: APIOperation) -> bool:
    return operation.path.endswith("/webhook")


def webhook_variants(case: Case, target: Target, n: int, broken: bool) -> list[Variant]:
    found = [
        Variant("signed", {}, broken, sign_with=target.webhook_secret),
        Variant("unsigned", {}, True),
        Variant("forged signature", {}, True, sign_with="whsec_forged"),
    ]
    if not broken and isinstance(case.body, dict):
        real_type = HANDLED_EVENT_TYPES[n % len(HANDLED_EVENT_TYPES)]
        found.append(
            Variant(
                f"signed, type {real_type}", {}, False,
                change=lambda c: body_of(c).update(type=real_type),
                sign_with=target.webhook_secret,
            )
        )  # fmt: skip
    return found


def send(
    session: requests.Session, case: Case, variant: Variant, target: Target
) -> requests.Response:
    variant.change(case)
    kwargs = case.as_transport_kwargs(base_url=target.base_url)
    headers = dict(kwargs.pop("headers", {}))
    if variant.headers is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers.update(variant.headers)
    if variant.sign_with is not None or "stripe-signature" in {k.lower() for k in headers}:
        raw = kwargs.pop("data", None)
        if "json" in kwargs:
            raw = json.dumps(kwargs.pop("json")).encode()
        raw = raw if isinstance(raw, bytes) else str(raw or "").encode()
        kwargs["data"] = raw
    if variant.headers is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "stripe-signature"}
        if variant.sign_with is not None:
            headers["Stripe-Signature"] = sign(kwargs["data"], variant.sign_with)
    return session.request(headers=headers, timeout=30, allow_redirects=False, **kwargs)


def exercise_operation(
    operation: APIOperation,
    mode: GenerationMode,
    target: Target,
    tally: Tally,
    examples: int,
    run_seed: int,
) -> None:
    counter = itertools.count()
    session = requests.Session()

    @seed(run_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Case) -> None:
        n = next(counter)
        tally.cases += 1
        for variant in variants(operation, case, target, n):
            response = send(session, case, variant, target)
            tally.requests += 1
            tally.bad_inputs += variant.bad_input
            tally.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (FailureGroup, AssertionError) as failure:  # collected, reported at the end
                tally.failures.append(f"{operation.label} [{mode}] {variant.label}: {failure}")

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to break: /health has no parameter or body to make invalid
    finally:
        session.close()


def exercise(target: Target, examples: int, run_seed: int) -> Tally:
    """Every operation, positive then negative, `examples` generated cases each."""
    schema = schemathesis.openapi.from_url(f"{target.base_url}/schema/openapi.json")
    tally = Tally()
    for operation in operations(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise_operation(operation, mode, target, tally, examples, run_seed)
    return tally
