"""The interposer: a scope-aware HTTP proxy in front of one DC's OpenStack APIs.

One port, one path prefix per service type.  A request enters the
federation at the first interposer it reaches: there its scope is taken from
``X-Scope`` or the ``!SCOPE!`` suffix of the token, normalized against the
inter-DC catalog and checked against the collaboration policy.  It is then
sent to the local service (Kolla's internal endpoint) or to another DC's
interposer, with the scope in canonical form and a clean token.  ``&`` fans
out concurrently and merges lists; ``|`` falls back left to right, skipping
locations whose breaker is open.  Bodies are streamed; only JSON that must be
merged or rewritten is read, under a size limit.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import socket
import time
import uuid

import aiohttp
from aiohttp import web

from oid import policy
from oid.interposer import metrics
from oid.interposer.config import SERVICE_PREFIXES, Routes, Settings, UrlRewriter
from oid.interposer.health import Health
from oid.scope import (
    LOCATION_KEY,
    AllOf,
    AnyOf,
    Location,
    ScopeError,
    collection_keys,
    evaluate,
    merge_lists,
    normalize,
    parse_canonical,
)

log = logging.getLogger("oid.interposer")

SCOPE_HEADER = "X-Scope"
TOKEN_SCOPE_SEPARATOR = "!SCOPE!"
# Internal headers: only an interposer holding the federation secret may set
# them; a client's are stripped at the entry.
AUTH_HEADER = "X-Oid-Auth"
HOP_HEADER = "X-Oid-Hop"
ORIGIN_HEADER = "X-Oid-Origin"
OUTCOMES_HEADER = "X-Oid-Outcomes"
LOCATION_HEADER = "X-Oid-Location"
REQUEST_ID_HEADER = "X-Openstack-Request-Id"
SCOPE_CACHE_SIZE = 4096
# A version document (GET of a service's root or of a version root) describes
# the API, not resources, and its links are rewritten to this interposer: under
# any expression it is answered by the first location that does, this DC
# first. Otherwise an '&' with a cut-off DC would fail clients' version
# discovery, before the request that reports the DC by name.
VERSION_DOCUMENT = re.compile(r"^/?(v\d+(\.\d+)?/?)?$")
TOKEN_HEADERS = ("X-Auth-Token", "X-Subject-Token", "X-Service-Token")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class Refused(Exception):
    """A request refused before anything was forwarded."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, outcomes: list | None = None) -> web.Response:
    """The usual OpenStack error body, with per-location outcomes when there are some."""
    error = {"code": status, "title": web.Response(status=status).reason, "message": message}
    if outcomes is not None:
        error["oid_outcomes"] = outcomes
    return web.json_response({"error": error}, status=status)


def split_token(value: str | None) -> tuple[str | None, str | None]:
    """``<token>!SCOPE!<scope>`` -> (token, scope); the PoC's wire format."""
    if not value or TOKEN_SCOPE_SEPARATOR not in value:
        return value, None
    token, scope = value.split(TOKEN_SCOPE_SEPARATOR, 1)
    return token, scope


class Upstream:
    """One answer from one location, body not read yet."""

    def __init__(self, location: str, response: aiohttp.ClientResponse, rewriter: UrlRewriter):
        self.location = location
        self.response = response
        self.status = response.status
        self.rewriter = rewriter

    def is_json(self) -> bool:
        return self.response.content_type == "application/json"

    async def raw(self, limit: int) -> bytes:
        length = self.response.content_length
        if length is not None and length > limit:
            raise Refused(502, f"{self.location} answered {length} bytes of JSON, more than the limit of {limit}")
        # read(n) returns what has arrived, up to n bytes: across a real WAN a body
        # comes in several segments, so read to the end.
        chunks, size = [], 0
        async for chunk in self.response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise Refused(502, f"{self.location} answered more JSON than the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self, limit: int):
        body = await self.raw(limit)
        return json.loads(body) if body else None

    def release(self) -> None:
        self.response.release()


def partition_detecting_socket(unacked_timeout: float):
    """Upstream sockets that fail within ``unacked_timeout`` when the link is
    cut: TCP_USER_TIMEOUT bounds how long sent data may stay unacknowledged,
    keepalive probes (answered by the peer's kernel, however slow its
    service) catch a cut while a response is awaited. Without them a pooled
    connection into a partition hangs until the long read timeout."""
    idle = max(1, int(unacked_timeout))

    def make(addr_info) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(unacked_timeout * 1000))
        return sock

    return make


