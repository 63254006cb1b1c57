"""Run a reference merchant as a process: shared by ``python -m reference_merchant`` and ``ucp-connector merchant``.

The listening socket is bound here, with ``TCP_NODELAY`` (accepted sockets
inherit it): asyncio only sets it by itself for sockets created with
``IPPROTO_TCP``, and without it every keep-alive response waits ~40 ms for a
delayed ACK, which would dominate any benchmark against this merchant.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from contracts import KeyStore
from reference_merchant.app import ReferenceMerchant
from reference_merchant.config import MerchantConfig, read_config_document


def build_config(
    *,
    host: str,
    port: int,
    config_file: Path | None = None,
    database: Path | None = None,
    base_url: str | None = None,
    allow_insecure_loopback: bool = False,
    trusted_platforms: list[str] | None = None,
    tls: bool = False,
    ucp_version: str | None = None,
    supported_versions: list[str] | None = None,
) -> MerchantConfig:
    """The configuration file (if any) with command-line options on top; ``base_url`` defaults to HOST:PORT."""
    document: dict[str, Any] = read_config_document(config_file) if config_file is not None else {}
    document.setdefault("base_url", f"{'https' if tls else 'http'}://{host}:{port}")
    if base_url is not None:
        document["base_url"] = base_url
    if allow_insecure_loopback:
        document["allow_insecure_loopback"] = True
    if database is not None:
        document["database_url"] = f"sqlite+aiosqlite:///{database}"
    if ucp_version is not None:
        document["ucp_version"] = ucp_version
    if supported_versions:
        document["supported_versions"] = supported_versions
    platforms = list(document.get("platforms", []))
    known = {entry.get("profile_url") for entry in platforms if isinstance(entry, dict)}
    platforms.extend({"profile_url": url} for url in trusted_platforms or [] if url not in known)
    document["platforms"] = platforms
    return MerchantConfig.model_validate(document)


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def serve(
    config: MerchantConfig,
    *,
    host: str,
    port: int,
    keys: KeyStore | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "info",
    own_logging: bool = True,
    instrument: Callable[[FastAPI], Any] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM); the merchant starts and stops with the server.

    ``own_logging=False`` leaves structlog and uvicorn's loggers to the caller (``ucp-connector merchant``
    routes them through its JSON pipeline); ``instrument`` may wrap the FastAPI app (tracing) before serving.
    """
    if own_logging:
        level = logging.getLevelName(log_level.upper())
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else 20)
        )
    merchant = ReferenceMerchant(config, keys=keys)
    if instrument is not None:
        instrument(merchant.app)
    uvicorn_config = uvicorn.Config(
        merchant.asgi,
        lifespan="on",
        log_level=log_level if own_logging else None,
        log_config=LOGGING_CONFIG if own_logging else None,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_graceful_shutdown=5,
    )
    uvicorn_config.load()
    if uvicorn_config.ssl is not None:
        # checkout-rest.md / order-rest.md: REST endpoints over TLS >= 1.3 (TRN-02); uvicorn has no option for it.
        uvicorn_config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
    server = uvicorn.Server(uvicorn_config)
    sock = listening_socket(host, port)
    asyncio.run(server.serve(sockets=[sock]))
