"""Audit append throughput on SQLite and PostgreSQL (redact + chain + insert, one transaction per event).

Also one platform operation's batch as ``merchant_operation`` writes it (three events and the session's index
row moved forward, one transaction: ``Repository.write_batch``), one session after another.

    .venv/bin/python bench/audit_append.py [--events N] [--writers W] [--postgres URL]

Scenarios per backend: one writer appending a single session's events in
order, and W concurrent writers each on its own session. PostgreSQL runs in a
throw-away schema (created and dropped here) as the append-only service role,
like production. Prints a table and writes bench/results/audit_append.json.
Figures compare commits on one machine; they are not capacity claims.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path

from contracts import CursorCodec, Redactor
from storage import migrate
from storage.audit import AuditOutcome, NewAuditEvent
from storage.database import make_engine
from storage.repository import Repository
from storage.sessions import SessionUpsert

PAYLOAD = {
    "request": {
        "line_items": [{"item": {"id": f"item_{i}"}, "quantity": i} for i in range(5)],
        "buyer": {"email": "jane@example.com", "phone_number": "+14155550132"},
        "payment": {"instruments": [{"id": "pm_1", "handler_id": "h", "type": "card", "credential": {"type": "card"}}]},
    },
    "response": {"id": "chk_1", "status": "ready_for_complete", "totals": [{"type": "total", "amount": 3098}]},
}


def _event(session: str, seq: int) -> NewAuditEvent:
    return NewAuditEvent(
        platform_id="bench",
        session_id=session,
        seq=seq,
        occurred_at=dt.datetime.now(dt.UTC),
        actor="platform:bench",
        action="checkout.update",
        outcome=AuditOutcome.ACCEPTED,
        payload=PAYLOAD,
    )


async def _writer(repo: Repository, events: int) -> None:
    session = "cs_" + uuid.uuid4().hex[:26]
    for seq in range(1, events + 1):
        await repo.append_audit_event(_event(session, seq))


def _operation(session: str, first_seq: int, version: int) -> list[NewAuditEvent | SessionUpsert]:
    """An update's records: the merchant call, the index row and ``status_changed``, the platform's answer."""
    events = [_event(session, seq) for seq in range(first_seq, first_seq + 3)]
    index = SessionUpsert(
        session_id=session,
        platform_id="bench",
        merchant_id="bench-merchant",
        status="ready_for_complete" if version > 1 else "incomplete",
        merchant_checkout_id="chk_1",
        occurred_at=dt.datetime.now(dt.UTC),
        version=version,
    )
    return [events[0], index, *events[1:]]


async def _operation_batches(repo: Repository, sessions: int) -> float:
    """Batches per second for the second operation of ``sessions`` sessions (the index row exists: one UPDATE)."""
    names = ["cs_" + uuid.uuid4().hex[:26] for _ in range(sessions)]
    for session in names:
        await repo.write_batch(_operation(session, 1, 1))
    start = time.perf_counter()
    for session in names:
        await repo.write_batch(_operation(session, 4, 2))
    return sessions / (time.perf_counter() - start)


async def _scenarios(repo: Repository, events: int, writers: int) -> dict[str, float]:
    start = time.perf_counter()
    await _writer(repo, events)
    sequential = events / (time.perf_counter() - start)
    start = time.perf_counter()
    await asyncio.gather(*(_writer(repo, events // writers) for _ in range(writers)))
    concurrent = (events // writers) * writers / (time.perf_counter() - start)
    batches = await _operation_batches(repo, max(1, events // 4))
    start = time.perf_counter()
    report = await repo.verify_chains()
    verify = report.events / (time.perf_counter() - start)
    assert report.ok, report.breaks
    return {
        "sequential_appends_per_s": sequential,
        "concurrent_appends_per_s": concurrent,
        "verify_events_per_s": verify,
        "operation_batches_per_s": batches,
    }


def _repository(url: str, schema: str | None) -> Repository:
    return Repository(
        make_engine(url, schema=schema, pool_size=16),
        redactor=Redactor(b"bench-salt-not-secret-0000000000"),
        cursors=CursorCodec(b"bench-cursor-secret-000000000000"),
    )


async def bench_sqlite(events: int, writers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.db"
        owner = make_engine(url)
        await migrate.upgrade(owner)
        await owner.dispose()
        repo = _repository(url, None)
        try:
            return await _scenarios(repo, events, writers)
        finally:
            await repo.close()


async def bench_postgres(url: str, events: int, writers: int) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:8]
    schema, role = f"ucp_bench_{suffix}", f"ucp_bench_svc_{suffix}"
    owner = make_engine(url)
    async with owner.begin() as connection:
        await connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    scoped = make_engine(url, schema=schema)
    await migrate.upgrade(scoped, service_role=role)
    service_url = make_engine(url).url.set(username=role, password=None)
    repo = _repository(service_url.render_as_string(hide_password=False), schema)
    try:
        return await _scenarios(repo, events, writers)
    finally:
        await repo.close()
        await migrate.downgrade(scoped, "base", service_role=role)
        await scoped.dispose()
        async with owner.begin() as connection:
            await connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            await connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        await owner.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = {"sqlite": await bench_sqlite(args.events, args.writers)}
    try:
        results["postgresql"] = await bench_postgres(args.postgres, args.events, args.writers)
    except Exception as exc:  # a missing server should not hide the SQLite figures
        print(f"postgresql skipped: {type(exc).__name__}: {exc}")
    header = f"{'backend':<12}{'1 writer/s':>14}{f'{args.writers} writers/s':>16}{'verify ev/s':>14}"
    print(f"{header}{'op batch ms':>14}   (n={args.events})")
    for name, row in results.items():
        print(
            f"{name:<12}{row['sequential_appends_per_s']:>14.0f}{row['concurrent_appends_per_s']:>16.0f}"
            f"{row['verify_events_per_s']:>14.0f}{1000 / row['operation_batches_per_s']:>14.3f}"
        )
    out = Path(__file__).parent / "results" / "audit_append.json"
    out.parent.mkdir(exist_ok=True)
    document = {"machine": platform.platform(), "events": args.events, "writers": args.writers, "results": results}
    out.write_text(json.dumps(document, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
