"""docs/data-model.md is the schema and the hash chain as they are (issue 14, DESIGN.md invariant 7).

* The tables and indexes the page lists are exactly those of a freshly
  migrated database (SQLite here; the migrations are the same for
  PostgreSQL): a column or index added without the page fails.
* The worked audit-chain example is written through the real repository with
  the page's salt (one event at a time, and as the workflow's batch); the
  stored canonical bytes and hashes must be the ones printed, so an auditor
  recomputing by hand gets what the code writes.
* The shell recipe on the page, run as printed, prints the page's hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from contracts import canonical_json
from core.settings import Settings, StorageSettings
from storage import migrate
from storage.audit import GENESIS_HASH, NewAuditEvent, chain_hash, row_event
from storage.repository import Repository
from tests.docs.references import DOCS

PAGE = DOCS / "data-model.md"
BLOCK = re.compile(r"<!-- audit-example:(?P<name>[\w-]+) -->\n```\w*\n(?P<body>.*?)\n```", re.DOTALL)
COLUMN_ROW = re.compile(r"^\| `(?P<table>\w+)\.(?P<column>\w+)` \|", re.MULTILINE)
INDEX_ROW = re.compile(r"^\| `(?P<name>(?:ix|uq)_\w+)` \| `(?P<table>\w+) \((?P<columns>[\w, ]+)\)", re.MULTILINE)


def _blocks() -> dict[str, str]:
    return {match["name"]: match["body"] for match in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))}


def _hashes(block: str) -> tuple[str, str]:
    values = dict(line.split() for line in block.splitlines())
    return values["prev_hash"], values["hash"]


async def _repository(tmp_path: Path, salt: str) -> Repository:
    storage = StorageSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}", redaction_salt=salt, cursor_secret=salt
    )
    repository = Repository.from_settings(Settings(storage=storage))
    await migrate.upgrade(repository.engine)
    return repository


def _schema(connection: Connection) -> tuple[set[tuple[str, str]], set[tuple[str, str, tuple[str, ...]]]]:
    inspector = inspect(connection)
    columns: set[tuple[str, str]] = set()
    indexes: set[tuple[str, str, tuple[str, ...]]] = set()
    for table in ("audit_events", "sessions"):
        columns |= {(table, column["name"]) for column in inspector.get_columns(table)}
        for index in inspector.get_indexes(table):
            indexes.add((str(index["name"]), table, tuple(str(name) for name in index["column_names"])))
        for unique in inspector.get_unique_constraints(table):
            indexes.add((str(unique["name"]), table, tuple(unique["column_names"])))
    return columns, indexes


async def test_the_documented_tables_are_the_migrated_schema(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    documented_columns = {(match["table"], match["column"]) for match in COLUMN_ROW.finditer(text)}
    documented_indexes = {
        (match["name"], match["table"], tuple(name.strip() for name in match["columns"].split(",")))
        for match in INDEX_ROW.finditer(text)
    }
    repository = await _repository(tmp_path, "ZG9jcy1leGFtcGxlLXNhbHQtbmV2ZXItYS1zZWNyZXQ")
    try:
        async with repository.engine.connect() as connection:
            columns, indexes = await connection.run_sync(_schema)
    finally:
        await repository.close()
    assert documented_columns == columns, "docs/data-model.md tables differ from the migrations"
    assert documented_indexes == indexes, "docs/data-model.md indexes differ from the migrations"


async def test_the_worked_audit_chain_example_recomputes(tmp_path: Path) -> None:
    """Invariant 7: the page's events, written by the repository, store exactly the page's bytes and hashes."""
    blocks = _blocks()
    repository = await _repository(tmp_path, blocks["salt"].strip())
    expected_prev = GENESIS_HASH
    try:
        for number in (1, 2):
            document: dict[str, Any] = json.loads(blocks[f"event-{number}-input"])
            stored = await repository.append_audit_event(NewAuditEvent.model_validate(document))
            jcs = canonical_json(row_event(stored))
            prev_hash, hash_ = _hashes(blocks[f"event-{number}-hash"])
            assert jcs.decode("ascii") == blocks[f"event-{number}-jcs"], f"event {number}: canonical bytes differ"
            assert (stored.prev_hash, stored.hash) == (prev_hash, hash_), f"event {number}: stored hashes differ"
            assert prev_hash == expected_prev, f"event {number} does not name its predecessor"
            assert (
                hashlib.sha256(prev_hash.encode("ascii") + jcs).hexdigest()
                == hash_
                == chain_hash(prev_hash, row_event(stored))
            )
            expected_prev = hash_
        report = await repository.verify_chains(session_id=document["session_id"])
        assert report.ok
    finally:
        await repository.close()
    (tmp_path / "batch").mkdir()
    batched = await _repository(tmp_path / "batch", blocks["salt"].strip())
    try:
        events = [NewAuditEvent.model_validate(json.loads(blocks[f"event-{n}-input"])) for n in (1, 2)]
        written = await batched.write_batch(events)
        assert [(event.prev_hash, event.hash) for event in written] == [
            _hashes(blocks[f"event-{n}-hash"]) for n in (1, 2)
        ], "the workflow's batch writer must store the page's hashes too"
    finally:
        await batched.close()


@pytest.mark.skipif(shutil.which("sha256sum") is None or shutil.which("bash") is None, reason="needs coreutils")
def test_the_shell_recipe_prints_the_documented_hashes() -> None:
    blocks = _blocks()
    printed = subprocess.run(
        ["bash", "-c", blocks["shell"]], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    expected = [_hashes(blocks["event-1-hash"])[1], "-", _hashes(blocks["event-2-hash"])[1], "-"]
    assert printed == expected
