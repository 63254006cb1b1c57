"""The one way every process (API, worker, CLI, tests) builds its Temporal client.

All of them must agree on the data converter — pydantic-aware JSON that marks
UI text (``core.temporal.ui_metadata``) plus the encrypting payload codec — or
one side would write payloads the other cannot read. Keeping the construction
here makes that agreement structural.
"""

from __future__ import annotations

import logging
from typing import Final

from temporalio.client import Client, TLSConfig
from temporalio.converter import DataConverter
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from core.settings import PAYLOAD_KEY_FILE, Settings, TemporalSettings
from core.telemetry import client_interceptors
from core.temporal.codec import EncryptionCodec, PayloadKeyring
from core.temporal.failures import SmallFailureConverter
from core.temporal.ui_metadata import ConnectorPayloadConverter


def data_converter(keyring: PayloadKeyring) -> DataConverter:
    return DataConverter(
        payload_converter_class=ConnectorPayloadConverter,
        failure_converter_class=SmallFailureConverter,  # the UI shows a failure only below the server's limit
        payload_codec=EncryptionCodec(keyring),
    )


CORE_LOGGER: Final = "temporalio.core"


def log_forwarding_runtime() -> Runtime:
    """A Temporal runtime whose SDK-core (Rust) log lines go to Python logging, logger ``temporalio.core``.

    Without it the core writes its own coloured, non-JSON lines to stderr
    (issue 12.13); forwarded, they leave the process as the same redacted JSON
    lines as everything else (``core.logging``). The worker builds its own
    (``worker.runtime``, with metrics); the API uses this one.
    """
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
            )
        )
    )


def load_payload_keyring(settings: Settings, *, create: bool = False) -> PayloadKeyring:
    path = settings.key_file(PAYLOAD_KEY_FILE)
    return PayloadKeyring.load_or_create(path) if create else PayloadKeyring.load(path)


async def connect(
    temporal: TemporalSettings, keyring: PayloadKeyring, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """Connect with the shared converter; ``lazy`` lets the API start (and answer 503) while Temporal is down.

    The tracing interceptor (when tracing is on, ``core.telemetry``) rides on the client, so the
    API's client spans and a worker built from this client share one configuration; ``runtime`` carries the
    worker's metrics endpoint (``ucp-connector worker --metrics-port``).
    """
    tls: TLSConfig | bool = temporal.tls
    if temporal.tls and temporal.tls_client_cert and temporal.tls_client_key:
        tls = TLSConfig(
            client_cert=temporal.tls_client_cert.read_bytes(), client_private_key=temporal.tls_client_key.read_bytes()
        )
    return await Client.connect(
        temporal.address,
        namespace=temporal.namespace,
        tls=tls,
        data_converter=data_converter(keyring),
        lazy=lazy,
        interceptors=client_interceptors(),
        runtime=runtime,
    )
