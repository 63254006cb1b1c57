"""Shared fixtures live in tests/fixtures/ and are registered here."""

pytest_plugins = ["tests.fixtures.temporal", "tests.fixtures.dev_stack"]
