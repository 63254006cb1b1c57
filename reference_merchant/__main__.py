"""``python -m reference_merchant --port 8181 [--db FILE] [--config FILE] ...`` — run the reference merchant alone.

Its signing key is generated at start and lives only in memory (this entry
point depends on ``contracts`` only, and private keys are never written
elsewhere than 0600 key files); ``ucp-connector merchant --keys-dir`` keeps
the key in such a file across restarts. Plain ``http`` is accepted only for a
loopback host and only with ``--allow-insecure-loopback``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from reference_merchant.releases import DEFAULT_VERSION, VERSIONS
from reference_merchant.server import build_config, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reference_merchant",
        description="Run the reference merchant (a UCP business server) until Ctrl-C.",
    )
    parser.add_argument(
        "--ucp-version",
        choices=VERSIONS,
        default=None,
        help=f"the UCP release to speak (default: the configuration's, else {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--supported-version",
        action="append",
        default=[],
        choices=VERSIONS,
        metavar="VERSION",
        help="an older release also served through a version-specific profile (2026-08-25: 2026-04-08)",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--db", type=Path, help="SQLite file for the merchant's state (default: in memory)")
    parser.add_argument("--config", type=Path, help="merchant configuration (.json or .toml)")
    parser.add_argument("--base-url", help="public origin (default http(s)://HOST:PORT)")
    parser.add_argument("--allow-insecure-loopback", action="store_true", help="accept plain http on loopback")
    parser.add_argument("--trust-platform", action="append", default=[], metavar="PROFILE_URL")
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    args = parser.parse_args(argv)
    try:
        config = build_config(
            host=args.host,
            port=args.port,
            config_file=args.config,
            database=args.db,
            base_url=args.base_url,
            allow_insecure_loopback=args.allow_insecure_loopback,
            trusted_platforms=args.trust_platform,
            tls=bool(args.ssl_certfile),
            ucp_version=args.ucp_version,
            supported_versions=args.supported_version,
        )
    except (ValidationError, OSError, ValueError) as exc:  # tomllib/json errors are ValueErrors
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    serve(config, host=args.host, port=args.port, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    return 0


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"configuration{' ' + where if where else ''}: {first['msg']}"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
