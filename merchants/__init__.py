"""Everything that knows how to talk to a merchant (a UCP business). Imports ``contracts`` and ``core`` only.

* :mod:`merchants.profiles` — registered merchants' profiles: fetched by the
  spec's rules, cached, refreshed on rotation within a budget; the one place a
  merchant's signature is checked (``ProfileCache.verify_signature``).
* :mod:`merchants.discovery` — version and capability negotiation.
* :mod:`merchants.client` — one signed REST call (``MerchantClient``), read by
  :mod:`merchants.responses` into a verified ``MerchantResponse`` or a
  :class:`~merchants.errors.MerchantCallError`.
* :mod:`merchants.webhooks` — is an order webhook really the named merchant's?
* :mod:`merchants.platform_profile` — the connector's own profile as merchants read it.

The activities (``activities.merchant``, ``activities.discovery``) and the
webhook route only map these typed results to Temporal and HTTP.
"""
