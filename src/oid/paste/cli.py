"""`oid paste insert`: the overlay's way to produce a service's oid api-paste.ini."""

from __future__ import annotations

import sys

from oid.paste.pipeline import PasteError, insert_filters


def register(subparsers) -> None:
    parser = subparsers.add_parser("paste", help="insert oid's filters into an api-paste.ini")
    commands = parser.add_subparsers(dest="paste_command", metavar="COMMAND", required=True)
    insert = commands.add_parser(
        "insert",
        help="print SOURCE with oid_scope/oid_auth in every authtoken pipeline",
        description=(
            "Read the api-paste.ini a service ships and print it with oid's filters inserted: "
            "oid_scope before authtoken and oid_auth in its place, in every pipeline, nothing else changed."
        ),
    )
    insert.add_argument("source", help="the shipped api-paste.ini")
    insert.add_argument("--catalog", required=True, help="path of the inter-DC catalog inside the container")
    insert.add_argument("--location", required=True, help="this DC's name in the catalog")
    insert.add_argument(
        "--service",
        required=True,
        help="the service type of this API (compute, image, network, volume): the policy checks it",
    )
    insert.add_argument(
        "--interposer",
        metavar="URL",
        help="this DC's interposer: tokens of other DCs' Keystones are validated through it (docs/identity.md)",
    )
    insert.add_argument("--secret-file", help="path of this DC's own secret (dc-secret) inside the container")
    insert.add_argument(
        "--oslo-config-project",
        help="only for a service whose [keystone_authtoken] is not in its global configuration; "
        "by default the local Keystone is validated with the service's own [keystone_authtoken]",
    )
    insert.set_defaults(handler=run_insert)


def run_insert(args) -> int:
    options = {"oid_catalog": args.catalog, "oid_location": args.location, "oid_service": args.service}
    if args.interposer:
        options["oid_interposer"] = args.interposer
    if args.secret_file:
        options["oid_federation_secret_file"] = args.secret_file
    if args.oslo_config_project:
        options["oslo_config_project"] = args.oslo_config_project
    try:
        with open(args.source, encoding="utf-8") as handle:
            sys.stdout.write(insert_filters(handle.read(), options))
    except (OSError, PasteError) as exc:
        print(f"oid: {args.source}: {exc}", file=sys.stderr)
        return 2
    return 0
