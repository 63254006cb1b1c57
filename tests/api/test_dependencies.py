"""The API's seams: services reach routes only through typed providers, and the providers fail closed.

DESIGN invariants 1 and 2; issue 10 ("routes get their services through typed
FastAPI dependencies, not untyped ``request.app.state``").
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from api.gateway import CheckoutGateway
from tests.api.conftest import MERCHANT, running_api
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.independent_signer import json_bytes, new_key

API_PACKAGE = Path(__file__).resolve().parents[2] / "api"
# The one module, and its two functions, that may store and read the services on app.state.
PROVIDERS = {("dependencies.py", "attach_services"), ("dependencies.py", "services_of")}


def _app_state_uses(tree: ast.Module) -> list[tuple[str, int]]:
    """(enclosing function, line) of every ``<x>.app.state`` / ``app.state`` expression."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Attribute) and node.attr == "state":
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "app") or (
                isinstance(owner, ast.Attribute) and owner.attr == "app"
            ):
                found.append((function, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_only_the_providers_touch_app_state() -> None:
    """Routes, middleware and error handlers get typed services (mypy checks their calls), never ``app.state``."""
    offenders = []
    for path in sorted(API_PACKAGE.rglob("*.py")):
        for function, line in _app_state_uses(ast.parse(path.read_text(encoding="utf-8"))):
            if (path.name, function) not in PROVIDERS:
                offenders.append(f"{path.relative_to(API_PACKAGE.parent)}:{line} in {function}")
    assert offenders == []


def test_the_scan_sees_app_state() -> None:
    """The scan above would catch the old ``request.app.state.gateway`` and ``app.state.x = ...`` forms."""
    tree = ast.parse("async def route(request):\n    await request.app.state.gateway.view()\napp.state.limiter = 1\n")
    assert _app_state_uses(tree) == [("route", 2), ("<module>", 3)]


def _interface(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(function).parameters)
        for name, function in vars(cls).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(function)
    }


def test_the_gateway_double_keeps_the_gateways_interface() -> None:
    """The scripted double answers exactly the calls the routes can make on the real gateway."""
    assert _interface(ScriptedGateway) == _interface(CheckoutGateway)
    assert set(_interface(CheckoutGateway)) == {
        "create",
        "operate",
        "read_order",
        "read_checkout",
        "view",
        "order_event",
        "ping",
    }


async def test_before_the_gateway_is_connected_the_api_fails_closed(tmp_path: Path) -> None:
    """DESIGN invariant 2: until api.main's lifespan connects Temporal, an operation is 503, not a 500.

    Verification still comes first (invariant 1): an unsigned request is 401, whatever the gateway's state.
    """
    async with running_api(tmp_path, gateway=None) as api:
        path = f"/merchants/{MERCHANT}/checkout-sessions"
        body = json_bytes({"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}]})
        response = await api.send("POST", path, signer=api.alpha, body=body, idempotency_key=new_key())
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert response.json()["detail"] == {"reason": "not_connected"}
        assert int(response.headers["Retry-After"]) >= 1
        unsigned = await api.send("POST", path, body=body, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"
