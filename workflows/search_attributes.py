"""The search attributes that let an operator find a session in the Temporal UI.

``UcpPlatform`` and ``UcpMerchant`` are set when a session starts, ``UcpStatus``
whenever the merchant's status changes, so ``UcpStatus = "complete_in_progress"``
finds every session waiting on a merchant at 3 a.m. The dev server registers
them at start (``--search-attribute``); other servers get them from
:func:`ensure_registered` (idempotent) or from an operator's
``temporal operator search-attribute create``.
"""

from __future__ import annotations

from typing import Final

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

PLATFORM: Final = SearchAttributeKey.for_keyword("UcpPlatform")
MERCHANT: Final = SearchAttributeKey.for_keyword("UcpMerchant")
STATUS: Final = SearchAttributeKey.for_keyword("UcpStatus")
ALL: Final = (PLATFORM, MERCHANT, STATUS)


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
