"""HTML of the hosted checkout: payment form, 3-D Secure challenge, inactive notice.

Plain server-rendered forms with stable ids (`#card_number`, `#email`, `#pay`,
`#approve`, `#fail`, `#cancel`, `#error`) so a headless browser can drive them.
"""

from __future__ import annotations

from html import escape
from typing import Any

_ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}

_STYLE = """body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;color:#222}
table{width:100%;border-collapse:collapse}td{padding:.3rem 0}.num{text-align:right}
.total{font-weight:bold;border-top:1px solid #ccc}.error{color:#b00;background:#fee;padding:.5rem}
label{display:block;margin-top:.8rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem}.note{color:#666;font-size:.85rem}"""


def money(amount: int, currency: str) -> str:
    if currency in _ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
        f"</title><style>{_STYLE}</style></head><body><p class=note>Stripe sandbox — test "
        f"mode</p>{body}</body></html>"
    )


def _items_table(session: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr class=item><td>{escape(item['description'])} &times; {item['quantity']}</td>"
        f"<td class=num>{money(item['amount_total'], item['currency'])}</td></tr>"
        for item in session["_line_items"]
    )
    total = money(session["amount_total"], session["currency"])
    return (
        f"<table id=line_items>{rows}<tr class=total><td>Total</td>"
        f"<td class=num id=total>{total}</td></tr></table>"
    )


def checkout_page(session: dict[str, Any], error: str | None = None) -> str:
    error_html = f"<p class=error id=error role=alert>{escape(error)}</p>" if error else ""
    email = escape(session["customer_email"] or "")
    cancel = (
        f'<p><a id=cancel href="{escape(session["cancel_url"])}">Cancel and go back</a></p>'
        if session["cancel_url"]
        else ""
    )
    form = (
        f'<form id=payment_form method=post action="/c/pay/{escape(session["id"])}">'
        f'<label for=email>Email</label><input id=email name=email type=email value="{email}">'
        "<label for=card_number>Card number</label><input id=card_number name=card_number "
        'inputmode=numeric autocomplete=cc-number placeholder="4242 4242 4242 4242" required>'
        f"<button id=pay type=submit>Pay {money(session['amount_total'], session['currency'])}"
        "</button></form>"
        "<p class=note>4242 4242 4242 4242 pays · 4000 0000 0000 0002 is declined · "
        "4000 0027 6000 3184 asks for authentication</p>"
    )
    return _page("Checkout", f"<h1>Checkout</h1>{_items_table(session)}{error_html}{form}{cancel}")


def authentication_page(session: dict[str, Any]) -> str:
    action = f"/c/pay/{escape(session['id'])}/authenticate"
    total = money(session["amount_total"], session["currency"])
    body = (
        f"<h1>Authenticate your payment</h1><p>Simulated 3-D Secure challenge for {total}.</p>"
        f'<form method=post action="{action}">'
        "<button id=approve name=action value=approve type=submit>Complete authentication"
        "</button> <button id=fail name=action value=fail type=submit>Fail authentication"
        "</button></form>"
    )
    return _page("Authentication", body)


def inactive_page(message: str) -> str:
    return _page(
        "Checkout unavailable", f"<h1>Checkout unavailable</h1><p id=inactive>{escape(message)}</p>"
    )
