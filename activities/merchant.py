"""``call_merchant``: the activity around :class:`merchants.client.MerchantClient`.

The client signs, sends, verifies and classifies (``merchants/``); this module
maps its typed outcome to the workflow's ``MerchantReply`` and its typed
failure to Temporal's through the one error codec (``activities.errors``):

* :class:`~merchants.errors.MerchantCallError` keeps its frozen code and its
  ``retryable`` flag; a merchant's ``Retry-After`` becomes
  ``next_retry_delay`` (TRN-10). Timeouts, connection errors, 5xx and 429 are
  retried; 3xx, 4xx, bad signatures and invalid bodies are final;
* a merchant profile that cannot be read is retried while it is unreachable
  (``profile_failure``), final when it is malformed or the merchant unknown.

A retry of this activity sends byte-identical bytes with the same outbound
``Idempotency-Key`` (IDM-12): the input carries both, the client serialises
canonically.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio import activity

from activities.errors import encode_failure, profile_failure
from activities.types import ActivityName, CallMerchantInput, MerchantReply
from contracts import KeyStore, Redactor, UcpError
from merchants.client import MerchantClient
from merchants.errors import MerchantCallError
from merchants.profiles import ProfileCache


class MerchantActivities:
    def __init__(
        self,
        http: httpx.AsyncClient,
        profiles: ProfileCache,
        keys: KeyStore,
        public_base_url: str,
        *,
        redactor: Redactor | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._client = MerchantClient(http, profiles, keys, public_base_url, redactor=redactor, ca_file=ca_file)

    async def aclose(self) -> None:
        await self._client.aclose()

    @activity.defn(name=ActivityName.CALL_MERCHANT)
    async def call_merchant(self, request: CallMerchantInput) -> MerchantReply:
        try:
            response = await self._client.call(
                request.merchant_id,
                request.operation,
                resource_id=request.resource_id,
                body=request.body,
                idempotency_key=request.idempotency_key,
            )
        except MerchantCallError as error:
            raise encode_failure(error, retryable=error.retryable, retry_after=error.retry_delay) from error
        except UcpError as error:  # the merchant's profile could not be read
            raise profile_failure(error) from error
        return MerchantReply(
            status_code=response.status_code,
            body=response.body,
            response_digest=response.response_digest,
            signed_by=response.signed_by,
            release=response.release,
            unsigned_accepted=response.unsigned_accepted,
            auth=response.auth,
        )
