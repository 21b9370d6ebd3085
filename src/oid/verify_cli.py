"""`oid verify`: the command; the scenarios are in oid.verify, imported when run
(it needs requests, which the interposer's image, also shipping `oid`, lacks)."""

from __future__ import annotations

import sys

from oid.lab.inventory import LabError


def run(args) -> int:
    from oid import verify

    try:
        return verify.verify(args)
    except LabError as error:
        print(f"oid verify: {error}", file=sys.stderr)
        return 2


def register(subparsers) -> None:
    command = subparsers.add_parser(
        "verify",
        help="the acceptance table: every cell as a scenario on the lab, with its time",
        description="Run the acceptance table (DESIGN.md section 7) on the lab after `oid lab up` and "
        "`ansible-playbook playbooks/lab/site.yml -i inventories/lab`: each cell as a playbook of oid.cloud modules "
        "(playbooks/verify/) and as plain HTTP requests with X-Scope, through Berlin's interposer, cutting "
        "and healing the WAN for the partial-connectivity cells; a storage row (Cinder volumes) after the boots. "
        "Prints the table with each run's wall "
        "time and the WAN round trips it crossed; exit 1 if a cell failed.",
    )
    command.add_argument(
        "cells",
        nargs="*",
        metavar="CELL",
        help="cells to run (default: all): global-1dc, global-xdc, global-star, partial-1dc, partial-xdc, "
        "partial-star, bad, storage-global, storage-star, storage-bad, storage-partial",
    )
    command.set_defaults(handler=run)
