"""The interposer: a scope-aware HTTP proxy in front of one DC's OpenStack APIs.

One port, one path prefix per service type. A request enters the federation
at the first interposer it reaches: there it is admitted (admission.py: its
path normalized, its scope normalized and checked against the collaboration
policy, its trust and hop count read), then sent (upstream.py: one pool per
location, breakers per location and service) to the local service (Kolla's
internal endpoint) or to another DC's interposer, with the scope narrowed to
what that branch needs and a clean token; the answers are relayed or merged
here. ``&`` fans out concurrently and merges lists; ``|`` falls back left to
right, skipping locations whose breaker is open. Bodies are streamed; a body
that goes to several locations, or may have to be sent again, is held once
(body.py); only JSON that must be merged or rewritten is read, under a limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from aiohttp import web
from multidict import CIMultiDict

from oid import policy
from oid.entry import AUTH_HEADER, HOP_HEADER, ORIGIN_HEADER, SCOPE_HEADER, split_token
from oid.interposer import metrics
from oid.interposer.admission import IDENTITY_TOKENS_HEADER, Admission, Refused, is_single
from oid.interposer.body import ClientGone, HeldBody, StreamedBody, TooLarge
from oid.interposer.config import Routes, Settings
from oid.interposer.health import Health
from oid.interposer.upstream import NOT_DELIVERED, Link, NotRetried, Oversized, Prober, Upstream, describe
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
)

log = logging.getLogger("oid.interposer")

OUTCOMES_HEADER = "X-Oid-Outcomes"
LOCATION_HEADER = "X-Oid-Location"
MISSING_HEADER = "X-Oid-Missing"
# Headers listing locations stay under these many bytes whatever the number
# of DCs (a 1000-wide answer once carried 17 KB of headers, which aiohttp's
# own client refuses): past it they are cut short, and the body, which says
# what happened at every location, is where the whole story is.
MAX_LIST_HEADER = 1024
# An '&' is strict: it answers only when every location did. A client asks
# for the reachable part ("access reachable resources") with this
# preference (RFC 7240): the answer then holds what the locations that
# answered gave, and names every missing one and why.
REACHABLE_PREFERENCE = "oid-reachable"
MISSING_KEY = "oid_missing"
REQUEST_ID_HEADER = "X-Openstack-Request-Id"
# A version document (GET of a service's root or of a version root) describes
# the API, not resources, and its links are rewritten to this interposer: under
# any expression it is answered by the first location that does, this DC
# first. Otherwise an '&' with a cut-off DC would fail clients' version
# discovery, before the request that reports the DC by name.
VERSION_DOCUMENT = re.compile(r"^/?(v\d+(\.\d+)?/?)?$")
TOKEN_HEADERS = ("X-Auth-Token", "X-Subject-Token", "X-Service-Token")
# What the entry reads and does not pass on (lower case).
ENTRY_ONLY_HEADERS = ("x-scope", IDENTITY_TOKENS_HEADER.lower(), "accept-encoding")
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
# Methods '|' may send to the next alternative after the previous one may have
# received them: a POST that failed with a 5xx or a timeout may have created
# something there (two servers for one request).
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
# Creates whose API takes the new resource's id from the client (service, path):
# under '&' each location would pick an id of its own, and what the client does
# next under the same scope (an image's bytes to /v2/images/<id>/file, as the
# openstack CLI and openstacksdk send them) would find it at one location only.
# Where the client chose none, the entry chooses one for every location.
CLIENT_CHOSEN_IDS = {("image", "/v2/images"): "id"}
# Status of a request whose client left before its answer (nginx's convention):
# counted apart from the 5xx of the interposer.
CLIENT_CLOSED = 499


def error_response(status: int, message: str, outcomes: list | None = None) -> web.Response:
    """The usual OpenStack error body, with per-location outcomes when there are some."""
    error = {"code": status, "title": web.Response(status=status).reason, "message": message}
    if outcomes is not None:
        error["oid_outcomes"] = outcomes
    return web.json_response({"error": error}, status=status)


class Interposer:
    def __init__(self, settings: Settings, routes: Routes):
        routes.require_peer_tls(settings)
        self.settings = settings
        self.routes = routes
        self.admission = Admission(settings, routes)
        self.health = Health(settings.backoff_initial, settings.backoff_max)
        self.link = Link(settings, self.health, lambda: self.routes.here)
        self.prober = Prober(self.link, self.probe_url)
        self._reloading: asyncio.Task | None = None

    # -- lifecycle -----------------------------------------------------------

    async def start(self, _app=None) -> None:
        self.prober.start()

    async def stop(self, _app=None) -> None:
        await self.prober.stop()
        await self.link.pools.close()

    def reload(self) -> asyncio.Task:
        """Re-read the catalog (SIGHUP), off the event loop (a 1000-DC catalog
        takes a while to load, and requests go on meanwhile with the old one);
        a bad catalog keeps the old one. Returns the task, for whoever waits."""
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self._reload())
        return self._reloading

    async def _reload(self) -> None:
        try:
            routes = await asyncio.get_running_loop().run_in_executor(None, Routes.load, self.settings)
        except Exception as exc:  # the running catalog stays in use
            log.error("catalog reload failed, keeping the previous one: %s", exc)
            return
        self.routes = routes
        self.admission.use(routes)
        log.info("catalog reloaded: %d locations", len(routes.catalog.sites))

    def status(self) -> dict:
        """The federation as this interposer sees it, for `oid status`: every
        location of its catalog (this DC's own services included), where its
        interposer is, how its link answers now (LinkStats) and the breakers
        that are not closed, with why."""
        now = time.monotonic()
        down: dict[str, list] = {}
        for entry in self.health.down():
            down.setdefault(entry["location"], []).append(
                {"service": entry["service"], "breaker": entry["breaker"], "reason": entry["reason"]}
            )
        links = []
        for location, site in self.routes.catalog.sites.items():
            stats = self.link.stats.get(location)
            links.append(
                {
                    "location": location,
                    "interposer": site.extra.get("interposer"),
                    "latency_ms": round(stats.latency * 1000, 1) if stats else None,
                    "answers": stats.answers if stats else 0,
                    "last_answer_seconds_ago": round(now - stats.last, 1) if stats else None,
                    "breakers": down.get(location, []),
                }
            )
        return {"location": self.routes.here, "links": links}

    def probe_url(self, location: str, service: str) -> str | None:
        """What the background prober GETs to learn whether (location, service) answers again."""
        routes = self.routes
        if location not in routes.catalog.sites:
            return None
        if location == routes.here:
            local = routes.local_endpoint(service)
            return None if local is None else local + "/"
        return f"{routes.peer(location)}/{service}/"

    # -- the request path ----------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        # Metric labels take only known values: a client's path never makes a series.
        service = "unknown"
        request_id = request.headers.get(REQUEST_ID_HEADER) or f"req-{uuid.uuid4()}"
        status = 500
        try:
            admitted = self.admission.admit(request)
            service = admitted.service
            response = await Call(self, request, admitted, request_id).run()
            status = response.status
            return response
        except Refused as exc:
            status = exc.status
            return error_response(exc.status, exc.message)
        except ClientGone as exc:
            status = CLIENT_CLOSED  # the client's body broke off: its failure, not a location's
            return error_response(400, str(exc))
        except (ConnectionResetError, asyncio.CancelledError):
            status = CLIENT_CLOSED  # the client left: nothing to answer, nothing failed here
            raise
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


class Call:
    """One admitted request being forwarded to one or several locations."""

    def __init__(self, interposer: Interposer, request: web.Request, admitted, request_id: str):
        self.interposer = interposer
        self.settings = interposer.settings
        self.routes = interposer.routes
        self.health = interposer.health
        self.request = request
        self.admitted = admitted
        self.service = admitted.service
        self.scope = admitted.scope
        self.tail = admitted.tail  # everything after "/<service>", normalized, escapes kept
        self.request_id = request_id
        # What upstream URLs in answers become (with their path): this interposer,
        # and the scope's part of the path when the client gave its scope there.
        self.own_url = self.routes.own_url(request) + admitted.prefix
        self.reachable = prefers_reachable(request.headers.getall("Prefer", ()))
        self._base_headers: CIMultiDict | None = None
        self._narrowing = None

    async def run(self) -> web.StreamResponse:
        expr = self.admitted.expr
        if is_single(expr):
            return await self.single(expr.name)
        if self.request.method == "GET" and VERSION_DOCUMENT.match(self.tail):
            here = self.routes.here
            ordered = sorted(self.admitted.locations, key=lambda location: location != here)
            return await self.combined(AnyOf(tuple(Location(location) for location in ordered)))
        return await self.combined(expr)

    # -- what goes upstream --------------------------------------------------

    def headers_for(self, location: str) -> CIMultiDict:
        """Headers sent upstream: the client's (repeated ones kept) minus hop-by-hop
        and internal ones, clean tokens, the narrowed canonical scope, our own internals.
        What is the same for every branch is computed once per request."""
        if self._base_headers is None:
            self._base_headers = self.client_headers()
            self._narrowing = policy.Narrowing(self.scope, self.service)
        headers = self._base_headers.copy()
        if location != self.routes.here:
            # A peer knows this DC by its certificate: it gets neither this DC's
            # own secret nor a claim of origin (one is the certificate's).
            del headers[AUTH_HEADER], headers[ORIGIN_HEADER]
        if self.service == "identity" and location in self.admitted.identity_tokens:
            headers["X-Auth-Token"] = self.admitted.identity_tokens[location]  # that Keystone's own token
        headers[SCOPE_HEADER] = self._narrowing.canonical(location)
        return headers

    def client_headers(self) -> CIMultiDict:
        headers = CIMultiDict()
        for key, value in self.request.headers.items():
            lower = key.lower()
            if lower in HOP_BY_HOP or lower.startswith("x-oid-") or lower in ENTRY_ONLY_HEADERS:
                continue  # accept-encoding: JSON is read here, keep it plain
            headers.add(key, split_token(value)[0] if key.title() in TOKEN_HEADERS else value)
        headers[AUTH_HEADER] = self.settings.federation_secret
        headers[HOP_HEADER] = str(self.admitted.hops + 1)
        headers[ORIGIN_HEADER] = self.admitted.origin
        headers[REQUEST_ID_HEADER] = self.request_id
        return headers

    def url_for(self, location: str) -> str:
        if location == self.routes.here:
            base = self.routes.local_endpoint(self.service)
            if base is None:
                raise Refused(404, f"{location} offers no {self.service} service")
        else:
            base = self.routes.peer(location) + "/" + self.service
        # The query as sent: rebuilt from its decoded form, '?name=a%23b' became '?name=a'.
        query = self.request.rel_url.raw_query_string
        return base + self.tail + ("?" + query if query else "")

    async def open(self, location: str, body) -> Upstream:
        return await self.interposer.link.send(
            location,
            self.service,
            self.request.method,
            self.url_for(location),
            self.headers_for(location),
            body,
            self.routes.connect_timeout(location, self.settings.connect_timeout),
            self.routes.rewriter(self.service, scoped=bool(self.admitted.prefix)),
        )

    def available(self, location: str) -> bool:
        return self.health.is_available((location, self.service))

    # -- one location: stream both ways ---------------------------------------

    async def single(self, location: str) -> web.StreamResponse:
        if not self.available(location):
            return error_response(
                503, f"{self.service} at {location} is cut off (no answer recently); retry later", [skipped(location)]
            )
        body = StreamedBody(self.request.content) if self.request.can_read_body else None
        try:
            upstream = await self.open(location, body)
        except (ClientGone, Refused):
            raise
        except Exception as exc:
            return error_response(502, f"{location} did not answer: {describe(exc)}", [failed(location, exc)])
        return await self.relay(upstream)

    async def relay(self, upstream: Upstream, extra_headers: dict | None = None) -> web.StreamResponse:
        """Send one upstream answer to the client: JSON with upstream URLs rewritten,
        anything else (or JSON too large, or not valid) streamed as it came."""
        try:
            headers = self.response_headers(upstream)
            headers.update(extra_headers or {})
            read = []
            if upstream.is_json():
                try:
                    raw = await upstream.raw(self.settings.max_json_bytes)
                except Oversized as exc:
                    read = exc.chunks  # past the limit: relayed unrewritten, streamed
                else:
                    return self.json_answer(upstream, raw, headers)
            return await self.stream(upstream, headers, read)
        finally:
            upstream.release()

    def json_answer(self, upstream: Upstream, raw: bytes, headers: CIMultiDict) -> web.Response:
        if upstream.rewriter.mentions(raw):
            try:
                raw = compact_json(upstream.rewriter.rewrite(json.loads(raw), self.own_url)).encode()
            except (ValueError, RecursionError):
                pass  # not JSON after all (or absurdly deep): relayed as it came
        return web.Response(body=raw, status=upstream.status, headers=headers)

    async def stream(self, upstream: Upstream, headers: CIMultiDict, already_read: list[bytes]):
        response = web.StreamResponse(status=upstream.status, headers=headers)
        if upstream.response.content_length is not None:
            response.content_length = upstream.response.content_length
        await response.prepare(self.request)
        for chunk in already_read:
            await response.write(chunk)
        async for chunk in upstream.response.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response

    def response_headers(self, upstream: Upstream) -> CIMultiDict:
        """The service's headers as it sent them (repeated ones kept, its request id
        alone, its Content-Type untouched), Location rewritten, ours added."""
        headers = CIMultiDict()
        for key, value in upstream.response.headers.items():
            if key.lower() in HOP_BY_HOP:
                continue
            headers.add(key, upstream.rewriter.url(value, self.own_url) if key.lower() == "location" else value)
        headers[LOCATION_HEADER] = upstream.response.headers.get(LOCATION_HEADER, upstream.location)
        if REQUEST_ID_HEADER not in headers:
            headers[REQUEST_ID_HEADER] = self.request_id
        return headers

    # -- several locations ---------------------------------------------------

    async def combined(self, expr) -> web.StreamResponse:
        body = None
        if self.request.can_read_body:
            # The body goes to several locations, or may have to be sent again: held once.
            try:
                body = await HeldBody.read(
                    self.request.content, self.settings.max_replay_bytes, self.settings.spool_directory
                )
            except TooLarge as exc:
                raise Refused(413, str(exc)) from None
            if isinstance(expr, AllOf):
                body = self.with_one_id(body)
        try:
            return await self.evaluate(expr, body)
        finally:
            if body is not None:
                body.close()

    def with_one_id(self, body: HeldBody) -> HeldBody:
        """The create's body with an id chosen here when the API takes one from the
        client and the client gave none (CLIENT_CHOSEN_IDS); otherwise as it came."""
        key = CLIENT_CHOSEN_IDS.get((self.service, self.tail.rstrip("/")))
        if key is None or self.request.method != "POST" or not body.in_memory():
            return body
        try:
            document = json.loads(body.payload())
        except (ValueError, RecursionError):
            return body  # not JSON, or nested past the parser: the service says what is wrong with it
        if not isinstance(document, dict) or key in document:
            return body
        document[key] = str(uuid.uuid4())
        body.close()
        return HeldBody.of(json.dumps(document).encode())

    def deadline_for(self, expr, body) -> float | None:
        """When an '&' stops waiting for its branches (None: no deadline). A body
        held in a spool file (past 1 MiB) goes without: sending it to every
        location takes as long as it takes."""
        if not isinstance(expr, AllOf) or (body is not None and not body.in_memory()):
            return None
        return asyncio.get_running_loop().time() + self.settings.fanout_deadline

    async def evaluate(self, expr, body) -> web.StreamResponse:
        is_read = self.request.method in policy.READ_METHODS
        retriable = self.request.method in IDEMPOTENT_METHODS
        fan_out = isinstance(expr, AllOf)
        partial = fan_out and self.reachable
        deadline = self.deadline_for(expr, body)
        if fan_out:
            metrics.FANOUT_WIDTH.observe(len(self.admitted.locations))

        def is_failure(upstream) -> bool:
            if isinstance(upstream, NotRetried):
                return False  # stops '|': reported below, never sent elsewhere
            if isinstance(expr, AllOf):
                return upstream.status >= 400  # '&' succeeds only where every branch does
            if upstream.status >= 500:
                return retriable
            return is_read and upstream.status == 404  # '|' read: not there, try the next

        async def send(location):
            try:
                return await self.open(location, body)
            except (ClientGone, Refused, *NOT_DELIVERED):
                raise  # the client's fault, a refusal, or never sent: '|' may go on
            except Exception as exc:
                if retriable or isinstance(expr, AllOf):
                    raise
                return NotRetried(location, exc)

        async def branch(location):
            """An '&' branch: its answer and what the merge reads of it, within the deadline."""
            upstream = None
            try:
                async with asyncio.timeout_at(deadline) as window:
                    upstream = await send(location)
                    await upstream.preread(self.settings.max_json_bytes, self.settings.max_error_detail)
                    return upstream
            except TimeoutError:
                if upstream is not None:
                    upstream.release()
                if not window.expired():
                    raise  # the link's own timeout
                reason = f"no answer within the {self.settings.fanout_deadline:g} s deadline"
                self.interposer.link.failed((location, self.service), reason, "deadline")
                raise PastDeadline(reason) from None
            except BaseException:
                if upstream is not None:
                    upstream.release()
                raise

        operation = branch if fan_out else send
        result = await evaluate(expr, operation, is_failure=is_failure, is_available=self.available, partial=partial)
        for outcome in result.outcomes:
            if isinstance(outcome.error, ClientGone | Refused):
                await self.release_all(result)
                raise outcome.error
        if not result.ok:
            return await self.failure(result)
        values = [(location, value) for location, value in result.values]
        if len(values) == 1 and not fan_out:
            location, upstream = values[0]
            await self.release_all(result, keep=upstream)
            if isinstance(upstream, NotRetried):
                message = f"{self.request.method} may have reached {location} and is not sent elsewhere"
                return error_response(502, f"{message}: {describe(upstream.error)}", outcomes_of(result))
            return await self.relay(upstream, {OUTCOMES_HEADER: outcomes_header(result)})
        return await self.merged(result)

    async def merged(self, result) -> web.Response:
        """``&`` succeeded (everywhere, or where it could with the reachable
        preference): one list of the same type, or the first resource, with
        every location's outcome in a header, and the missing ones in the
        body. Answers that are not JSON cannot be merged: empty ones (a 204)
        make an empty answer, others are refused (an image file from two DCs
        is two files)."""
        missing = [await self.outcome_entry(outcome) for outcome in result.outcomes if not outcome.ok]
        bodies = []
        try:
            for location, upstream in result.values:
                if not upstream.is_json():
                    head = await upstream.head_of_body(1)
                    if head:
                        return error_response(
                            502,
                            f"{location} answered a body that is not JSON: answers under '&' are merged, and such "
                            "bodies cannot be; name one location, or use '|'",
                            outcomes_of(result),
                        )
                    bodies.append((location, None))
                    continue
                try:
                    raw = await upstream.raw(self.settings.max_json_bytes)
                    body = json.loads(raw) if raw else None
                except (Oversized, ValueError, RecursionError):
                    message = f"{location} answered a body that is not JSON within the limit"
                    return error_response(502, f"{message}; answers under '&' cannot be merged", outcomes_of(result))
                if upstream.rewriter.mentions(raw):  # most answers carry no link: not walked
                    body = upstream.rewriter.rewrite(body, self.own_url)
                bodies.append((location, body))
        finally:
            await self.release_all(result)
        status = result.values[0][1].status
        headers = {OUTCOMES_HEADER: outcomes_header(result), REQUEST_ID_HEADER: self.request_id}
        answered = bounded_list([location for location, _ in bodies], "&")
        if not answered.endswith(")"):  # the whole list, or none: a cut list would read as locations
            headers[LOCATION_HEADER] = answered
        if self.reachable and isinstance(self.admitted.expr, AllOf):
            headers["Preference-Applied"] = REACHABLE_PREFERENCE
        if missing:
            headers[MISSING_HEADER] = bounded_list([entry["location"] for entry in missing], ",")
            for entry in missing:
                metrics.FANOUT_MISSING.labels(why=entry["why"]).inc()
        body = self.merged_body(bodies)
        if body is None and not missing:
            return web.Response(status=status, headers=headers)
        if body is None:
            body, status = {}, 200  # an empty answer cannot name what is missing: this one can
        if isinstance(body, dict) and missing:
            body[MISSING_KEY] = missing
        return web.json_response(body, status=status, headers=headers, dumps=compact_json)

    @staticmethod
    def merged_body(bodies):
        if all(body is None for _location, body in bodies):
            return None
        if all(collection_keys(body) for _location, body in bodies):
            try:
                return merge_lists(bodies)
            except ValueError:
                pass  # not lists of one kind: answered as single resources below
        location, body = bodies[0]
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), dict):
            key = next(iter(body))
            return {key: dict(body[key], **{LOCATION_KEY: location})}
        if isinstance(body, dict):
            return dict(body, **{LOCATION_KEY: location})
        return body

    async def outcome_entry(self, outcome) -> dict:
        """What happened at one location, for a body: ok, or why not."""
        location = outcome.location
        if outcome.ok:
            return {"location": location, "ok": True, "status": outcome.value.status}
        if outcome.skipped:
            entry = skipped(location)
            reason = self.health.reason((location, self.service))
            if reason:
                entry["detail"] += f" (last: {reason})"
            return entry
        if outcome.error is not None:
            entry = failed(location, outcome.error)
            if isinstance(outcome.error, PastDeadline):
                entry["why"] = "deadline"
            return entry
        upstream = outcome.value
        # Only what is shown is read: a failed branch's body may be huge.
        detail = await upstream.head_of_body(self.settings.max_error_detail)
        return {"location": location, "ok": False, "why": "answered", "status": upstream.status, "detail": detail}

    async def failure(self, result) -> web.Response:
        outcomes = [await self.outcome_entry(outcome) for outcome in result.outcomes]
        await self.release_all(result)
        bad = [o["location"] for o in outcomes if not o["ok"]]
        statuses = [o.get("status") for o in outcomes if not o["ok"]]
        status = statuses[0] if len(set(statuses)) == 1 and statuses[0] and statuses[0] < 500 else 502
        kind = "every alternative failed" if isinstance(self.scope.services[self.service], AnyOf) else "failed at"
        shown = ", ".join(bad[:20]) + (f" and {len(bad) - 20} more" if len(bad) > 20 else "")
        return error_response(status, f"{kind}: {shown}", outcomes)

    async def release_all(self, result, keep=None) -> None:
        for outcome in result.outcomes:
            if isinstance(outcome.value, Upstream) and outcome.value is not keep:
                outcome.value.release()


class PastDeadline(Exception):
    """An '&' branch that had no answer (or no whole body) by the fan-out's deadline."""