class Interposer:
    def __init__(self, settings: Settings, routes: Routes):
        self.settings = settings
        self.routes = routes
        self.health = Health(settings.backoff_initial, settings.backoff_max)
        self.client: aiohttp.ClientSession | None = None
        self._scopes: dict[int, dict] = {}

    # -- lifecycle -----------------------------------------------------------

    async def start(self, _app=None) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections,
            limit_per_host=0,
            socket_factory=partition_detecting_socket(self.settings.unacked_timeout),
        )
        self.client = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def stop(self, _app=None) -> None:
        if self.client is not None:
            await self.client.close()

    def reload(self) -> None:
        """Re-read the catalog (SIGHUP); a bad catalog keeps the old one."""
        try:
            self.routes = Routes.load(self.settings)
        except Exception as exc:  # the running catalog stays in use
            log.error("catalog reload failed, keeping the previous one: %s", exc)
            return
        self._scopes.clear()
        log.info("catalog reloaded: %s", ", ".join(self.routes.catalog.names))

    # -- the request path ----------------------------------------------------

    def normalized(self, text: str | None):
        """Normalize at the entry; a client repeats the same few scopes, so
        results are kept per catalog (a reload starts a new cache)."""
        cache = self._scopes.setdefault(id(self.routes), {})
        if text not in cache:
            if len(cache) >= SCOPE_CACHE_SIZE:
                cache.clear()
            cache[text] = normalize(text, self.routes.catalog, self.routes.here, defaults=policy.default_expressions)
        return cache[text]

    def trusted(self, request: web.Request) -> bool:
        given = request.headers.get(AUTH_HEADER, "")
        return bool(given) and hmac.compare_digest(given, self.settings.federation_secret)

    def scope_of(self, request: web.Request, service: str, trusted: bool):
        _token, token_scope = split_token(request.headers.get("X-Auth-Token"))
        text = request.headers.get(SCOPE_HEADER) or token_scope
        try:
            if trusted and text:
                return parse_canonical(text)  # normalized upstream: never guess again
            scope = self.normalized(text)
            policy.check(scope, service, request.method)
        except ScopeError as exc:
            raise Refused(400, str(exc)) from None
        return scope

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        service = request.match_info["service"]
        request_id = request.headers.get(REQUEST_ID_HEADER) or f"req-{uuid.uuid4()}"
        status = 500
        try:
            response = await self.route(request, service, request_id)
            status = response.status
            return response
        except Refused as exc:
            status = exc.status
            return error_response(exc.status, exc.message)
        finally:
            elapsed = time.perf_counter() - started
            metrics.REQUESTS.labels(service=service, code=str(status)).inc()
            metrics.LATENCY.labels(service=service).observe(elapsed)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "service": service,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    async def route(self, request: web.Request, service: str, request_id: str) -> web.StreamResponse:
        if service not in SERVICE_PREFIXES:
            raise Refused(404, f"no service {service!r} here; services: {', '.join(SERVICE_PREFIXES)}")
        trusted = self.trusted(request)
        hops = int(request.headers.get(HOP_HEADER, "0")) if trusted else 0
        if hops >= self.settings.max_hops:
            raise Refused(508, f"forwarding loop: {hops} hops, more than the limit of {self.settings.max_hops}")
        scope = self.scope_of(request, service, trusted)
        expr = scope.services.get(service)
        if expr is None:
            raise Refused(400, f"the scope names no location for {service} and {self.routes.here} offers none")
        locations = expr.locations()
        if len(locations) > self.settings.max_fanout:
            raise Refused(400, f"the scope spans {len(locations)} locations, more than {self.settings.max_fanout}")
        unknown = [loc for loc in locations if loc not in self.routes.catalog.sites]
        if unknown:
            raise Refused(400, f"locations not in this interposer's catalog: {', '.join(unknown)}")
        origin = request.headers.get(ORIGIN_HEADER, self.routes.here) if trusted else self.routes.here
        call = Call(self, request, service, scope, hops, origin, request_id)
        if isinstance(expr, Location):
            return await call.single(expr.name)
        if request.method == "GET" and VERSION_DOCUMENT.match(call.tail):
            ordered = sorted(locations, key=lambda location: location != self.routes.here)
            return await call.combined(AnyOf(tuple(Location(location) for location in ordered)))
        return await call.combined(expr)


