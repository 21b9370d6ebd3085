"""A stand-in API for the interposer benchmark: small JSON lists, slow lists, bytes.

    python benchmarks/backend.py PORT [CA_FILE CERT_FILE KEY_FILE]
With the three files the port is a peer port, as an interposer's: TLS with a
client certificate of that CA required (the simulated DCs' interposers).
GET /compute/v2.1/servers          -> {"servers": [...]}, at once
GET /compute/v2.1/servers?delay=S  -> the same after S seconds (any path prefix works)
GET /image/v2/images/x/file?size=N -> N bytes, streamed
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from oid.interposer.trust import PeerTLS  # noqa: E402

BLOCK = b"\0" * (1 << 20)


async def servers(request: web.Request) -> web.StreamResponse:
    delay = float(request.query.get("delay", "0"))
    if delay:
        await asyncio.sleep(delay)
    return web.json_response({"servers": [{"id": "1", "name": "vm"}]})


async def file(request: web.Request) -> web.StreamResponse:
    size = int(request.query["size"])
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    sent = 0
    while sent < size:
        part = BLOCK[: min(len(BLOCK), size - sent)]
        await response.write(part)
        sent += len(part)
    await response.write_eof()
    return response


def main() -> None:
    app = web.Application()
    app.router.add_get("/{prefix:.*}/servers", servers)
    app.router.add_get("/{prefix:.*}/file", file)
    context = PeerTLS(*sys.argv[2:5]).server_context() if len(sys.argv) == 5 else None
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), ssl_context=context, print=None, access_log=None, backlog=4096
    )


if __name__ == "__main__":
    main()
