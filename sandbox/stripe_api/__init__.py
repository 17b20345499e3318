"""A local, stateful stand-in for the part of Stripe the payment service uses.

Speaks Stripe's wire format (form-encoded requests, Stripe-shaped JSON objects,
errors and signed webhooks) so the real `stripe` SDK can talk to it through a
base URL. Never imported by the service; see ADR 0010.
"""