class Call:
    """One client request being forwarded to one or several locations."""

    def __init__(self, interposer, request, service, scope, hops, origin, request_id):
        self.interposer = interposer
        self.settings = interposer.settings
        self.routes = interposer.routes
        self.request = request
        self.service = service
        self.scope = scope
        self.hops = hops
        self.origin = origin
        self.request_id = request_id
        # Everything after "/<service>", as sent (trailing slash and escapes kept).
        self.tail = request.rel_url.raw_path[len(service) + 1 :]
        self.own_base = f"{request.scheme}://{request.host}/{service}"
        self.body: bytes | None = None

    def headers_for(self, location: str) -> dict[str, str]:
        """Headers sent upstream: the client's minus hop-by-hop and internal
        ones, clean tokens, the narrowed canonical scope, our own internals."""
        headers = {
            key: value
            for key, value in self.request.headers.items()
            if key.lower() not in HOP_BY_HOP
            and not key.lower().startswith("x-oid-")
            and key.lower() not in ("x-scope", "accept-encoding")  # JSON is read here: keep it plain
        }
        for name in TOKEN_HEADERS:
            if name in headers:
                headers[name] = split_token(headers[name])[0]
        narrowed = policy.narrow(self.scope, self.service, Location(location))
        headers[SCOPE_HEADER] = narrowed.canonical()
        headers[AUTH_HEADER] = self.settings.federation_secret
        headers[HOP_HEADER] = str(self.hops + 1)
        headers[ORIGIN_HEADER] = self.origin
        headers[REQUEST_ID_HEADER] = self.request_id
        return headers

    def url_for(self, location: str) -> str:
        query = self.request.rel_url.query_string
        suffix = self.tail
        if location == self.routes.here:
            base = self.routes.local_endpoint(self.service)
            if base is None:
                raise Refused(404, f"{location} offers no {self.service} service")
        else:
            base = self.routes.interposer(location) + "/" + self.service
        return base + suffix + ("?" + query if query else "")

    async def open(self, location: str, data) -> Upstream:
        """Send the request to one location; failures of the link mark its breaker."""
        health = self.interposer.health
        timeout = aiohttp.ClientTimeout(
            sock_connect=self.routes.connect_timeout(location, self.settings.connect_timeout),
            sock_read=self.settings.read_timeout,
        )
        metrics.UPSTREAM_REQUESTS.labels(service=self.service, location=location).inc()
        started = time.monotonic()
        try:
            response = await self.interposer.client.request(
                self.request.method,
                self.url_for(location),
                headers=self.headers_for(location),
                data=data,
                timeout=timeout,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            health.failed(location)
            metrics.FAILURES.labels(service=self.service, location=location, reason=type(exc).__name__).inc()
            metrics.BREAKER.labels(location=location).set(health.state(location))
            raise
        health.succeeded(location)
        metrics.UPSTREAM_LATENCY.labels(service=self.service, location=location).observe(time.monotonic() - started)
        metrics.BREAKER.labels(location=location).set(health.state(location))
        if response.status >= 500:
            metrics.FAILURES.labels(service=self.service, location=location, reason=str(response.status)).inc()
        return Upstream(location, response, self.routes.rewriter(self.service))

    # -- one location: stream both ways ---------------------------------------

    async def single(self, location: str) -> web.StreamResponse:
        if not self.interposer.health.is_available(location):
            return error_response(
                503, f"{location} is cut off (no answer recently); retry later", [self.skipped(location)]
            )
        try:
            upstream = await self.open(location, self.request.content if self.request.can_read_body else None)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return error_response(502, f"{location} did not answer: {describe(exc)}", [failed(location, exc)])
        return await self.relay(upstream)

    async def relay(self, upstream: Upstream, extra_headers: dict | None = None) -> web.StreamResponse:
        """Send one upstream answer to the client: JSON rewritten, the rest streamed."""
        try:
            headers = self.response_headers(upstream)
            headers.update(extra_headers or {})
            if upstream.is_json() and (upstream.response.content_length or 0) <= self.settings.max_json_bytes:
                raw = await upstream.raw(self.settings.max_json_bytes)
                # Parse and rewrite only what carries an upstream URL.
                if upstream.rewriter.mentions(raw):
                    headers.pop("Content-Type", None)
                    body = upstream.rewriter.rewrite(json.loads(raw), self.own_base)
                    return web.json_response(body, status=upstream.status, headers=headers, dumps=compact_json)
                return web.Response(body=raw, status=upstream.status, headers=headers)
            response = web.StreamResponse(status=upstream.status, headers=headers)
            if upstream.response.content_length is not None:
                response.content_length = upstream.response.content_length
            await response.prepare(self.request)
            async for chunk in upstream.response.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            upstream.release()

    def response_headers(self, upstream: Upstream) -> dict[str, str]:
        headers = {key: value for key, value in upstream.response.headers.items() if key.lower() not in HOP_BY_HOP}
        if "Location" in headers:
            headers["Location"] = upstream.rewriter.url(headers["Location"], self.own_base)
        headers[LOCATION_HEADER] = upstream.response.headers.get(LOCATION_HEADER, upstream.location)
        headers.setdefault(REQUEST_ID_HEADER, self.request_id)
        return headers

    # -- several locations ---------------------------------------------------

    async def combined(self, expr) -> web.StreamResponse:
        if self.request.can_read_body:
            # The body goes to several locations: it must be held once.
            self.body = await self.request.content.read(self.settings.max_json_bytes + 1)
            if len(self.body) > self.settings.max_json_bytes:
                raise Refused(
                    413, f"a body sent to several locations is limited to {self.settings.max_json_bytes} bytes"
                )
        is_read = self.request.method in policy.READ_METHODS

        def is_failure(upstream: Upstream) -> bool:
            if upstream.status >= 500:
                return True
            if isinstance(expr, AllOf):
                return upstream.status >= 400  # '&' succeeds only where every branch does
            return is_read and upstream.status == 404  # '|' read: not there, try the next

        result = await evaluate(
            expr,
            lambda location: self.open(location, self.body),
            is_failure=is_failure,
            is_available=self.interposer.health.is_available,
        )
        if not result.ok:
            return await self.failure(result)
        if len(result.values) == 1:
            (location, upstream), *_ = result.values
            await self.release_failed(result, keep=upstream)
            return await self.relay(upstream, {OUTCOMES_HEADER: outcomes_header(result)})
        return await self.merged(result)

    async def merged(self, result) -> web.Response:
        """``&`` succeeded everywhere: one list of the same type, or the first
        resource with every location's outcome in a header."""
        bodies = []
        try:
            for location, upstream in result.values:
                body = await upstream.json(self.settings.max_json_bytes) if upstream.is_json() else None
                bodies.append((location, upstream.rewriter.rewrite(body, self.own_base)))
        finally:
            for _location, upstream in result.values:
                upstream.release()
        first_status = result.values[0][1].status
        headers = {OUTCOMES_HEADER: outcomes_header(result), REQUEST_ID_HEADER: self.request_id}
        headers[LOCATION_HEADER] = "&".join(location for location, _ in bodies)
        if all(collection_keys(body) for _location, body in bodies):
            try:
                return web.json_response(merge_lists(bodies), status=first_status, headers=headers, dumps=compact_json)
            except ValueError:
                pass  # not lists of one kind: answered as single resources below
        location, body = bodies[0]
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), dict):
            key = next(iter(body))
            body = {key: dict(body[key], **{LOCATION_KEY: location})}
        elif isinstance(body, dict):
            body = dict(body, **{LOCATION_KEY: location})
        return web.json_response(body, status=first_status, headers=headers, dumps=compact_json)

    async def failure(self, result) -> web.Response:
        outcomes = []
        for outcome in result.outcomes:
            if outcome.ok:
                outcomes.append({"location": outcome.location, "ok": True, "status": outcome.value.status})
            elif outcome.skipped:
                outcomes.append(self.skipped(outcome.location))
            elif outcome.error is not None:
                outcomes.append(failed(outcome.location, outcome.error))
            else:
                upstream = outcome.value
                detail = await upstream.response.text(errors="replace")
                outcomes.append(
                    {"location": outcome.location, "ok": False, "status": upstream.status, "detail": detail[:2000]}
                )
        for outcome in result.outcomes:
            if isinstance(outcome.value, Upstream):
                outcome.value.release()
        bad = [o["location"] for o in outcomes if not o["ok"]]
        statuses = [o.get("status") for o in outcomes if not o["ok"]]
        status = statuses[0] if len(set(statuses)) == 1 and statuses[0] and statuses[0] < 500 else 502
        kind = "every alternative failed" if isinstance(self.scope.services[self.service], AnyOf) else "failed at"
        return error_response(status, f"{kind}: {', '.join(bad)}", outcomes)

    async def release_failed(self, result, keep) -> None:
        for outcome in result.outcomes:
            if isinstance(outcome.value, Upstream) and outcome.value is not keep:
                outcome.value.release()

    def skipped(self, location: str) -> dict:
        return {"location": location, "ok": False, "detail": "skipped: cut off recently, back-off running"}


def failed(location: str, exc: BaseException) -> dict:
    return {"location": location, "ok": False, "detail": describe(exc)}


def describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def outcomes_header(result) -> str:
    return ",".join(f"{o.location}={'ok' if o.ok else 'skipped' if o.skipped else 'failed'}" for o in result.outcomes)


def compact_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def scope_endpoint(interposer: Interposer):
    """GET /oid/v1/scope: the scope as this entry normalizes it (for modules)."""

    async def answer(request: web.Request) -> web.Response:
        _token, token_scope = split_token(request.headers.get("X-Auth-Token"))
        text = request.headers.get(SCOPE_HEADER) or token_scope
        routes = interposer.routes
        try:
            scope = normalize(text, routes.catalog, routes.here, defaults=policy.default_expressions)
        except ScopeError as exc:
            return error_response(400, str(exc))
        return web.json_response(
            {"scope": scope.as_dict(), "entry": routes.here, "locations": routes.catalog.names},
            dumps=compact_json,
        )

    return answer
