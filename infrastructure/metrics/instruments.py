"""The instruments the service updates as it works, in one registry per process.

Names follow Prometheus's conventions (`payments_` prefix, counters end in `_total`,
durations in seconds). Every label has a small, fixed set of values: effect and
Stripe operation names, outcomes, error class names, event types from Stripe's
catalogue; never an order, session or event id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from domain.effects import (
    CancelOrder,
    CloseCheckout,
    ConfirmOrder,
    Effect,
    IssueRefund,
    RefundPayment,
    ReleaseStock,
)

# Calls to a neighbour or to Stripe: tens of milliseconds when well, seconds when not.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HTTP_LABELS = ("method", "path", "status_code", "app_name")
# Who is called for each effect, and the effect's name as a label value.
EFFECTS: dict[type[Effect], tuple[str, str]] = {
    ConfirmOrder: ("order", "confirm_order"),
    CancelOrder: ("order", "cancel_order"),
    ReleaseStock: ("inventory", "release_stock"),
    CloseCheckout: ("stripe", "close_checkout"),
    RefundPayment: ("stripe", "refund"),
    IssueRefund: ("stripe", "issue_refund"),
}


class HttpRequestMetrics:
    """What the HTTP middleware counts (the label set of Litestar's Prometheus plugin)."""

    def __init__(self, registry: CollectorRegistry, prefix: str = "payments_http") -> None:
        self.requests = Counter(
            f"{prefix}_requests", "HTTP requests answered", HTTP_LABELS, registry=registry
        )
        self.errors = Counter(
            f"{prefix}_requests_error", "HTTP requests answered 5xx", HTTP_LABELS, registry=registry
        )
        self.duration = Histogram(
            f"{prefix}_request_duration_seconds",
            "HTTP request duration, until the last byte of the answer",
            HTTP_LABELS,
            registry=registry,
        )
        self.in_progress = Gauge(
            f"{prefix}_requests_in_progress",
            "HTTP requests being served now",
            HTTP_LABELS,
            registry=registry,
        )


class ServiceMetrics:
    """The service's instruments; the effects meter and the Stripe call meter of the adapters."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.http = HttpRequestMetrics(self.registry)
        self._webhook_events = Counter(
            "payments_webhook_events",
            "Stripe webhook deliveries by event type and outcome "
            "(recorded, duplicate, no_change, ignored, rejected, failed)",
            ("type", "outcome"),
            registry=self.registry,
        )
        self._effect_calls = Counter(
            "payments_effect_calls",
            "Effect calls to the neighbours and Stripe by outcome (done, refused, failed)",
            ("neighbour", "effect", "outcome"),
            registry=self.registry,
        )
        self._effect_seconds = Histogram(
            "payments_effect_call_duration_seconds",
            "Effect call duration, whatever the outcome",
            ("neighbour", "effect"),
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self._stripe_seconds = Histogram(
            "payments_stripe_call_duration_seconds",
            "Stripe API call duration (with the SDK's own retries), whatever the outcome",
            ("operation",),
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self._stripe_errors = Counter(
            "payments_stripe_call_errors",
            "Stripe API calls that failed, by the SDK's error class",
            ("operation", "error"),
            registry=self.registry,
        )

    def webhook_event(self, event_type: str, outcome: str) -> None:
        self._webhook_events.labels(event_type, outcome).inc()

    def effect_called(self, effect: Effect, outcome: str, seconds: float) -> None:
        """`EffectMeter` of `SettlePayment`."""
        neighbour, name = EFFECTS.get(type(effect), ("unknown", type(effect).__name__))
        self._effect_calls.labels(neighbour, name, outcome).inc()
        self._effect_seconds.labels(neighbour, name).observe(seconds)

    def stripe_call(self, operation: str, seconds: float, error: str | None) -> None:
        """`StripeCallMeter` of `StripeCheckoutGateway`."""
        self._stripe_seconds.labels(operation).observe(seconds)
        if error is not None:
            self._stripe_errors.labels(operation, error).inc()
