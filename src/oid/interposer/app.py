"""The interposer's web application, logging and process lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
import time

import uvloop
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oid.interposer import validation
from oid.interposer.config import Routes, Settings
from oid.interposer.proxy import Interposer, scope_endpoint

INTERPOSER = web.AppKey("interposer", Interposer)
LOG_FIELDS = ("request_id", "method", "service", "status", "duration_ms", "location")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; only the fields listed, so that no header
    (and no token) can reach the logs by accident."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: getattr(record, key) for key in LOG_FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class QuietClientErrors(logging.Filter):
    """aiohttp's own records of bad or vanished clients: one line without the
    traceback, whose text may quote the client's header lines (tokens among
    them); a client that disconnected is not an error of this interposer."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if isinstance(error, ConnectionResetError | asyncio.CancelledError):
                return False
            record.msg = f"{record.getMessage()}: {type(error).__name__} (detail withheld: it may quote headers)"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for name in ("aiohttp.server", "aiohttp.web", "aiohttp.internal"):
        logging.getLogger(name).addFilter(QuietClientErrors())


def build_app(settings: Settings, routes: Routes | None = None) -> web.Application:
    interposer = Interposer(settings, routes or Routes.load(settings))
    # Image uploads go through unbounded: the body is streamed, never held.
    app = web.Application(client_max_size=0)
    app[INTERPOSER] = interposer
    app.on_startup.append(interposer.start)
    app.on_cleanup.append(interposer.stop)

    async def healthz(_request):
        # "ok": this interposer serves; "down": the (location, service) pairs whose
        # breaker is open or half-open, this DC's own services among them.
        return web.json_response({"status": "ok", "location": interposer.routes.here, "down": interposer.health.down()})

    async def metrics(_request):
        # Rendered in a thread: the event loop keeps serving meanwhile.
        text = await asyncio.get_running_loop().run_in_executor(None, generate_latest)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def status(_request):
        # `oid status`: the links of this DC as it sees them. Built on the event
        # loop: one entry per catalog location, no I/O (1000 DCs: a few ms).
        return web.json_response(interposer.status())

    app.router.add_get("/oid/v1/scope", scope_endpoint(interposer))
    app.router.add_get("/oid/v1/status", status)
    app.router.add_route("*", validation.ROUTE, validation.Validation(interposer, settings.keystone_account).handle)
    # Everything else: the service is read from the raw path (admission.py), not
    # from the router's decoded match, so that routing and forwarding agree.
    app.router.add_route("*", "/{path:.*}", interposer.handle)
    return app


def serve(settings: Settings, routes: Routes | None = None) -> None:
    """Run until SIGTERM/SIGINT, draining in-flight requests; SIGHUP reloads the catalog."""
    app = build_app(settings, routes)

    async def on_startup(app):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, app[INTERPOSER].reload)

    app.on_startup.append(on_startup)
    peers = settings.peer_tls
    logging.getLogger("oid.interposer").info(
        "listening on %s:%d as %s; %s",
        settings.host,
        settings.port,
        app[INTERPOSER].routes.here,
        f"peers on {peers.host}:{peers.port} (mutual TLS)" if peers else "no peers (this DC alone in the catalog)",
    )
    # The cyclic collector, out of the fan-out's way: what start-up made
    # (modules, the catalog: at 1000 DCs, tens of thousands of objects) is
    # frozen, never walked again; and the youngest generation is collected
    # every 100,000 allocations instead of 700, which an '&' over 1000 DCs
    # (thousands of short-lived objects per branch) reached hundreds of times
    # per request: 1.6x the client's own fan-out before, 1.1x after
    # (benchmarks/federation_scale.py). Memory stays bounded (RSS 76 MiB there).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    # uvloop: the event loop in C (libuv); on the fan-out and relay paths the
    # interposer spends most of its time in the loop and its transports.
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(run(app, settings))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass  # SIGTERM or SIGINT: in-flight requests drained below
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def run(app: web.Application, settings: Settings) -> None:
    """Serve ``app`` on its listeners until cancelled (SIGTERM, SIGINT)."""
    runner = web.AppRunner(
        app,
        handle_signals=True,
        shutdown_timeout=settings.shutdown_timeout,
        # A client that leaves cancels its handler: its upstream requests are
        # dropped instead of holding a pooled connection to the end.
        handler_cancellation=True,
        access_log=None,
    )
    await runner.setup()
    try:
        for site in listeners(runner, settings):
            await site.start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def listeners(runner: web.AppRunner, settings: Settings) -> list[web.TCPSite]:
    """The plain port, where this DC's clients and services enter; with mutual TLS
    between interposers (trust.py), the peer port, where other DCs' interposers
    do, each known by its certificate."""
    sites = [web.TCPSite(runner, settings.host, settings.port)]
    tls = settings.peer_tls
    if tls is not None:
        sites.append(web.TCPSite(runner, tls.host, tls.port, ssl_context=tls.server_context()))
    return sites
