"""Admission: what a request is, before anything is forwarded.

The path (one normalization, shared with the paste filters), the service it
names, whether it comes from a peer interposer and which (its certificate,
trust.py), its hop
count, its scope normalized and checked against the collaboration policy.
Everything here is computed from the request's headers, path and connection
alone, refuses with a clear status and message, and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from oid.entry import (
    HOP_HEADER,
    ORIGIN_HEADER,
    SCOPE_HEADER,
    BadPath,
    entry_scope,
    normalize_path,
    split_service,
    split_token,
)
from oid.interposer.config import SERVICE_PREFIXES
from oid.interposer.trust import PeerRefused, peer_location
from oid.scope import Location, ScopeError

SCOPE_CACHE_SIZE = 4096
# A client whose scope names several Keystones ({keystone: Berlin&Denver}) sends
# a token of each, "Berlin=<token>, Denver=<token>": each identity branch goes
# with its own Keystone's token (a Keystone validates only its own).
IDENTITY_TOKENS_HEADER = "X-Scope-Tokens"
TOKEN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.")


class Refused(Exception):
    """A request refused before anything was forwarded."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# A scope in the path, for clients that cannot send X-Scope (Terraform's
# OpenStack provider, gophercloud: docs/cli.md): the entry's URL
# http://berlin:8790/scope/glance:Denver/image is an endpoint at which the
# scope applies to every request, and links in answers keep it.
SCOPE_PATH = "scope"


@dataclass
class RequestPath:
    """A request's path, normalized: the service it names, the rest of it, and
    a scope the path carries (its text, and the prefix that links keep)."""

    service: str
    tail: str
    scope: str | None = None
    prefix: str = ""


def parse_path(raw_path: str) -> RequestPath:
    """The path of a request, in normal form, a scope in it taken out; 400/404 otherwise."""
    try:
        service, tail = split_service(normalize_path(raw_path))
    except BadPath as exc:
        raise Refused(400, f"bad path: {exc}") from None
    if service != SCOPE_PATH:
        return RequestPath(*known_service(service, tail))
    segment, slash, rest = tail[1:].partition("/")
    if not segment or not slash:
        raise Refused(400, f"bad path: /{SCOPE_PATH}/<scope>/<service>/... (a scope, then a service)")
    try:
        text = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        text = None
    if not text or not text.isprintable():
        raise Refused(400, "bad path: the scope in the path is not printable text")
    service, tail = split_service("/" + rest)
    return RequestPath(*known_service(service, tail), scope=text, prefix=f"/{SCOPE_PATH}/{segment}")


def known_service(service: str, tail: str) -> tuple[str, str]:
    if service not in SERVICE_PREFIXES:
        shown = service if len(service) <= 64 and service.isprintable() else service[:64] + "..."
        raise Refused(404, f"no service {shown!r} here; services: {', '.join(SERVICE_PREFIXES)}")
    return service, tail


@dataclass
class Admitted:
    """A request the interposer will forward."""

    service: str
    tail: str
    scope: object
    expr: object
    locations: list
    hops: int
    origin: str
    trusted: bool
    identity_tokens: dict  # {location: token}, from X-Scope-Tokens
    prefix: str = ""  # the scope's part of the path ("/scope/<scope>"), which links in answers keep


