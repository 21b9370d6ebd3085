"""`oid scope ...`: check and normalize scopes from the command line."""

from __future__ import annotations

import sys

from oid import policy
from oid.scope import Catalog, Scope, ScopeError, normalize, parse_scope

EXIT_BAD_SCOPE = 2


def register(subparsers) -> None:
    scope = subparsers.add_parser("scope", help="check and normalize scopes")
    commands = scope.add_subparsers(dest="scope_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="parse a scope and print its normalized canonical JSON",
        description=(
            "Parse SCOPE (flow form '{nova: Berlin, glance: Denver|Paris}' or JSON form) and print it "
            "as canonical JSON. With --catalog, every name is checked against the inter-DC catalog, "
            "'*' is expanded and services the scope leaves out are given the entry DC (Placement, and "
            "Neutron and Cinder, follow Nova when the scope names Nova, as the interposer does). "
            "Exits 2 with a one-line error on a bad scope."
        ),
    )
    check.add_argument("scope", metavar="SCOPE", help="the scope to check")
    check.add_argument("--catalog", metavar="FILE", help="inter-DC catalog (YAML or JSON)")
    check.add_argument(
        "--entry",
        metavar="DC",
        help="the DC where the request enters the federation (default: the first location of the catalog file)",
    )
    check.set_defaults(handler=check_scope)


def check_scope(args) -> int:
    try:
        print(normalized_scope(args.scope, args.catalog, args.entry))
    except ScopeError as exc:
        print(f"oid: {exc}", file=sys.stderr)
        return EXIT_BAD_SCOPE
    except OSError as exc:
        print(f"oid: cannot read the catalog: {exc}", file=sys.stderr)
        return EXIT_BAD_SCOPE
    return 0


def normalized_scope(text: str, catalog_file: str | None, entry: str | None) -> str:
    if catalog_file is None:
        if entry is not None:
            raise ScopeError("--entry needs --catalog: the entry DC is checked against it")
        parsed = parse_scope(text)
        # Without a catalog nothing is filled in; the expressions are still canonical.
        return Scope(parsed).canonical()
    catalog = Catalog.from_file(catalog_file)
    # As the interposer does: bound services follow the service they are bound to.
    return normalize(text, catalog, entry or catalog.first, defaults=policy.default_expressions).canonical()
