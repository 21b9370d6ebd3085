"""`oid status`: the federation at a glance, read from its interposers.

One interposer (the entry given) lists every DC of its catalog with the URL of
its interposer; each of those is asked for its own view (GET /oid/v1/status,
docs/interposer.md): how its link to every other DC answers now, and which
breakers are open and why. Printed: the DCs, whether each interposer answers
this machine, and the links that are not well first. Exit 0 when every
interposer answers and no breaker is open, 1 otherwise, 2 when the entry
itself cannot be read.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

STATUS_PATH = "/oid/v1/status"


async def read_status(session: aiohttp.ClientSession, url: str) -> tuple[dict | None, str, float]:
    """(the interposer's status or None, why not, seconds taken)."""
    started = time.monotonic()
    try:
        async with session.get(url.rstrip("/") + STATUS_PATH) as answer:
            if answer.status != 200:
                return None, f"answered {answer.status}", time.monotonic() - started
            body = await answer.json(content_type=None)
    except TimeoutError:
        return None, "no answer in time", time.monotonic() - started
    except (aiohttp.ClientError, ValueError) as exc:
        return None, str(exc) or type(exc).__name__, time.monotonic() - started
    if not isinstance(body, dict) or not isinstance(body.get("links"), list):
        return None, "not an oid interposer's status", time.monotonic() - started
    return body, "", time.monotonic() - started


async def gather(entry: str, timeout: float, concurrency: int) -> dict:
    """The entry's status, then every DC's (at most ``concurrency`` at once)."""
    limits = aiohttp.TCPConnector(limit=concurrency)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=limits, timeout=client_timeout) as session:
        first, why, _ = await read_status(session, entry)
        if first is None:
            raise StatusError(f"{entry}: {why}")
        dcs = [(link["location"], link.get("interposer")) for link in first["links"]]

        async def one(location, url):
            if not url:
                return location, url, None, "no interposer URL in the catalog", 0.0
            return (location, url, *await read_status(session, url))

        views = await asyncio.gather(*(one(location, url) for location, url in dcs))
    return {"entry": first["location"], "dcs": [dict(zip(VIEW_KEYS, view, strict=True)) for view in views]}


VIEW_KEYS = ("location", "interposer", "status", "why", "seconds")


class StatusError(Exception):
    """The entry interposer could not be read."""


def link_rows(federation: dict) -> list[tuple]:
    """(problem?, from, to, latency, answers, breakers): one per link an interposer
    has used or has a breaker for; the ones not well first."""
    rows = []
    for dc in federation["dcs"]:
        for link in (dc["status"] or {}).get("links", []):
            if not link.get("answers") and not link.get("breakers"):
                continue  # a link never used: nothing known of it
            breakers = "; ".join(
                f"{b['service']} {b['breaker']}: {b['reason'] or 'no reason recorded'}" for b in link["breakers"]
            )
            latency = "-" if link.get("latency_ms") is None else f"{link['latency_ms']:.1f} ms"
            rows.append((bool(breakers), dc["location"], link["location"], latency, link["answers"], breakers or "-"))
    rows.sort(key=lambda row: (not row[0], row[1], row[2]))
    return rows


def render(federation: dict, limit: int) -> str:
    dcs = federation["dcs"]
    silent = [dc for dc in dcs if dc["status"] is None]
    lines = [
        f"oid status: {len(dcs)} DCs in {federation['entry']}'s catalog; "
        f"{len(dcs) - len(silent)} interposers answer, {len(silent)} do not",
        "",
        table(
            ("DC", "interposer", "its interposer"),
            [
                (
                    dc["location"],
                    dc["interposer"] or "-",
                    f"answers ({dc['seconds'] * 1000:.0f} ms)" if dc["status"] else f"NO ANSWER: {dc['why']}",
                )
                for dc in sorted(dcs, key=lambda dc: (dc["status"] is not None, dc["location"]))
            ],
        ),
    ]
    rows = link_rows(federation)
    lines += ["", "links (as each interposer sees them: the recent time to an answer, breakers not closed)"]
    shown = rows if limit <= 0 else rows[:limit]
    lines.append(table(("from", "to", "latency", "answers", "breakers"), [row[1:] for row in shown]))
    if len(shown) < len(rows):
        lines.append(f"... and {len(rows) - len(shown)} more links (--limit 0 shows all)")
    return "\n".join(lines)


def table(header: tuple, rows: list[tuple]) -> str:
    cells = [tuple(str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(line.rstrip() for line in lines)


def healthy(federation: dict) -> bool:
    return all(dc["status"] is not None for dc in federation["dcs"]) and not any(
        row[0] for row in link_rows(federation)
    )


def run(args) -> int:
    try:
        federation = asyncio.run(gather(args.entry, args.timeout, args.concurrency))
    except StatusError as error:
        print(f"oid status: the entry interposer cannot be read: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(federation, indent=2))
    else:
        print(render(federation, args.limit))
    return 0 if healthy(federation) else 1


def register(subparsers) -> None:
    command = subparsers.add_parser(
        "status",
        help="the federation at a glance: DCs, links and their breakers, from the interposers",
        description="Ask one DC's interposer (--entry) for the DCs of its catalog, then every DC's "
        "interposer for its view of its links (GET /oid/v1/status): whether it answers this machine, "
        "the recent time to an answer on each link it uses, and the breakers that are open and why. "
        "Exit 0: every interposer answers and no breaker is open; 1: something is not well; 2: the "
        "entry cannot be read.",
    )
    command.add_argument(
        "--entry",
        required=True,
        metavar="URL",
        help="a DC's interposer, e.g. http://10.0.1.10:8790 (the plain port; on the lab: "
        "`oid lab status` lists the DCs' addresses)",
    )
    command.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each interposer (5)")
    command.add_argument("--concurrency", type=int, default=50, help="interposers asked at once (50)")
    command.add_argument("--limit", type=int, default=40, help="links printed, not well first (40; 0: all)")
    command.add_argument("--json", action="store_true", help="every interposer's status as JSON")
    command.set_defaults(handler=run)