def skipped(location: str) -> dict:
    return {
        "location": location,
        "ok": False,
        "why": "skipped",
        "detail": "skipped: cut off recently, back-off running",
    }


def failed(location: str, exc: BaseException) -> dict:
    detail = str(exc) if isinstance(exc, PastDeadline) else describe(exc)
    return {"location": location, "ok": False, "why": "failed", "detail": detail}


def outcomes_of(result) -> list[dict]:
    outcomes = []
    for o in result.outcomes:
        entry = {"location": o.location, "ok": o.ok and not isinstance(o.value, NotRetried)}
        if isinstance(o.value, Upstream):
            entry["status"] = o.value.status
        outcomes.append(entry)
    return outcomes


def outcomes_header(result) -> str:
    """``Berlin=ok,Denver=failed``; past MAX_LIST_HEADER the ones not ok first, then cut short."""
    entries = [f"{o.location}={'ok' if o.ok else 'skipped' if o.skipped else 'failed'}" for o in result.outcomes]
    if sum(len(entry) + 1 for entry in entries) > MAX_LIST_HEADER:
        entries.sort(key=lambda entry: entry.endswith("=ok"))  # stable: each group in its order
    return bounded_list(entries, ",")


def bounded_list(items: list[str], separator: str) -> str:
    """``items`` joined, or as many as fit in MAX_LIST_HEADER followed by ``(<n> more)``."""
    text = separator.join(items)
    if len(text) <= MAX_LIST_HEADER:
        return text
    parts, size = [], 0
    for index, item in enumerate(items):
        if size + len(item) + len(separator) > MAX_LIST_HEADER - 16:  # room for the count
            return separator.join([*parts, f"({len(items) - index} more)"])
        parts.append(item)
        size += len(item) + len(separator)
    return text


def prefers_reachable(values) -> bool:
    """Whether Prefer headers (RFC 7240: comma-separated, parameters after ';') ask for the reachable part."""
    return any(
        token.split(";", 1)[0].strip().lower() == REACHABLE_PREFERENCE for value in values for token in value.split(",")
    )


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
        # named: the locations each service's expression names, so that a client
        # (oid-client) can get a token of each Keystone without parsing expressions.
        named = {service: scope.locations(service) for service in scope.services}
        return web.json_response(
            {"scope": scope.as_dict(), "named": named, "entry": routes.here, "locations": routes.catalog.names},
            dumps=compact_json,
        )

    return answer
