"""Deterministic workflow code: one ``CheckoutSessionWorkflow`` per checkout session (no I/O here)."""
