"""Auditor tooling over the event store: verify the hash chain, seal checkpoints,
replay a payment as of a moment, export the history."""
