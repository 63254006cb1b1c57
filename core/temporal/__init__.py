"""Temporal plumbing the API, the worker and the CLI share: client connection, data converter, payload codec."""
