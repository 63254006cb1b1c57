"""What every connector process shares.

Settings, key and secret files, logging, tracing, outbound HTTP and the Temporal plumbing.

Imports ``contracts`` only; everything else of the connector may import it.
"""
