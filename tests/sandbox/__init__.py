"""The Stripe sandbox's own tests, against the real subprocess over HTTP."""
