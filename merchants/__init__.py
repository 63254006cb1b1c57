"""Everything that knows how to talk to a merchant (a UCP business). Imports ``contracts`` and ``core`` only.

* :mod:`merchants.releases` — one adapter per UCP release (2026-01-11,
  2026-04-08, 2026-08-25): profile shapes, request/response translation to
  and from the canonical (2026-04-08) model, headers, signatures, webhooks,
  idempotency rule.
* :mod:`merchants.profiles` — registered merchants' profiles: fetched by the
  spec's rules, at the release both sides speak best (``supported_versions``
  followed), cached, refreshed on rotation within a budget; the one place a
  merchant's signature is checked (``ProfileCache.verify_signature``).
* :mod:`merchants.targets` — where a profile may send us (same origin, public addresses).
* :mod:`merchants.auth` — the merchant's own authentication: API key, OAuth 2.0, mTLS.
* :mod:`merchants.discovery` — capability negotiation at the chosen release.
* :mod:`merchants.client` — one signed REST call (``MerchantClient``), read by
  :mod:`merchants.responses` into a verified ``MerchantResponse`` or a
  :class:`~merchants.errors.MerchantCallError`.
* :mod:`merchants.webhooks` — is an order webhook really the named merchant's?
* :mod:`merchants.platform_profile` — the connector's own profile as merchants read it.

The activities (``activities.merchant``, ``activities.discovery``) and the
webhook route only map these typed results to Temporal and HTTP.
"""
