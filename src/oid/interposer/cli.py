"""`oid interposer ...`."""

from __future__ import annotations

import sys

from oid.interposer.config import ConfigError, Routes, load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("interposer", help="run the per-DC scope-aware proxy")
    commands = parser.add_subparsers(dest="interposer_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve until SIGTERM (drains in-flight requests); SIGHUP reloads the catalog",
        description="Run the interposer of one DC with the given configuration (see docs/interposer.md).",
    )
    serve.add_argument("--config", required=True, metavar="FILE", help="interposer configuration (YAML)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(handler=run_serve)
    check = commands.add_parser("check-config", help="validate a configuration and its catalog, then exit")
    check.add_argument("--config", required=True, metavar="FILE")
    check.set_defaults(handler=run_check)


def run_serve(args) -> int:
    from oid.interposer.app import serve, setup_logging

    setup_logging(args.log_level)
    try:
        settings = load_settings(args.config)
        routes = Routes.load(settings)  # once: the same catalog is served
    except ConfigError as exc:
        print(f"oid: {exc}", file=sys.stderr)
        return 2
    serve(settings, routes)
    return 0


def run_check(args) -> int:
    try:
        settings = load_settings(args.config)
        routes = Routes.load(settings)
    except ConfigError as exc:
        print(f"oid: {exc}", file=sys.stderr)
        return 2
    print(f"ok: {routes.here} in a federation of {', '.join(routes.catalog.names)}")
    return 0
