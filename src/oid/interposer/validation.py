"""Tokens of another DC's Keystone, validated at that Keystone through the interposers.

No DC has an account in another DC's Keystone (DESIGN.md 9). When Denver's
API services meet a token of Berlin's Keystone, keystonemiddleware (the paste
filter's auth_token instance for Berlin) sends its validation,
``GET /v3/auth/tokens`` with the token in ``X-Subject-Token``, to Denver's own
interposer at ``/oid/v1/keystone/Berlin/v3/auth/tokens``, authenticated by
Denver's own secret (which only Denver's services hold). Denver's interposer
sends it on to Berlin's peer port, where Berlin's interposer, seeing Denver's
certificate, asks Berlin's Keystone with Berlin's own service account and
returns Keystone's own answer. keystonemiddleware still validates; nothing here
judges a token.

Only this one request is served so (GET or HEAD of ``auth/tokens`` with a
subject token), to peers only at the Keystone's own DC, rate-limited per peer,
and Keystone's positive answers are cached until the token expires, at most
``validation_cache_seconds`` (auth_token's own cache time by default: a token
revoked in Berlin is refused elsewhere within that time, as it is in Berlin).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from collections import OrderedDict

from aiohttp import web
from multidict import CIMultiDict

from oid.entry import secret_matches
from oid.interposer.admission import Refused
from oid.interposer.config import ACCOUNT_KEYS
from oid.interposer.proxy import error_response
from oid.interposer.upstream import Oversized, describe
from oid.scope import ScopeError

PREFIX = "/oid/v1/keystone/"
ROUTE = PREFIX + "{location}/v3/auth/tokens"
SUBJECT = "X-Subject-Token"
# What keystonemiddleware's validation may ask (keystoneclient's tokens.validate).
QUERY_KEYS = ("nocatalog", "allow_expired")
CACHE_ENTRIES = 4096


class ServiceAccount:
    """This DC's interposer's account at this DC's own Keystone (keystoneauth1
    gets and renews its token, in a thread: it is synchronous)."""

    def __init__(self, account: dict):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        self.plugin = v3.Password(**{key: account[key] for key in ACCOUNT_KEYS})
        self.session = session.Session(auth=self.plugin)
        self._lock = asyncio.Lock()

    async def token(self, renew: bool = False) -> str:
        async with self._lock:
            if renew:
                self.plugin.invalidate()
            return await asyncio.get_running_loop().run_in_executor(None, self.session.get_token)


class Bucket:
    """A token bucket: ``rate`` per second, bursts of twice that."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate = rate
        self.capacity = 2 * rate
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