class Admission:
    """Decides, per request, whether and where it may go."""

    def __init__(self, settings, routes):
        self.settings = settings
        self.routes = routes
        self._scopes: dict[tuple, object] = {}

    def use(self, routes) -> None:
        """A reloaded catalog: scopes normalized against the old one are forgotten."""
        self.routes = routes
        self._scopes = {}

    def entry_scope(self, text: str | None, service: str, method: str):
        """The scope as it enters here (oid.entry). A client repeats the same few
        scopes, so verdicts are kept, refusals too (a hostile scope costs its
        parse once); the policy's verdict depends on the service and the method."""
        key = (text, service, method)
        cached = self._scopes.get(key)
        if cached is None:
            if len(self._scopes) >= SCOPE_CACHE_SIZE:
                self._scopes.clear()
            try:
                cached = entry_scope(text, self.routes.catalog, self.routes.here, service, method, trusted=False)
            except ScopeError as exc:
                cached = exc
            self._scopes[key] = cached
        if isinstance(cached, ScopeError):
            raise cached
        return cached

    def peer(self, request: web.Request) -> str | None:
        """The location of the peer interposer that sent this request; None for a client."""
        try:
            peer = peer_location(request.transport, self.routes.catalog)
        except PeerRefused as exc:
            raise Refused(403, str(exc)) from None
        claimed = request.headers.get(ORIGIN_HEADER)
        if peer is not None and claimed is not None and claimed != peer:
            shown = claimed if len(claimed) <= 64 and claimed.isprintable() else claimed[:64] + "..."
            raise Refused(
                403, f"a peer speaks for itself only: its certificate names {peer}, the request claims {shown!r}"
            )
        return peer

    def hops(self, request: web.Request, trusted: bool) -> int:
        if not trusted:
            return 0
        text = request.headers.get(HOP_HEADER, "0")
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            raise Refused(400, f"bad {HOP_HEADER} header: a hop count is a small number")
        hops = int(text)
        if hops >= self.settings.max_hops:
            raise Refused(508, f"forwarding loop: {hops} hops, more than the limit of {self.settings.max_hops}")
        return hops

    def scope(self, request: web.Request, service: str, trusted: bool, path_scope: str | None = None):
        _token, token_scope = split_token(request.headers.get("X-Auth-Token"))
        text = request.headers.get(SCOPE_HEADER) or token_scope
        if path_scope is not None:
            if trusted:
                raise Refused(400, f"a peer sends its scope in {SCOPE_HEADER}, not in the path")
            if text and text != path_scope:
                raise Refused(400, f"two scopes: one in the path, another in {SCOPE_HEADER} or the token")
            text = path_scope
        try:
            if trusted and text:
                return entry_scope(text, self.routes.catalog, self.routes.here, service, request.method, trusted)
            return self.entry_scope(text, service, request.method)
        except ScopeError as exc:
            raise Refused(400, str(exc)) from None

    def admit(self, request: web.Request) -> Admitted:
        path = parse_path(request.rel_url.raw_path)
        service, tail = path.service, path.tail
        peer = self.peer(request)
        trusted = peer is not None
        hops = self.hops(request, trusted)
        scope = self.scope(request, service, trusted, path.scope)
        expr = scope.services.get(service)
        if expr is None:
            raise Refused(400, f"the scope names no location for {service} and {self.routes.here} offers none")
        try:
            locations = expr.locations()
        except ScopeError as exc:  # a peer's "canonical" scope with a '*' left in it
            raise Refused(400, str(exc)) from None
        if len(locations) > self.settings.max_fanout:
            raise Refused(400, f"the scope spans {len(locations)} locations, more than {self.settings.max_fanout}")
        unknown = [loc for loc in locations if loc not in self.routes.catalog.sites]
        if unknown:
            raise Refused(400, f"locations not in this interposer's catalog: {', '.join(unknown[:20])}")
        origin = peer or self.routes.here
        tokens = self.identity_tokens(request.headers.get(IDENTITY_TOKENS_HEADER))
        return Admitted(service, tail, scope, expr, locations, hops, origin, trusted, tokens, path.prefix)

    def identity_tokens(self, text: str | None) -> dict:
        """``Berlin=<token>, Denver=<token>`` -> {location: token}; 400 for anything else."""
        if not text:
            return {}
        tokens = {}
        for item in text.split(","):
            name, equals, token = item.strip().partition("=")
            if not equals or not token or not set(token) <= TOKEN_CHARACTERS:
                raise Refused(400, f"bad {IDENTITY_TOKENS_HEADER} header: a list of <location>=<token>")
            try:
                location = self.routes.catalog.resolve(name.strip())
            except ScopeError:
                raise Refused(400, f"bad {IDENTITY_TOKENS_HEADER} header: a location not in the catalog") from None
            if location in tokens:
                raise Refused(400, f"bad {IDENTITY_TOKENS_HEADER} header: {location} twice")
            tokens[location] = token
        return tokens


def is_single(expr) -> bool:
    return isinstance(expr, Location)
