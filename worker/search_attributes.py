"""Registering the workflow's search attributes (``workflows.search_attributes``) with a Temporal server.

The dev server registers them at start (:func:`dev_server_flags`); other
servers get them from :func:`ensure_registered` (idempotent) or from an
operator's ``temporal operator search-attribute create`` (docker-compose's
``temporal-setup``).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ALL


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` arguments that register every attribute."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}=Keyword"]
    return flags


async def ensure_registered(client: Client) -> None:
    """Register every attribute; one that already exists is fine (the call is idempotent for us)."""
    for key in ALL:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace,
                    search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
