"""The seed's end-to-end test, three ways, through the gateway like a client.

login → POST /orders → POST /payments/create-session → pay on the hosted page
→ the order and the payment reach their final state, and stock follows.

The flows share one `payments dev` (see conftest), so none may depend on another
having run, or not: each checks its own order's effects as the shop saw them
(never the product's global stock, which other flows' orders also move), and the
order left open by the last test is of a product no flow measures, since advancing
the Stripe clock expires every open session, not only the expiry flow's.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.running_dev import RunningDev, eventually

pytestmark = pytest.mark.e2e

HEADPHONES = "64a000000000000000000001"
KEYBOARD = "64a000000000000000000002"
CABLE = "64a000000000000000000003"
LIMITED_PRINT = "64a000000000000000000004"  # no flow measures it: see the last test
DECLINED_CARD = "4000000000000002"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TWO_DAYS = 2 * 24 * 3600.0  # past any session's expires_at (at most 24 h)


def pay_in_browser(checkout_url: str, card_number: str, back_to: str) -> str:
    """Type the card into the hosted page in headless Chromium; the URL it lands on."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(checkout_url)
            page.fill("#card_number", card_number)
            page.click("#pay")
            page.wait_for_url(lambda url: url.startswith(back_to), timeout=30_000)
            return page.url
        finally:
            browser.close()


def final_payment(dev: RunningDev, auth: dict[str, str], order_id: str) -> dict[str, object]:
    return eventually(
        lambda: dev.payment(auth, order_id), lambda p: p["status"] in {"SUCCESS", "FAILED"}
    )


def final_order_status(dev: RunningDev, auth: dict[str, str], order_id: str) -> str:
    return eventually(
        lambda: dev.order_status(auth, order_id), lambda s: s in {"CONFIRMED", "CANCELLED"}
    )


def order_effects(dev: RunningDev, order_id: str) -> tuple[int, int, dict[str, int]]:
    """(times confirmed, times cancelled, units released per product), as the shop saw them."""
    effects = dev.effects(order_id)
    return effects["confirmed"], effects["cancelled"], effects["released"]


def test_paid_in_the_browser_confirms_the_order_and_keeps_the_stock(dev: RunningDev) -> None:
    auth = dev.login()
    order = dev.place_order(auth, HEADPHONES, 2)
    session = dev.create_session(auth, order["_id"])
    assert dev.payment(auth, order["_id"])["status"] == "INITIATED"

    landed = pay_in_browser(session["checkoutUrl"], "4242 4242 4242 4242", dev.frontend_url)

    assert session["sessionId"] in landed
    assert final_order_status(dev, auth, order["_id"]) == "CONFIRMED"
    payment = final_payment(dev, auth, order["_id"])
    assert payment["status"] == "SUCCESS"
    assert payment["amount"] == 199.98
    assert payment["currency"] == "usd"
    assert order_effects(dev, order["_id"]) == (1, 0, {})  # the reserved units stay sold


def test_declined_card_cancels_the_order_and_releases_the_stock_once(dev: RunningDev) -> None:
    auth = dev.login()
    order = dev.place_order(auth, KEYBOARD, 3)
    session = dev.create_session(auth, order["_id"])

    page = httpx.post(session["checkoutUrl"], data={"card_number": DECLINED_CARD})

    assert page.status_code == 402  # the hosted page shows the decline
    assert final_order_status(dev, auth, order["_id"]) == "CANCELLED"
    assert final_payment(dev, auth, order["_id"])["status"] == "FAILED"
    released = eventually(lambda: order_effects(dev, order["_id"]), lambda e: e[2] != {})
    assert released == (0, 1, {KEYBOARD: 3})  # the 3 units given back, once
    paying_anyway = httpx.post(session["checkoutUrl"], data={"card_number": "4242424242424242"})
    assert paying_anyway.status_code != 303  # the session was closed before cancelling


def test_expired_session_cancels_the_order_and_releases_the_stock_once(dev: RunningDev) -> None:
    auth = dev.login("otheruser@example.com")
    order = dev.place_order(auth, CABLE, 5)
    session = dev.create_session(auth, order["_id"])

    expired = dev.advance_stripe_clock(TWO_DAYS)

    assert expired["expired_sessions"] >= 1
    assert httpx.get(session["checkoutUrl"]).status_code == 410  # no longer payable
    assert final_order_status(dev, auth, order["_id"]) == "CANCELLED"
    assert final_payment(dev, auth, order["_id"])["status"] == "FAILED"
    released = eventually(lambda: order_effects(dev, order["_id"]), lambda e: e[2] != {})
    assert released == (0, 1, {CABLE: 5})  # the 5 units given back, once


def test_someone_elses_payment_is_not_found(dev: RunningDev) -> None:
    owner = dev.login()
    # Its session stays open: whichever flow advances the Stripe clock later expires it
    # and releases the unit, so it is of a product no flow looks at.
    order = dev.place_order(owner, LIMITED_PRINT, 1)
    dev.create_session(owner, order["_id"])

    stranger = dev.login("otheruser@example.com")
    response = dev.gateway.get(f"/payments/status/{order['_id']}", headers=stranger)

    assert response.status_code == 404
    assert response.json() == {"error": "Order not found"}
