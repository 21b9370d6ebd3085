"""Property-based fuzzing of the interposer (hypothesis): paths, headers, scopes and
bodies from a hostile client, against real interposers and backends on loopback.

The federation runs in a thread of its own (its own event loop), so that
hypothesis drives plain, synchronous HTTP requests at it; http.client sends a
path exactly as generated (no client-side normalization).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oid.entry import BadPath, normalize_path
from oid.interposer.app import INTERPOSER, build_app
from oid.interposer.config import Routes
from oid.scope import Catalog
from tests.interposer.conftest import LOCATIONS, Federation
from tests.support.identity import own_secret
from tests.support.pki import serve

SEGMENT_ALPHABET = "abcmpotuAZ0234569-._~%eEfF/!$&'()*+,;=:@"


# -- the normal form of a path --------------------------------------------------


@given(st.text(alphabet=SEGMENT_ALPHABET, max_size=40).map(lambda tail: "/" + tail))
def test_normal_form_is_stable_and_has_no_dot_segment(path):
    try:
        normal = normalize_path(path)
    except BadPath:
        return
    assert normalize_path(normal) == normal
    assert not {".", ".."} & set(normal.split("/"))
    assert "%2E" not in normal.upper() or "%2E" not in normal  # escaped dots are decoded, then refused


@given(st.text(max_size=60))
def test_any_text_is_a_normal_form_or_bad_path(text):
    try:
        normalize_path(text)
    except BadPath:
        pass


# -- the HTTP surface ----------------------------------------------------------


class ThreadedFederation:
    """conftest's Federation, served from a background event loop."""

    def __init__(self, tmp_path):
        self.fed = Federation(tmp_path)
        self.loop = asyncio.new_event_loop()
        self.runners = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _start(self):
        for backend in self.fed.backends.values():
            await self._serve(backend.app(), backend.port)
        for name in LOCATIONS:
            routes = Routes(Catalog.from_file(str(self.fed.catalog_file)), name)
            settings = self.fed.settings(name)
            self.fed.apps[name] = build_app(settings, routes)
            self.runners.append(await serve(self.fed.apps[name], settings))

    async def _serve(self, app: web.Application, port: int):
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.runners.append(runner)

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    def __exit__(self, *_exc):
        async def stop():
            for runner in self.runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def request(self, method, path, headers, body=None, as_peer=False):
        """To Berlin's plain port as a client, or (``as_peer``) to its peer port as Denver's interposer."""
        if as_peer:
            context = self.fed.peers.tls["Denver"].client_context()
            context.check_hostname = False  # Berlin's certificate names Berlin, not 127.0.0.1; the CA is checked
            port = self.fed.peers.tls["Berlin"].port
            connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.fed.ports["Berlin"], timeout=20)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", "berlin")
            for key, value in headers.items():
                connection.putheader(key, value)
            connection.putheader("Content-Length", str(len(body or b"")))
            connection.endheaders(body or b"")
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def threaded(tmp_path_factory):
    with ThreadedFederation(tmp_path_factory.mktemp("fuzz")) as federation:
        yield federation


PATHS = st.one_of(
    st.sampled_from(["/compute", "/image", "/identity", "/network", "/volume", "/placement", "/x"]).flatmap(
        lambda prefix: st.text(alphabet=SEGMENT_ALPHABET, max_size=30).map(lambda tail: prefix + "/" + tail)
    ),
    st.text(alphabet=SEGMENT_ALPHABET, max_size=30).map(lambda tail: "/" + tail),
)
SCOPES = st.one_of(
    st.none(),
    st.text(alphabet='{}:,&|()* nova glance Berlin Denver Paris Atlantis"', max_size=60),
    st.sampled_from(["{nova: Berlin&Denver}", "{nova: Denver|Paris}", "{glance: *}", '{"compute": "Denver"}']),
    st.just("{nova: Berlin, neutron: Denver}"),
)
LATIN_1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
# Any header text, or a DC's own secret itself (a peer's requests are fuzzed too, on the peer port).
HEADER_TEXT = st.one_of(
    st.text(alphabet=LATIN_1, max_size=40), st.just(own_secret("Berlin")), st.sampled_from(["4", "-1", "1e3"])
)
INTERNAL = st.dictionaries(
    st.sampled_from(["X-Oid-Auth", "X-Oid-Hop", "X-Oid-Origin", "X-Oid-Outcomes", "X-Openstack-Request-Id"]),
    HEADER_TEXT,
    max_size=3,
)


# derandomize: the same examples in every run, so that CI is not a lottery; a new
# search (derandomize=False, more examples) is how new findings are looked for. It
# found a peer's scope with '*' in it making a 500 that way.
@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    path=PATHS,
    scope=SCOPES,
    internal=INTERNAL,
    body=st.binary(max_size=2048),
    as_peer=st.booleans(),
)
def test_no_request_makes_a_500_or_takes_a_location_down(threaded, method, path, scope, internal, body, as_peer):
    headers = {"X-Auth-Token": "t", **internal}
    if scope is not None:
        headers["X-Scope"] = scope
    headers = {key: value.encode("latin-1").decode("latin-1") for key, value in headers.items()}
    status, answer_headers, answer = threaded.request(method, path, headers, body, as_peer)
    assert (
        status < 500
        or status in (502, 503, 508)
        and answer_headers.get("Content-Type", "").startswith("application/json")
    ), (status, answer[:300])
    if status >= 400 and "X-Oid-Location" not in answer_headers and method != "HEAD" and answer:
        assert "error" in json.loads(answer), answer[:300]  # the interposer's own refusals: OpenStack's shape
    # Whatever the client sent, no breaker of any (location, service) opened: the
    # backends are all up, only a client's request could have opened one.
    assert threaded.fed.apps["Berlin"][INTERPOSER].health.down() == [], (method, path, scope, internal)
