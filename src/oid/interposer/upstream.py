"""Upstream I/O: one connection pool per location, timeouts, breakers.

Each location (this DC's own services, or another DC's interposer) has a
pool of its own, bounded, with a bounded wait for a free connection: a DC
that accepts connections and never answers fills its own pool and no other
(one shared pool once let it block every location, this DC's included).
Only failures of the link (refused, reset, timed out, disconnected) feed the
breaker of (location, service); a client that went away, or a request this
interposer could not even build, does not.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from oid.interposer import metrics
from oid.interposer.body import ClientGone
from oid.interposer.config import UrlRewriter
from oid.interposer.health import CLOSED, Health
from oid.interposer.trust import certificate_name

# Errors of the link to a location: they open its breaker.
LINK_ERRORS = (aiohttp.ClientConnectionError, asyncio.TimeoutError)
# Errors after which the request surely never reached the location (no
# connection was made: refused, unreachable, or the connect timed out, a cut
# link's usual sign): a request that is not idempotent may be sent to the next
# alternative of '|' only then.
NOT_DELIVERED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class Upstream:
    """One answer from one location, its body not read yet (or read whole by
    ``preread``, as the branches of an '&' are, within their deadline)."""

    def __init__(self, location: str, response: aiohttp.ClientResponse, rewriter: UrlRewriter):
        self.location = location
        self.response = response
        self.status = response.status
        self.rewriter = rewriter
        self._read: bytes | Oversized | None = None  # what preread() got

    def is_json(self) -> bool:
        return self.response.content_type == "application/json"

    async def preread(self, json_limit: int, detail_limit: int) -> None:
        """Read what the merge or the error report will use, now: a JSON body
        whole (up to ``json_limit``), the head of an error, one byte of
        anything else (under '&' a non-empty body that is not JSON is refused)."""
        if self.status >= 400:
            self._read = (await self.head_of_body(detail_limit)).encode()
        elif self.is_json():
            try:
                self._read = await self.raw(json_limit)
            except Oversized as exc:
                self._read = exc
        else:
            self._read = (await self.head_of_body(1)).encode()

    async def raw(self, limit: int) -> bytes:
        """The whole body, or Oversized past ``limit`` bytes (what was read is kept on it)."""
        if self._read is not None:
            if isinstance(self._read, Oversized):
                raise self._read
            return self._read
        length = self.response.content_length
        if length is not None and length > limit:
            raise Oversized([])
        # read(n) returns what has arrived, up to n bytes: across a real WAN a body
        # comes in several segments, so read to the end.
        chunks, size = [], 0
        async for chunk in self.response.content.iter_any():
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                raise Oversized(chunks)
        return b"".join(chunks)

    async def json(self, limit: int):
        """The body parsed, or NotJson (invalid, too deep, or past the limit)."""
        try:
            body = await self.raw(limit)
            return json.loads(body) if body else None
        except (ValueError, RecursionError, Oversized):
            raise NotJson(self.location) from None

    async def head_of_body(self, limit: int) -> str:
        """At most ``limit`` bytes of the body, as text: what an error report shows."""
        if isinstance(self._read, bytes):
            return self._read[:limit].decode("utf-8", "replace")
        data = b""
        while len(data) < limit:
            chunk = await self.response.content.read(limit - len(data))
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")

    def release(self) -> None:
        self.response.release()


class Oversized(Exception):
    """A body past the limit; ``chunks`` is what was read of it."""

    def __init__(self, chunks: list[bytes]):
        super().__init__("body past the limit")
        self.chunks = chunks


class NotJson(Exception):
    def __init__(self, location: str):
        super().__init__(f"{location} answered a body that is not JSON within the limit")
        self.location = location


class NotRetried(Exception):
    """A request that is not idempotent failed after it may have reached the location."""

    def __init__(self, location: str, error: BaseException):
        super().__init__(f"{location}: {describe(error)}")
        self.location = location
        self.error = error


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


def describe(exc: BaseException) -> str:
    """What went wrong, without the URL (error bodies must not show internal endpoints)."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"its certificate was refused: {exc.certificate_error.verify_message or exc.certificate_error.reason}"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        error = getattr(exc, "os_error", exc)
        return f"TLS failed: {getattr(error, 'reason', None) or type(error).__name__}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        return f"connection failed: {os.strerror(code) if code else type(exc.os_error).__name__}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was closed before an answer"
    if isinstance(exc, OSError) and exc.errno:
        return f"{type(exc).__name__}: {os.strerror(exc.errno)}"
    return type(exc).__name__


class Pools:
    """One bounded aiohttp session per location, made on first use. With mutual
    TLS between interposers (trust.py), another DC's is a TLS session: this
    DC's certificate, the federation's CA, and the answering certificate must
    name the location the request is meant for."""

    def __init__(self, settings, here):
        self.settings = settings
        self.here = here  # () -> this DC's location, in the catalog's spelling
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._peer_context = settings.peer_tls.client_context() if settings.peer_tls else None

    def is_peer(self, location: str) -> bool:
        return self._peer_context is not None and location != self.here()

    def session(self, location: str) -> aiohttp.ClientSession:
        session = self._sessions.get(location)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self.settings.max_connections_per_location,
                limit_per_host=0,
                socket_factory=partition_detecting_socket(self.settings.unacked_timeout),
                ssl=self._peer_context if self.is_peer(location) else True,
            )
            session = aiohttp.ClientSession(connector=connector, auto_decompress=False, skip_auto_headers=("Accept",))
            self._sessions[location] = session
        return session

    def request(self, location: str, method: str, url, **kwargs):
        """A request to ``location`` (aiohttp's context manager), sent to the right peer or none."""
        if self.is_peer(location):
            kwargs["server_hostname"] = certificate_name(location)
        return self.session(location).request(method, url, **kwargs)

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        await asyncio.gather(*(session.close() for session in sessions.values()))


