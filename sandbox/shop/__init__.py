"""Reference shop: the auth, inventory and order services (plus the API gateway)
that the payment service talks to, small but real, over HTTP.

A development and test tool only; the payment service never imports it.
Run it with `payments sandbox shop` or `python -m sandbox.shop`.
"""
