"""The platform-facing FastAPI front door: verifies every request, then starts/updates/queries workflows."""
