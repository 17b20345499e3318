"""Reference shop: the auth, inventory and order services (plus the API gateway)
that the payment service talks to, small but real, over HTTP.

A development and test tool only; the payment service never imports it.
Run it with `payments sandbox shop` or `python -m sandbox.shop` (`--help`).

Routes (one process, port 3000 by default):

- `POST /auth/login` → `{"token"}`; `GET /products`;
  `POST /orders`, `GET /orders`, `GET /orders/{id}` (Bearer JWT).
- `/internal/…` (DESIGN.md "Outbound contracts"): `GET orders/{id}`,
  `PATCH orders/{id}/status`, `POST inventory/release` (Idempotency-Key).
- `/payments/…` forwarded to the payment service, prefix stripped.
- `/_shop/…`, unauthenticated test controls: `health`, `faults` (POST, GET,
  DELETE; see `sandbox.shop.faults`), `calls?orderId=&route=` (every internal
  call, plus the effects applied for that order), `products/{id}` and
  `products/{id}/stock` (PUT), `orders` (POST: any order, any currency or
  total) and `orders/{id}`, `users`.
"""
