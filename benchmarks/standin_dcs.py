"""Stand-ins for many DCs' interposers in one process, for benchmarks/federation_scale.py.

    python benchmarks/standin_dcs.py PORTS_FILE

PORTS_FILE is JSON: {"ports": [...], "hung": [...], "tls": {...} or absent}.
Every port answers like a DC's interposer for compute: GET /compute/ (the
version document a breaker's probe asks for) and GET /compute/v2.1/servers
(one server named after the port). A port in "hung" accepts connections and
never answers. With "tls" ({port: {ca_file, cert_file, key_file}}), every
port there is a peer port with its DC's own certificate: TLS with a client
certificate of that CA required, as an interposer's
(oid/interposer/trust.py); the ports in "plain" (the entry DC's own service)
are plain HTTP.
Runs until terminated.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from aiohttp import web


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())
    hung = set(spec["hung"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def port_of(request: web.Request) -> int:
        return request.transport.get_extra_info("sockname")[1]

    async def versions(request):
        if port_of(request) in hung:
            await asyncio.sleep(3600)
        return web.json_response({"versions": [{"id": "v2.1", "status": "CURRENT"}]})

    async def servers(request):
        port = port_of(request)
        if port in hung:
            await asyncio.sleep(3600)
        return web.json_response({"servers": [{"id": f"{port}-1", "name": "vm"}]})

    app = web.Application()
    app.router.add_get("/compute/", versions)
    app.router.add_get("/compute/v2.1/", versions)
    app.router.add_get("/compute/v2.1/servers", servers)

    async def serve():
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        from oid.interposer.trust import PeerTLS

        tls = spec.get("tls") or {}
        for port in spec["ports"]:
            files = None if port in spec.get("plain", ()) else tls.get(str(port))
            context = PeerTLS(**files).server_context() if files else None
            await web.TCPSite(runner, "127.0.0.1", port, backlog=1024, ssl_context=context).start()
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
