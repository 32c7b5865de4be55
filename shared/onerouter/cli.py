"""The `onerouter` console script."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onerouter", description="OneRouter LLM gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the gateway locally on embedded AWS (moto server)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)

    if args.command == "dev":
        from .dev.runner import run
        from .routing.catalog import CatalogError

        try:
            run(args.host, args.port)
        except CatalogError as exc:
            print(f"onerouter: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
