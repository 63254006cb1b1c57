"""The catalogue itself: at least 60 attacks in the 8 classes, each class with its control request.

Importing every attack module registers its attacks (tests/security/catalogue.py);
``python -m pytest tests/security/test_catalogue.py -s`` prints the count by class
that the README's "Reliability and security" section quotes.
"""

from __future__ import annotations

import importlib
import pkgutil

import tests.security
from tests.security.catalogue import CLASSES, CONTROLS, REGISTRY, by_class

MIN_ATTACKS = 60


def _load_all() -> None:
    for module in pkgutil.iter_modules(tests.security.__path__):
        if module.name.startswith("test_") and module.name != "test_catalogue":
            importlib.import_module(f"tests.security.{module.name}")


def test_the_catalogue_has_sixty_attacks_in_eight_classes_each_with_a_control() -> None:
    _load_all()
    counts = by_class()
    print("\nattacks by class:", counts, "total", sum(counts.values()))
    assert sum(counts.values()) >= MIN_ATTACKS, counts
    assert all(counts[name] > 0 for name in CLASSES), counts
    assert set(CLASSES) <= CONTROLS, f"classes without a control request: {set(CLASSES) - CONTROLS}"


def test_attack_names_are_unique() -> None:
    _load_all()
    names = [(entry.attack_class, entry.name) for entry in REGISTRY]
    assert len(names) == len(set(names))
