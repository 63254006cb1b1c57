"""A real UCP business server used by tests, the demo and benchmarks (depends on contracts only).

What it is
----------
A FastAPI merchant that speaks UCP over REST exactly as a platform meets it
in the wild, in one of three releases (``MerchantConfig.ucp_version``,
``--ucp-version``; :mod:`reference_merchant.releases`): 2026-04-08 (the
default, described here), 2026-01-11 (as the official samples' merchant of
that release: its profile and wire shapes, nothing signed, FastAPI error
bodies) and 2026-08-25 (``keys[]``, optionally serving 2026-04-08 through a
``supported_versions`` leaf profile). ``GET /.well-known/ucp`` (business profile with ``signing_keys``),
``POST /checkout-sessions``, ``GET|PUT /checkout-sessions/{id}``,
``POST /checkout-sessions/{id}/complete``, ``POST /checkout-sessions/{id}/cancel``
and ``GET /orders/{id}`` under ``{base_url}{api_prefix}`` (the profile's REST
``endpoint``), plus signed order webhooks to the platform. Every request must
carry a valid RFC 9421 signature by a *trusted* platform (allow-list), every
response is signed, mutations are idempotent, state lives in SQLite.

Run it::

    python -m reference_merchant --port 8181 --allow-insecure-loopback --config merchant.toml
    ucp-connector merchant --port 8181 --allow-insecure-loopback --config merchant.toml

or in-process (tests)::

    merchant = ReferenceMerchant(MerchantConfig(base_url=..., allow_insecure_loopback=True, platforms=[...]))
    # serve merchant.asgi with uvicorn; steer it with merchant.faults / merchant.ship_order(...) ...

Modules: ``config`` (one typed configuration), ``catalog`` (items, codes,
shipping: the scenario table), ``payments`` (token-driven payment outcomes),
``inputs`` (requests -> state), ``state`` (what is persisted), ``pricing``,
``messages`` and ``discounts`` (render a checkout: totals, messages, derived
status), ``lifecycle`` (allowed transitions), ``service`` (the checkout
operations), ``transactions`` (lock, transaction, idempotency record),
``order_desk`` and ``orders`` (placing and progressing orders, their
snapshots and events), ``backoffice`` (the buyer, the clock, the warehouse),
``handoff`` and ``handoff_page`` (the buyer's page at ``continue_url``),
``webhooks`` (signed, retried outbox), ``security`` (request authentication),
``platforms`` (trusted platforms, profile fetching), ``idempotency``,
``responses`` (signed bodies), ``discovery`` (the business profiles),
``releases`` (one module per UCP release: wire shapes at the edge),
``faults`` (fault injection), ``store`` (SQLAlchemy), ``clock`` (injectable
time), ``routes`` (HTTP surface), ``app`` (:class:`ReferenceMerchant`),
``server`` and ``__main__`` (running it alone).

Scenarios (documented in ``catalog`` and ``payments``)
------------------------------------------------------
* ``requires_escalation``: item ``watch_engraved`` (engraving on the merchant
  site), a total >= ``review_threshold`` (buyer review), a payment token
  starting with ``3ds`` at complete; the buyer resolves them on the page at
  ``continue_url`` (:mod:`reference_merchant.handoff`), or a test plays the
  buyer with ``merchant.complete_buyer_handoff(id)``.
* ``complete_in_progress``: a payment token starting with ``async``; the
  order is placed ``async_completion_seconds`` later.
* ``canceled``: ``cancel``, or expiry after ``checkout_ttl_seconds`` (move a
  ``ManualClock``, or ``merchant.expire_checkout(id)``).
* Orders: ``merchant.ship_order(id)`` / ``deliver_order(id)`` or
  ``auto_ship_after_seconds``/``auto_deliver_after_seconds``; each change is a
  signed webhook to the platform's ``webhook_url``, retried until acknowledged.

Fault injection (``merchant.faults``, see :mod:`reference_merchant.faults`)
------------------------------------------------------------------------
added latency, N consecutive 503s with ``Retry-After``, hangs longer than a
client's timeout, commit-then-drop-the-connection, responses with a signature
that does not verify, idempotency store failure; plus key rotation
(``rotate_signing_key``/``retire_signing_key``) and forced expiry
(``expire_checkout``). None of it is reachable over HTTP.

Assumptions where the spec is silent (each module states its own in detail)
--------------------------------------------------------------------------
1. Illegal transitions are ``409 transition_invalid`` protocol errors with
   ``detail.status``; nothing changes (``lifecycle``).
2. ``cancel`` is refused during ``complete_in_progress``; such sessions do not
   expire (``lifecycle``).
3. A session or order that does not exist, or belongs to another platform, is
   the business outcome ``not_found`` (HTTP 200, ``ucp.status: error``), as
   order-rest.md shows for orders (``service``).
4. Update is a full replacement; omitted optional members are cleared
   (``service``).
5. Requests are validated in strict mode: members the resolved request schema
   omits, and extension members that were not negotiated, are
   ``400 validation_failed`` with a JSON pointer (``contracts.ucp``).
6. Unknown and sold-out items are left out with an error message; a create
   with nothing purchasable is the error envelope (TRN-15) (``service``).
7. One shipping method and one package per checkout; no pickup; a single known
   destination is selected automatically, a shipping option never (``pricing``).
8. ``shipped`` marks items fulfilled; ``delivered`` adds an event (``orders``).
9. The idempotency fingerprint is (method, path, raw body); 5xx answers are
   not stored; records live 48 h (``idempotency``).
10. Webhook bodies are the order snapshot plus ``event_id``/``created_time``;
    events of one order are delivered in order (``webhooks``).
11. Profile caching: ``max(60 s, min(max-age, profile_cache_seconds))``; an
    unknown ``kid`` forces at most one re-fetch per 60 s (``platforms``).
12. Signature ``created`` uses wall time; everything else uses the injected
    clock (``clock``).
13. ``continue_url`` is ``{base_url}/checkout/{id}?token={hand-off token}`` and
    serves the buyer's page (confirm a review, pass a simulated 3-D Secure
    challenge); after 3-D Secure the platform retries ``complete``
    (:mod:`reference_merchant.handoff`).
14. Each release's own assumptions are in its module (``releases.r2026_*``).
"""

from reference_merchant.app import ReferenceMerchant
from reference_merchant.clock import Clock, ManualClock, SystemClock
from reference_merchant.config import MerchantConfig, TrustedPlatform, WebhookPolicy
from reference_merchant.faults import FaultPlan, Operation

__all__ = [
    "Clock",
    "FaultPlan",
    "ManualClock",
    "MerchantConfig",
    "Operation",
    "ReferenceMerchant",
    "SystemClock",
    "TrustedPlatform",
    "WebhookPolicy",
]
