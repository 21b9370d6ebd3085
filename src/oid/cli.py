"""The `oid` command.

Each part of the product registers its own subcommand group; this module only
assembles them, so that adding `oid lab ...` or `oid interposer ...` never
touches another part's code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from oid import __version__

# Modules that define `register(subparsers)`, in the order `--help` lists them.
SUBCOMMAND_MODULES = [
    "oid.scope_cli",
    "oid.interposer.cli",
    "oid.paste.cli",
    "oid.lab.cli",
    "oid.verify_cli",
    "oid.status_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oid",
        description="Scoped collaboration between independent OpenStack clouds.",
    )
    parser.add_argument("--version", action="version", version=f"oid {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args) or 0


if __name__ == "__main__":
    sys.exit(main())
