"""The gateway forwards /payments/* to the payment service with the prefix stripped."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fixtures.shop import ShopFactory, free_port


class EchoUpstream(BaseHTTPRequestHandler):
    """A stand-in payment service: answers 418 with what it received, as JSON."""

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        answer = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("latin-1"),
        }).encode()  # fmt: skip
        self.send_response(418)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "stub")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PATCH = do_DELETE = _echo

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoUpstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_reach_the_service_without_the_prefix_and_untouched(
    shop_factory: ShopFactory, upstream: str
) -> None:
    shop = shop_factory(payment_service_url=upstream)
    raw = b'{"id":  "evt_1",\n "type": "checkout.session.completed"}'  # spacing matters for HMACs

    response = shop.http.post(
        "/payments/webhook?source=stripe&x=1",
        content=raw,
        headers={
            "Stripe-Signature": "t=1,v1=abc", "Authorization": "Bearer jwt-here",
            "Content-Type": "application/json",
        },
    )  # fmt: skip

    assert response.status_code == 418
    assert response.headers["X-Upstream"] == "stub"
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/webhook?source=stripe&x=1"
    assert echoed["body"].encode("latin-1") == raw
    assert echoed["headers"]["stripe-signature"] == "t=1,v1=abc"
    assert echoed["headers"]["authorization"] == "Bearer jwt-here"


def test_other_methods_and_nested_paths_are_forwarded(
    shop_factory: ShopFactory, upstream: str
) -> None:
    shop = shop_factory(payment_service_url=upstream)

    got = shop.http.get("/payments/status/64a000000000000000000001").json()
    patched = shop.http.patch("/payments/x/y", content=b"abc").json()

    assert (got["method"], got["path"]) == ("GET", "/status/64a000000000000000000001")
    assert (patched["method"], patched["path"], patched["body"]) == ("PATCH", "/x/y", "abc")


def test_an_admins_refund_reaches_the_service_with_its_idempotency_key(
    shop_factory: ShopFactory, upstream: str
) -> None:
    shop = shop_factory(payment_service_url=upstream)
    body = b'{"orderId": "64c000000000000000000001", "amount": 99.99}'

    response = shop.http.post(
        "/payments/refunds",
        content=body,
        headers={
            "Authorization": "Bearer admin-jwt", "Idempotency-Key": "refund-7f3a",
            "Content-Type": "application/json",
        },
    )  # fmt: skip

    echoed = response.json()
    assert (echoed["method"], echoed["path"]) == ("POST", "/refunds")
    assert echoed["headers"]["idempotency-key"] == "refund-7f3a"
    assert echoed["headers"]["authorization"] == "Bearer admin-jwt"
    assert echoed["body"].encode("latin-1") == body


def test_an_unreachable_service_is_a_502(shop_factory: ShopFactory) -> None:
    shop = shop_factory(payment_service_url=f"http://127.0.0.1:{free_port()}")

    response = shop.http.post("/payments/create-session", json={"orderId": "x"})

    assert response.status_code == 502
    assert response.json() == {"error": "Payment service unavailable"}
