"""Structured logs for every process: one JSON object per line on stderr, redacted (DESIGN.md invariant 6).

:func:`configure_logging` is called once at the entry point of ``ucp-connector
api``, ``worker`` and ``merchant``. It configures structlog *and* routes the
standard library's ``logging`` (uvicorn, temporalio, the SDK core's forwarded
logs, sqlalchemy) through the same chain, so every line -- ours or a
library's -- has one shape and passes through one redaction step:

    contextvars (request_id, platform_id, session_id, workflow_id, ...) → level,
    logger, service, UTC timestamp → exception text → **contracts.Redactor** →
    trace_id/span_id of the current OpenTelemetry span → JSON (or console)

The redactor runs after the traceback is rendered to text, so an exception
message that echoes a request cannot carry a card number, token, e-mail or
phone number into a log line either. Trace and span ids are added *after*
redaction: they are ours, and a 32-hex-digit trace id would otherwise now and
then contain a 13-digit run and be masked as a PAN.

Settings (environment, so that every process and the ``dev`` supervisor's
children agree without a configuration file):

* ``UCP_LOG_LEVEL`` -- ``DEBUG``, ``INFO`` (default), ``WARNING``, ``ERROR``;
* ``UCP_LOG_FORMAT`` -- ``json`` (default when stderr is not a terminal) or
  ``console`` (default on a terminal: human-readable, coloured).

The redaction salt is the storage redaction salt (``storage.redaction_salt`` or its
0600 file, see ``core/settings.py``), so the salted hash of a buyer's e-mail in a
log line matches the one in the audit log. When no salt is configured (the
reference merchant, or a worker started without its key files) a random
per-process salt is used: nothing leaks, but hashes then correlate only within
one process -- a ``logging.salt_ephemeral`` warning says so at start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Final, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from contracts import Redactor

if TYPE_CHECKING:
    from core.settings import Settings

LEVEL_ENV: Final = "UCP_LOG_LEVEL"
FORMAT_ENV: Final = "UCP_LOG_FORMAT"
FORMATS: Final = ("json", "console")

# Libraries whose DEBUG output is either noise or carries raw data (aiosqlite logs every statement with its
# parameters; httpx/httpcore log every URL): they stay at WARNING whatever UCP_LOG_LEVEL says.
QUIET_LOGGERS: Final = ("aiosqlite", "httpx", "httpcore", "asyncio", "hpack", "urllib3")


class LoggingConfigError(ValueError):
    """``UCP_LOG_LEVEL`` or ``UCP_LOG_FORMAT`` has a value we do not know."""


def _level(name: str) -> int:
    level = logging.getLevelNamesMapping().get(name.strip().upper())
    if level is None:
        raise LoggingConfigError(f"{LEVEL_ENV}={name!r} is not a log level (DEBUG, INFO, WARNING, ERROR)")
    return level


def _service(service: str) -> Processor:
    def add_service(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _drop_color_message(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    return event_dict


def add_trace_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Correlate a line with its trace: the ids of the current span, when tracing is on."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


class _Redact:
    """The structlog face of ``contracts.Redactor`` (its ``__call__`` is the processor; this keeps mypy exact)."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        redacted: MutableMapping[str, Any] = self._redactor(logger, method_name, event_dict)
        return dict(redacted)


def salt_from_settings(settings: Settings | None) -> bytes | None:
    """The storage redaction salt, or ``None`` when none is configured or readable (never created here)."""
    if settings is None:
        return None
    from core.keyfiles import KeyFileError, load_secret

    inline = settings.storage.redaction_salt
    try:
        return load_secret(settings.redaction_salt_file, inline=inline.get_secret_value() if inline else None)
    except (KeyFileError, OSError, ValueError):
        return None


def configure_logging(
    service: str,
    *,
    salt: bytes | None = None,
    level: str | None = None,
    fmt: str | None = None,
    stream: TextIO | None = None,
) -> Redactor:
    """Install the chain for this process (idempotent: a second call replaces the first). Returns the redactor."""
    stream = stream if stream is not None else sys.stderr
    numeric = _level(level or os.environ.get(LEVEL_ENV) or "INFO")
    chosen = (fmt or os.environ.get(FORMAT_ENV) or ("console" if _isatty(stream) else "json")).strip().lower()
    if chosen not in FORMATS:
        raise LoggingConfigError(f"{FORMAT_ENV}={chosen!r} is not one of {', '.join(FORMATS)}")
    redactor = Redactor(salt if salt is not None else secrets.token_bytes(32))

    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    # Runs for library (stdlib) records before the common tail; structlog events get the same from configure().
    foreign_pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        timestamper,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if chosen == "json"
        else structlog.dev.ConsoleRenderer(colors=_isatty(stream), sort_keys=True)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=foreign_pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _service(service),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _Redact(redactor),
            add_trace_context,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "temporalio"):
        # Route through the root handler (uvicorn's own dictConfig would attach handlers of its own).
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.setLevel(logging.NOTSET)

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
            timestamper,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: tests and the CLI may reconfigure, and module-level loggers must follow.
        cache_logger_on_first_use=False,
    )
    if salt is None:
        structlog.get_logger("core.logging").warning(
            "logging.salt_ephemeral",
            detail="no redaction salt configured; e-mail/phone hashes in logs correlate only within this process",
        )
    return redactor


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def bind(**fields: Any) -> None:
    """Bind fields to every log line of the current task (request, activity); ``None`` values are skipped."""
    structlog.contextvars.bind_contextvars(**{key: value for key, value in fields.items() if value is not None})


def session_of_workflow(workflow_id: str) -> str | None:
    """``checkout/{platform_id}/{session_id}`` → the session id (DESIGN.md invariant 3), else ``None``."""
    parts = workflow_id.split("/")
    if len(parts) == 3 and parts[0] == "checkout":
        return parts[2]
    return None


def log_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Route the event loop's unhandled errors ("Future exception was never retrieved", ...) as one JSON line.

    asyncio's default handler prints a multi-line traceback through its own
    logger; a lazily connecting Temporal client leaves such futures behind while
    Temporal is down (issue 12.13). Here each becomes one redacted warning with
    the message and the exception's type and text, no traceback.
    """

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        failure = context.get("exception")
        structlog.get_logger("ucp_connector.asyncio").warning(
            "event_loop_error",
            loop_message=str(context.get("message", ""))[:200],
            error=type(failure).__name__ if failure is not None else None,
            error_text=str(failure)[:300] if failure is not None else None,
        )

    loop.set_exception_handler(handler)
