"""Everything that knows how to talk to a merchant (a UCP business).

Discovery and the profile cache, the merchant's keys, the connector's own
platform profile as merchants read it, signing our requests and verifying the
merchant's responses and webhooks. Imports ``contracts`` and ``core`` only.
"""