class LinkStats:
    """How a location's answers come now, for `oid status`: a moving average of
    the time to their headers (each answer weighs a fifth, so a link that got
    slow shows it after a few answers, not an average since start)."""

    __slots__ = ("latency", "answers", "last")
    WEIGHT = 0.2

    def __init__(self):
        self.latency = 0.0
        self.answers = 0
        self.last = 0.0  # time.monotonic() of the last answer

    def answered(self, seconds: float, now: float) -> None:
        self.latency = seconds if not self.answers else self.latency + (seconds - self.latency) * self.WEIGHT
        self.answers += 1
        self.last = now


class Link:
    """Sends requests to locations and keeps their health."""

    def __init__(self, settings, health: Health, here):
        self.settings = settings
        self.health = health
        self.pools = Pools(settings, here)
        self.stats: dict[str, LinkStats] = {}  # by location; at most the catalog's locations ever seen

    def answered(self, location: str, seconds: float) -> None:
        stats = self.stats.get(location)
        if stats is None:
            stats = self.stats[location] = LinkStats()
        stats.answered(seconds, time.monotonic())

    def connect_budget(self, location: str, connect_timeout: float) -> float:
        """How long a new connection to ``location`` may take. To a peer over TLS,
        twice the connect timeout: aiohttp counts the TLS handshake in it, two
        more round trips after TCP's one (0.9 s across a 300 ms link), and a
        packet lost in any of them costs a retransmission: with one budget for
        all, a lossy long link timed out now and then and opened its breaker.
        A cut link then costs twice the connect timeout, once (its breaker opens)."""
        return connect_timeout * 2 if self.pools.is_peer(location) else connect_timeout

    def timeout(self, location: str, connect_timeout: float) -> aiohttp.ClientTimeout:
        # connect: the wait for a free pooled connection plus the connection's own;
        # sock_connect: the connection alone (TCP, and TLS to a peer).
        budget = self.connect_budget(location, connect_timeout)
        return aiohttp.ClientTimeout(
            connect=self.settings.pool_timeout + budget,
            sock_connect=budget,
            sock_read=self.settings.read_timeout,
        )

    async def send(self, location, service, method, url, headers: CIMultiDict, body, connect_timeout, rewriter):
        """One request to one location; its link's failures mark the breaker of (location, service).
        ``url`` is sent as it is (encoded=True): yarl would decode escapes of the client's query."""
        key = (location, service)
        requests, link_latency, service_latency = metrics.of_link(location, service)
        requests.inc()
        started = time.monotonic()
        data = None
        if body is not None:
            data = body.payload()
            if body.content_length() is not None:
                headers["Content-Length"] = str(body.content_length())
        try:
            response = await self.pools.request(
                location,
                method,
                URL(url, encoded=True),
                headers=headers,
                data=data,
                timeout=self.timeout(location, connect_timeout),
                allow_redirects=False,
            )
        except LINK_ERRORS as exc:
            if body is not None and body.client_failed:
                raise ClientGone("the client's body ended early") from None
            self.failed(key, describe(exc), type(exc).__name__)
            raise
        if self.health.succeeded(key):
            metrics.breaker_state(location, service, CLOSED)
        elapsed = time.monotonic() - started
        service_latency.observe(elapsed)
        link_latency.observe(elapsed)
        self.answered(location, elapsed)
        if response.status >= 500:
            metrics.FAILURES.labels(location=location, reason=str(response.status)).inc()
        return Upstream(location, response, rewriter)

    def failed(self, key: tuple[str, str], reason: str, label: str) -> None:
        """The link to ``key`` failed (or an '&' branch had no answer within its deadline)."""
        self.health.failed(key, reason)
        metrics.FAILURES.labels(location=key[0], reason=label).inc()
        metrics.breaker_state(*key, self.health.state(key))


class Prober:
    """Tries the links of half-open breakers in the background, so that no
    user's request is the one that finds out whether a DC is back: a GET of
    the service's version document (public, cheap), through the location's
    interposer for another DC; any HTTP answer means the link works."""

    def __init__(self, link: Link, probe_url, interval: float = 0.25, concurrency: int = 50):
        self.link = link
        self.probe_url = probe_url  # (location, service) -> URL, or None if it is gone from the catalog
        self.interval = interval
        self.concurrency = concurrency
        self.running: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        tasks = [task for task in (self._loop_task, *self.running) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self) -> None:
        while True:
            for key in self.link.health.due(self.concurrency - len(self.running)):
                task = asyncio.get_running_loop().create_task(self.probe(key))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            await asyncio.sleep(self.interval)

    async def probe(self, key: tuple[str, str]) -> None:
        location, service = key
        url = self.probe_url(location, service)
        if url is None:  # no longer in the catalog: nothing to keep open
            self.link.health.probed(key, None)
            metrics.breaker_state(location, service, CLOSED)
            return
        settings = self.link.settings
        timeout = aiohttp.ClientTimeout(
            total=settings.probe_timeout,
            sock_connect=min(self.link.connect_budget(location, settings.connect_timeout), settings.probe_timeout),
        )
        reason = None
        started = time.monotonic()
        try:
            async with self.link.pools.request(
                location,
                "GET",
                url,
                headers={"X-Scope": f'{{"{service}":"{location}"}}'},
                timeout=timeout,
                allow_redirects=False,
            ) as answer:
                self.link.answered(location, time.monotonic() - started)
                await answer.read()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure to get an answer: still cut off
            reason = describe(exc)
        metrics.PROBES.labels(result="failed" if reason else "ok").inc()
        self.link.health.probed(key, reason)
        metrics.breaker_state(location, service, self.link.health.state(key))
