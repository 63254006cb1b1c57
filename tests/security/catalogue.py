"""The attack catalogue: every attack test names its class and the frozen code it must be refused with.

An attack is a ``pytest.param`` built by ``attack(...)``; building it also
registers it here, so ``test_catalogue.py`` can count attacks by class (the
figure the README quotes) and check that every class has its control request
(a legitimate request through the same path that succeeds). ``code`` is the
frozen error code the answer carries; ``None`` marks an attack whose refusal is
not an HTTP answer (a closed connection, a value never written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pytest

CLASSES: Final = (
    "signatures",
    "authorization",
    "idempotency",
    "input",
    "merchant_ssrf",
    "secrets_at_rest",
    "abuse_slow_clients",
    "error_bodies",
)


@dataclass(frozen=True)
class Attack:
    attack_class: str
    name: str
    code: str | None


REGISTRY: list[Attack] = []
CONTROLS: set[str] = set()


def attack(attack_class: str, name: str, code: str | None, *values: Any) -> Any:
    """One catalogued attack as a pytest parameter (id ``class:name``); ``values`` are the test's arguments."""
    assert attack_class in CLASSES, attack_class
    REGISTRY.append(Attack(attack_class, name, code))
    return pytest.param(*values, code, id=f"{attack_class}:{name}")


def control(attack_class: str) -> None:
    """Mark that a module holds the control request (one that succeeds) for ``attack_class``."""
    assert attack_class in CLASSES, attack_class
    CONTROLS.add(attack_class)


def by_class() -> dict[str, int]:
    counts = dict.fromkeys(CLASSES, 0)
    for entry in REGISTRY:
        counts[entry.attack_class] += 1
    return counts