class Validation:
    """``GET /oid/v1/keystone/<location>/v3/auth/tokens``, both ends."""

    def __init__(self, interposer, account: dict | None, clock=time.time):
        self.interposer = interposer
        self.settings = interposer.settings
        self.account = ServiceAccount(account) if account else None
        self.clock = clock
        # Keystone's positive answers: key -> (until when, body, content type).
        self.cache: OrderedDict[tuple, tuple[float, bytes, str]] = OrderedDict()
        self.buckets: dict[str, Bucket] = {}

    async def handle(self, request: web.Request) -> web.Response:
        try:
            if request.method not in ("GET", "HEAD"):
                raise Refused(405, "only the validation of a token (GET or HEAD) is served here")
            subject = request.headers.get(SUBJECT, "")
            if not subject or len(subject) > 8192 or not subject.isascii() or not subject.isprintable():
                raise Refused(400, f"a token to validate goes in {SUBJECT}")
            routes = self.interposer.routes
            try:
                location = routes.catalog.resolve(request.match_info["location"])
            except ScopeError:
                raise Refused(404, "no such location in the catalog") from None
            query = {key: request.query[key] for key in QUERY_KEYS if key in request.query}
            if any(value and not value.isalnum() for value in query.values()):
                raise Refused(400, f"bad query: {', '.join(QUERY_KEYS)} take a plain value")
            peer = self.interposer.admission.peer(request)
            if location == routes.here:
                return await self.at_own_keystone(peer, subject, query, request.method)
            return await self.through_peer(request, peer, location, subject, query)
        except Refused as exc:
            return error_response(exc.status, exc.message)

    # -- this DC's services ask for another DC's Keystone ----------------------

    async def through_peer(self, request, peer, location, subject, query) -> web.Response:
        if peer is not None:
            raise Refused(403, "a peer asks the DC whose Keystone it is, not another")
        if not secret_matches(request.headers.get("X-Auth-Token", ""), self.settings.federation_secret):
            raise Refused(401, "validation through this interposer is for this DC's own services")
        url = f"{self.interposer.routes.peer(location)}{PREFIX}{location}/v3/auth/tokens"
        return await self.send(location, url, subject, query, request.method, auth_token=None)

    # -- a peer asks this DC's Keystone -------------------------------------------

    async def at_own_keystone(self, peer, subject, query, method) -> web.Response:
        if peer is None:
            raise Refused(403, "this DC's Keystone validates here for peer interposers only")
        if self.account is None:
            raise Refused(503, "this interposer has no keystone_account: it cannot validate for peers")
        bucket = self.buckets.setdefault(peer, Bucket(self.settings.validation_rate))
        if not bucket.take():
            raise Refused(429, f"more than {self.settings.validation_rate:g} validations per second from {peer}")
        key = (subject, tuple(sorted(query.items())), method)
        cached = self.cache.get(key)
        if cached is not None and cached[0] > self.clock():
            return self.answer(200, *cached[1:], subject)
        local = self.interposer.routes.local_endpoint("identity")
        if local is None:
            raise Refused(404, f"{self.interposer.routes.here} has no Keystone")
        url = f"{local}/v3/auth/tokens"
        here = self.interposer.routes.here
        answer = await self.send(here, url, subject, query, method, auth_token=await self.account.token())
        if answer.status == 401:  # this interposer's own token expired or was revoked: once more, renewed
            answer = await self.send(here, url, subject, query, method, auth_token=await self.account.token(True))
        if answer.status == 200:
            self.remember(key, answer)
        return answer

    def remember(self, key, answer: web.Response) -> None:
        expires = self.clock() + self.settings.validation_cache_seconds
        try:
            stamp = json.loads(answer.body)["token"]["expires_at"]
            expires = min(expires, datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # no expiry to trust: not cached (HEAD answers have no body)
        if len(self.cache) >= CACHE_ENTRIES:
            self.cache.popitem(last=False)
        self.cache[key] = (expires, answer.body, answer.content_type)

    # -- the request itself ---------------------------------------------------

    async def send(self, location, url, subject, query, method, auth_token) -> web.Response:
        headers = CIMultiDict({SUBJECT: subject, "Accept": "application/json"})
        if auth_token is not None:
            headers["X-Auth-Token"] = auth_token
        if query:  # keystoneclient sends "?nocatalog" bare, "allow_expired=1"
            url += "?" + "&".join(key if value == "" else f"{key}={value}" for key, value in query.items())
        interposer = self.interposer
        try:
            upstream = await interposer.link.send(
                location,
                "identity",
                method,
                url,
                headers,
                None,
                interposer.routes.connect_timeout(location, self.settings.connect_timeout),
                interposer.routes.rewriter("identity"),
            )
        except Exception as exc:  # noqa: BLE001 - any failure of the link: keystonemiddleware sees a 502
            raise Refused(502, f"the Keystone of {location} did not answer: {describe(exc)}") from None
        try:
            try:
                body = await upstream.raw(self.settings.max_json_bytes)
            except Oversized:
                raise Refused(502, f"the Keystone of {location} answered more than max_json_bytes") from None
            return self.answer(upstream.status, body, upstream.response.content_type, subject)
        finally:
            upstream.release()

    @staticmethod
    def answer(status: int, body: bytes, content_type: str, subject: str) -> web.Response:
        headers = {SUBJECT: subject} if status == 200 else {}
        return web.Response(status=status, body=body, content_type=content_type, headers=headers)
