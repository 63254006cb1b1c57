"""A real UCP 2026-04-08 business server used by tests, the demo and benchmarks (depends on contracts only)."""
