"""The interposer under bad clients, bad peers and faults (issue: "The interposer
holds under bad clients and faults"). Real interposers on loopback in front of
real HTTP servers (conftest.py). Each test names the finding it keeps fixed;
each failed on ff87054, the commit the review was made on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import resource
import socket
from unittest import mock

import aiohttp
import pytest
from aiohttp import streams
from multidict import CIMultiDict
from yarl import URL

from oid.interposer.app import INTERPOSER, QuietClientErrors
from oid.interposer.body import MEMORY_BYTES, ClientGone, StreamedBody
from oid.interposer.health import CLOSED, HALF_OPEN, OPEN, Health
from oid.scope import Catalog, Location, normalize
from tests.interposer.conftest import TOKEN, call  # noqa: E402
from tests.support.identity import own_secret  # noqa: E402


def breaker(fed, location, service="compute", entry="Berlin"):
    return fed.apps[entry][INTERPOSER].health.state((location, service))


async def in_two_writes(data: bytes):
    """A body that arrives in two pieces with a pause, as across a WAN."""
    yield data[:100]
    await asyncio.sleep(0.2)
    yield data[100:]


# -- 1. bodies under '&' and '|' arrive whole ----------------------------------


@pytest.mark.parametrize("scope", ["{nova: Denver|Paris}", "{nova: Berlin&Denver}", "{nova: Paris}"])
@pytest.mark.parametrize("size", [150, MEMORY_BYTES + 3 * 1024 * 1024 + 7])
async def test_finding_1_a_body_reaches_every_location_byte_for_byte(federation, scope, size):
    data = os.urandom(size)
    status, _, body = await call(federation, "POST", "/compute/v2.1/echo", scope=scope, data=in_two_writes(data))
    assert status == 200, body
    want = (size, hashlib.sha256(data).hexdigest())
    reached = [name for name in scope.strip("{}").split(": ")[1].replace("|", "&").split("&")]
    got = {name: federation.backends[name].bodies for name in reached if federation.backends[name].bodies}
    assert got and all(bodies == [want] for bodies in got.values()), got
    if "|" in scope:
        assert list(got) == ["Denver"]  # the first alternative answered


async def test_finding_1_a_body_is_replayed_to_the_next_alternative(federation):
    federation.backends["Denver"].status = 503
    federation.write_catalog()
    federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Denver"].extra["peer"] = "https://127.0.0.1:9"
    data = os.urandom(MEMORY_BYTES * 2 + 1)
    status, headers, _ = await call(federation, "PUT", "/compute/v2.1/echo", scope="{nova: Denver|Paris}", data=data)
    assert status == 200 and headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"
    assert federation.backends["Paris"].bodies == [(len(data), hashlib.sha256(data).hexdigest())]


async def test_a_body_past_the_replay_limit_is_refused(federation):
    federation.apps["Berlin"][INTERPOSER].settings.max_replay_bytes = 1000
    status, _, body = await call(
        federation, "POST", "/compute/v2.1/echo", scope="{nova: Berlin&Denver}", data=b"x" * 1001
    )
    assert status == 413 and "limited to 1000 bytes" in body["error"]["message"]
    assert not federation.backends["Berlin"].bodies and not federation.backends["Denver"].bodies


# -- 2. a binary answer under '&' is not turned into null ------------------------


async def test_finding_2_a_binary_answer_under_and_is_refused_not_nulled(federation):
    status, _, body = await call(federation, "GET", "/image/v2/images/i/file?size=10", scope="{glance: Berlin&Denver}")
    assert status == 502 and "not JSON" in body["error"]["message"]


async def test_empty_answers_under_and_make_an_empty_answer(federation):
    status, headers, body = await call(
        federation, "PUT", "/image/v2/images/both/file", scope="{glance: Berlin&Denver}", data=b"z" * 5000
    )
    assert status == 204 and body == b"" and headers["X-Oid-Outcomes"] == "Berlin=ok,Denver=ok"
    assert federation.backends["Berlin"].uploads["both"] == federation.backends["Denver"].uploads["both"] == 5000


# -- 3. the query string as sent -------------------------------------------------


@pytest.mark.parametrize("scope", ["{nova: Berlin}", "{nova: Denver}", "{nova: Berlin&Denver}"])
async def test_finding_3_the_query_reaches_the_service_as_sent(federation, scope):
    status, _, body = await call(federation, "GET", "/compute/v2.1/echo?name=a%23b&limit=1&x=%2F+y", scope=scope)
    assert status == 200
    queries = [seen["raw"].partition("?")[2] for backend in federation.backends.values() for seen in backend.seen]
    assert queries and set(queries) == {"name=a%23b&limit=1&x=%2F+y"}


# -- 4. only links are rewritten -------------------------------------------------


@pytest.mark.parametrize("scope", ["{nova: Berlin}", "{nova: Denver}"])
async def test_finding_4_a_name_that_looks_like_a_link_is_data(federation, scope):
    location = scope.strip("{}").split(": ")[1]
    upstream_url = f"{federation.backends[location].url}/v2.1/servers/x"
    _, _, body = await call(federation, "GET", "/compute/v2.1/named", scope=scope)
    server = body["server"]
    assert server["name"] == upstream_url and server["metadata"]["href-ish"] == upstream_url
    assert server["links"][0]["href"] == federation.url("Berlin") + "/compute/v2.1/servers/x"


# -- 5. headers as the service sent them -----------------------------------------


async def test_finding_5_repeated_headers_one_request_id_and_the_content_type_pass_unchanged(federation):
    async with aiohttp.ClientSession() as session:
        headers = [("X-Auth-Token", TOKEN), ("Accept", "application/json"), ("Accept", "text/plain")]
        async with session.get(federation.url() + "/compute/v2.1/headers", headers=headers) as response:
            assert response.headers.getall("Vary") == ["OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]
            assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
            assert len(response.headers.getall("Link")) == 2
            assert response.headers.getall("X-Openstack-Request-Id") == ["req-Berlin-backend"]
            assert response.headers["Content-Type"] == "application/json"  # rewritten, yet no charset added
            body = await response.json()
        assert body["versions"][0]["links"][0]["href"].startswith(federation.url("Berlin"))
        async with session.get(federation.url() + "/compute/v2.1/echo", headers=headers) as response:
            assert (await response.json())["accept"] == ["application/json", "text/plain"]


# -- 6. and 9. one normal form of the path ---------------------------------------


async def test_finding_6_an_escaped_service_name_is_that_service_and_opens_no_breaker(federation):
    status, headers, body = await call(federation, "GET", "/comput%65/v2.1/servers")
    assert status == 200 and body["servers"][0]["id"] == "Berlin-1"
    assert federation.backends["Berlin"].seen[-1]["path"] == "/v2.1/servers"
    for path in ("/compute/v2.1/servers%zz", "/compute/v2.1/%"):
        status, _, body = await call(federation, "GET", path)
        assert status == 400 and "bad path" in body["error"]["message"]
    assert breaker(federation, "Berlin") == CLOSED
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers")
    assert status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/identity/%2e%2e/compute/v2.1/servers",
        "/identity/../compute/v2.1/servers",
        "/compute/v2.1/%2E/servers",
        "/compute/v2.1/servers/%2e%2E",
    ],
)
async def test_finding_9_dot_segments_are_refused(federation, path):
    async with aiohttp.ClientSession() as session:
        url = federation.url() + path
        # yarl would resolve the dots itself: the path is sent as written.
        async with session.get(URL(url, encoded=True), headers={"X-Auth-Token": TOKEN}) as response:
            assert response.status == 400
            assert "'.' or '..'" in (await response.json())["error"]["message"]
    assert not any(backend.seen for backend in federation.backends.values())


# -- 7. a client that aborts is not a failure of the location ---------------------


async def test_finding_7_a_client_aborting_an_upload_opens_no_breaker(federation):
    for scope in ("{glance: Denver}", "{glance: Denver|Paris}"):
        with socket.create_connection(("127.0.0.1", federation.ports["Berlin"])) as sock:
            sock.sendall(
                b"PUT /image/v2/images/aborted/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
                b"X-Scope: " + scope.encode() + b"\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 5000
            )
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.3)
        assert breaker(federation, "Denver", "image") == CLOSED, scope
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    assert status == 200


async def test_finding_7_a_body_that_breaks_while_sent_is_the_clients_failure(federation):
    """The client's connection breaks while its body is being relayed (the request
    handler still running): the upstream request fails, and it is not Denver's fault."""
    interposer = federation.apps["Berlin"][INTERPOSER]
    content = streams.StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    content.feed_data(b"a" * 5000)
    body = StreamedBody(content)

    async def break_it():
        await asyncio.sleep(0.2)
        content.set_exception(ConnectionResetError("the client's connection was reset"))

    breaking = asyncio.ensure_future(break_it())
    url = federation.url("Denver") + "/image/v2/images/broken/file"
    headers = CIMultiDict({"X-Auth-Token": TOKEN, "X-Scope": "{glance: Denver}"})
    with pytest.raises(ClientGone):
        await interposer.link.send(
            "Denver", "image", "PUT", url, headers, body, 0.5, interposer.routes.rewriter("image")
        )
    await breaking
    assert body.client_failed and breaker(federation, "Denver", "image") == CLOSED


# -- 8. hostile internal header values -------------------------------------------


async def test_finding_8_hostile_internal_headers_are_refused_cleanly(federation):
    async with aiohttp.ClientSession() as session:
        url = federation.url() + "/compute/v2.1/servers"
        headers = {"X-Auth-Token": TOKEN, "X-Oid-Auth": "clé-ünïcode-not-ascii"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 200  # not a peer: the header is dropped
        # This DC's own secret (its API services have it) makes no one a peer.
        headers = {"X-Auth-Token": TOKEN, "X-Oid-Auth": own_secret("Berlin"), "X-Oid-Hop": "two"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 200
    # A peer (Denver's certificate) is held to the header's form.
    headers = {"X-Auth-Token": TOKEN, "X-Oid-Hop": "two"}
    status, _, body = await federation.as_peer("Denver", "GET", "/compute/v2.1/servers", headers=headers)
    assert status == 400 and "X-Oid-Hop" in body["error"]["message"]
    headers = {"X-Auth-Token": TOKEN, "X-Oid-Origin": "Atlantis"}
    status, _, body = await federation.as_peer("Denver", "GET", "/compute/v2.1/servers", headers=headers)
    assert status == 403 and "speaks for itself only" in body["error"]["message"]


# -- 10. a hostile scope costs its parse once ------------------------------------


async def test_finding_10_thousands_of_alternatives_are_refused_once_and_cached(federation):
    scope = "{nova: " + "|".join(["Denver", "Paris"] * 600) + "|Atlantis}"  # within aiohttp's 8 KB a line
    for _ in range(2):
        status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope=scope)
        assert status == 400
    cache = federation.apps["Berlin"][INTERPOSER].admission._scopes
    assert (scope, "compute", "GET") in cache


def test_finding_10_dedupe_of_alternatives_is_linear(monkeypatch):
    """A scope of 1,400 alternatives, about the longest a header carries: the old dedupe
    scanned a list per operand (about a million comparisons of locations, the
    0.3-0.7 s of blocked event loop); a dict compares only on hash collisions."""
    names = [f"d{i}" for i in range(1400)]
    catalog = Catalog.from_mapping({"locations": {name: {"services": ["nova"]} for name in names}})
    comparisons = 0
    equal = Location.__eq__

    def counted(self, other):
        nonlocal comparisons
        comparisons += 1
        return equal(self, other)

    monkeypatch.setattr(Location, "__eq__", counted)
    monkeypatch.setattr(Location, "__hash__", lambda self: hash(self.name))
    scope = normalize("{nova: " + "|".join(names) + "}", catalog, "d0")
    assert len(scope.services["compute"].operands) == 1400
    assert comparisons < 10 * len(names), comparisons


# -- 11. one location that hangs holds only its own pool -------------------------


async def test_finding_11_a_hung_location_fills_only_its_own_pool(federation):
    """1,050 requests to a Denver that accepts and never answers (more than the one
    pool of 1,000 connections the interposer had for every location): Berlin's own
    Nova and Paris still answer at once; Denver's requests past its own pool wait
    at most pool_timeout, then fail clearly (a full pool that does not drain is a
    failure of that location: its breaker opens)."""
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.settings.pool_timeout = 1.0
    interposer.settings.read_timeout = 60
    federation.backends["Denver"].stall = True
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def hang():
            url = federation.url() + "/compute/v2.1/servers"
            async with session.get(url, headers={"X-Auth-Token": TOKEN, "X-Scope": "{nova: Denver}"}) as response:
                return response.status

        hung = [asyncio.ensure_future(hang()) for _ in range(1050)]
        await asyncio.sleep(3)
        for scope in ("{nova: Berlin}", "{nova: Paris}"):
            status, _, _ = await asyncio.wait_for(call(federation, "GET", "/compute/v2.1/servers", scope=scope), 10)
            assert status == 200
        done, pending = await asyncio.wait(hung, timeout=15)
        # 502: no connection within pool_timeout; 503: Denver's breaker opened by then.
        assert len(done) >= 900 and {task.result() for task in done} <= {502, 503}
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


# -- 12. and 13. breakers that reflect the link, not the traffic -----------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_finding_12_requests_in_flight_at_a_break_do_not_lengthen_the_backoff():
    clock = Clock()
    health = Health(initial=2.0, maximum=60.0, clock=clock, jitter=lambda: 1.0)
    key = ("Denver", "compute")
    for _ in range(50):  # fifty requests in flight when the link broke
        health.failed(key)
    assert health.state(key) == OPEN
    clock.now += 2.01
    assert health.state(key) == HALF_OPEN and health.due(10) == [key]  # one back-off, then a probe
    health.probed(key, "connection failed: Connection refused")  # the probe failed: twice as long
    clock.now += 3.9
    assert health.state(key) == OPEN
    clock.now += 0.2
    assert health.due(10) == [key]


def test_finding_13_one_probe_at_a_time_and_users_never_probe():
    """A half-open breaker is probed by the background prober alone: a user's
    request never is the probe (at edge scale, one paid the connect timeout of
    each DC whose back-off had just ended)."""
    clock = Clock()
    health = Health(initial=2.0, maximum=60.0, clock=clock, jitter=lambda: 1.0)
    key = ("Denver", "compute")
    health.failed(key, "timed out")
    clock.now += 3
    assert not health.is_available(key)
    assert health.due(10) == [key] and health.due(10) == []  # one probe at a time
    assert health.down() == [
        {"location": "Denver", "service": "compute", "breaker": "half-open", "reason": "timed out"}
    ]
    health.probed(key, None)
    assert health.is_available(key) and health.down() == []


def test_backoffs_opened_together_end_apart():
    """One partition opens many breakers at once; jittered, they do not all
    come due (and probe) at the same instant."""
    clock = Clock()
    health = Health(initial=10.0, maximum=60.0, clock=clock)
    keys = [(f"DC{i}", "compute") for i in range(100)]
    for key in keys:
        health.failed(key)
    ends = {health._states[key].open_until - clock.now for key in keys}
    assert len(ends) > 90 and min(ends) >= 5.0 and max(ends) <= 10.0


async def test_finding_13_breakers_close_by_background_probes(federation):
    """Denver's link fails; while its breaker is open, a request skips it at
    once without touching it; once it answers again, the breaker closes with
    no user request (the prober), and the next request goes there."""
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.health.initial = 0.2
    interposer.routes.catalog.sites["Denver"].extra["peer"] = "https://127.0.0.1:9"
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    assert breaker(federation, "Denver") == OPEN
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Paris-1"
    interposer.routes.catalog.sites["Denver"].extra["peer"] = federation.peers.url("Denver")
    seen = len(federation.backends["Denver"].seen)
    for _ in range(50):
        if breaker(federation, "Denver") == CLOSED:
            break
        await asyncio.sleep(0.1)
    assert breaker(federation, "Denver") == CLOSED
    probes = federation.backends["Denver"].seen[seen:]
    assert [probe["path"] for probe in probes] == ["/"]  # the version document, once
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    assert status == 200


# -- 14. health per location and service -----------------------------------------


async def test_finding_14_a_dead_local_service_leaves_the_others_up(federation):
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.routes.catalog.sites["Berlin"].services["image"] = "http://127.0.0.1:9"
    status, _, _ = await call(federation, "GET", "/image/v2/images", scope="{glance: Berlin}")
    assert status == 502 and breaker(federation, "Berlin", "image") == OPEN
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers")
    assert status == 200
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin}", entry="Denver")
    assert status == 200
    async with aiohttp.ClientSession() as session:
        async with session.get(federation.url() + "/healthz") as response:
            health = await response.json()
    assert health["status"] == "ok"
    assert health["down"] == [
        {"location": "Berlin", "service": "image", "breaker": "open", "reason": "connection failed: Connection refused"}
    ]


# -- 15. metric series do not grow with what clients send -------------------------


async def test_finding_15_client_paths_make_no_metric_series(federation):
    async with aiohttp.ClientSession() as session:
        for i in range(200):
            async with session.get(f"{federation.url()}/x{i}/y") as response:
                assert response.status == 404
        async with session.get(federation.url() + "/metrics") as response:
            text = await response.text()
    assert 'service="x1"' not in text and 'service="unknown"' in text


# -- 16. a failed branch's error body is not read whole ---------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def test_finding_16_a_huge_error_body_costs_what_is_shown(federation):
    size = 200 * 1024 * 1024
    before = rss_kib()
    status, _, body = await call(
        federation, "GET", f"/compute/v2.1/huge-error?size={size}", scope="{nova: Berlin&Denver}"
    )
    grown_mib = (rss_kib() - before) / 1024
    assert status == 502
    details = [o["detail"] for o in body["error"]["oid_outcomes"] if "detail" in o]
    assert details and all(len(detail) <= 2000 for detail in details)
    assert grown_mib < 60, f"RSS grew {grown_mib:.0f} MiB for a {size >> 20} MiB error body"


# -- 17. JSON the interposer cannot or need not parse is relayed ------------------


@pytest.mark.parametrize("path", ["/compute/v2.1/deep", "/compute/v2.1/invalid"])
async def test_finding_17_deep_or_invalid_json_is_relayed_as_it_came(federation, path):
    for scope in ("{nova: Berlin}", "{nova: Denver}"):
        status, _, body = await call(federation, "GET", path, scope=scope)
        assert status == 200, body
        assert isinstance(body, bytes | list)


async def test_finding_17_json_without_length_past_the_limit_streams(federation):
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.settings.max_json_bytes = 1024 * 1024
    size = 3 * 1024 * 1024
    status, _, body = await call(federation, "GET", f"/compute/v2.1/unframed?size={size}", scope="{nova: Berlin}")
    assert status == 200 and len(json.dumps(body)) >= size - 20


# -- 18. no token in the logs, client disconnects are not errors ------------------


def test_finding_18_aiohttp_errors_are_logged_without_the_quoted_headers():
    record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (), None)
    try:
        raise ValueError("Invalid header line: b'X-Auth-Token: gAAAA-secret-token\\x01'")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert QuietClientErrors().filter(record)
    assert "gAAAA" not in record.getMessage() and record.exc_info is None
    gone = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (), None)
    gone.exc_info = (ConnectionResetError, ConnectionResetError("reset"), None)
    assert not QuietClientErrors().filter(gone)


def requests_counted(code: str, service: str = "compute") -> float:
    """oid_requests_total's value: the registry is the process's, shared by every
    test of the session, so a test compares it before and after."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("oid_requests_total", {"code": code, "service": service}) or 0.0


async def test_finding_18_a_client_that_leaves_is_counted_apart_from_errors(federation):
    federation.backends["Denver"].stall = True
    errors, gone = requests_counted("500"), requests_counted("499")
    with socket.create_connection(("127.0.0.1", federation.ports["Berlin"])) as sock:
        sock.sendall(
            b"GET /compute/v2.1/servers HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\nX-Scope: {nova: Denver}\r\n\r\n"
        )
        await asyncio.sleep(0.3)
    await asyncio.sleep(0.3)
    assert requests_counted("500") == errors
    # Berlin's, for its client; Denver's too, when Berlin drops the request it forwarded.
    assert requests_counted("499") > gone


# -- 19. '|' never sends a POST twice; links and errors show no internals ---------


async def test_finding_19_or_does_not_resend_a_post_that_reached_a_location(federation):
    status, _, body = await call(federation, "POST", "/compute/v2.1/fails", scope="{nova: Denver|Paris}", json={})
    assert status == 500 and "computeFault" in body
    assert not federation.backends["Paris"].seen


async def test_finding_19_a_post_goes_to_the_next_alternative_when_it_never_left(federation):
    federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Denver"].extra["peer"] = "https://127.0.0.1:9"
    status, headers, _ = await call(federation, "POST", "/compute/v2.1/echo", scope="{nova: Denver|Paris}", data=b"b")
    assert status == 200 and headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"


async def test_finding_19_a_post_goes_on_when_the_connect_timed_out(federation):
    """A cut link shows as a connect timeout (the SYN is dropped): the POST never
    left, so '|' sends it to the next alternative. A listening socket whose accept
    queue is full drops SYNs the same way, on loopback."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    queued = []
    for _ in range(3):  # until the queue is full: a connect then times out
        sock = socket.socket()
        sock.settimeout(0.5)
        queued.append(sock)
        try:
            sock.connect(blackhole.getsockname())
        except TimeoutError:
            break
    try:
        host, port = blackhole.getsockname()
        url = f"https://{host}:{port}"
        federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Denver"].extra["peer"] = url
        status, headers, body = await call(
            federation, "POST", "/compute/v2.1/echo", scope="{nova: Denver|Paris}", data=b"b"
        )
        assert status == 200, body
        assert headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"
    finally:
        for sock in (*queued, blackhole):
            sock.close()


async def test_finding_19_links_point_at_the_catalog_url_whatever_the_host_header(federation):
    _, headers, body = await call(
        federation, "GET", "/compute/v2.1/servers/Denver-1", scope="{nova: Denver}", headers={"Host": "evil.example"}
    )
    status, headers, body = await call(federation, "GET", "/compute/", headers={"Host": "evil.example"})
    assert body["versions"][0]["links"][0]["href"].startswith(federation.url("Berlin") + "/compute")


async def test_finding_19_errors_do_not_show_internal_endpoints(federation):
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.routes.catalog.sites["Denver"].extra["peer"] = "https://127.0.0.1:9"
    for scope in ("{nova: Denver}", "{nova: Berlin&Denver}"):
        interposer.health.succeeded(("Denver", "compute"))
        _, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope=scope)
        assert "127.0.0.1" not in json.dumps(body), body


# -- resources stay flat ----------------------------------------------------------


async def test_file_descriptors_stay_flat_under_aborts_and_failures(federation):
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    federation.backends["Paris"].status = 503
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver&Paris}")
    before = open_fds()
    for _ in range(3):
        for scope in ("{nova: Berlin&Denver&Paris}", "{nova: Paris|Denver}"):
            await call(federation, "POST", "/compute/v2.1/echo", scope=scope, data=os.urandom(MEMORY_BYTES + 10))
        with socket.create_connection(("127.0.0.1", federation.ports["Berlin"])) as sock:
            sock.sendall(b"PUT /compute/v2.1/echo HTTP/1.1\r\nHost: x\r\nX-Scope: {nova: Denver|Paris}\r\n")
            sock.sendall(b"Content-Length: 99999\r\n\r\nabc")
    await asyncio.sleep(0.5)
    assert open_fds() <= before + 6, (before, open_fds())  # pooled keep-alive connections, no leak
    assert resource.getrlimit(resource.RLIMIT_NOFILE)


async def test_a_peers_scope_with_a_star_left_in_it_is_a_400(federation):
    """Found by the fuzzer: a peer's scope is parsed as canonical, where '*' has
    no place; it made a 500."""
    headers = {"X-Scope": '{"compute": "*"}'}
    status, _, body = await federation.as_peer("Denver", "GET", "/compute/v2.1/servers", headers=headers)
    assert status == 400 and "expanded" in body["error"]["message"]


@pytest.mark.parametrize(
    "tokens",
    ["Berlin", "Berlin=", "Atlantis=gAAAA", "Berlin=a b", "Berlin=gAAAA, Berlin=gBBBB", "Berlin=gA\u00e9"],
)
async def test_per_keystone_tokens_that_are_not_a_list_of_location_token_are_a_400(federation, tokens):
    headers = {"X-Scope-Tokens": tokens}
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}", headers=headers)
    assert status == 400 and "X-Scope-Tokens" in body["error"]["message"]


async def test_per_keystone_tokens_are_read_at_the_entry_and_not_passed_on(federation):
    headers = {"X-Scope-Tokens": "Berlin=gAAAA-berlin, Denver=gAAAA-denver"}
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}", headers=headers)
    assert status == 200
    seen = federation.backends["Denver"].seen[-1]["headers"]
    assert "X-Scope-Tokens" not in seen and seen["X-Auth-Token"] == TOKEN  # compute: the client's own token


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"name": "x"', b"\xff\xfe not text", b'["a list"]', b'{"id": 7, "name": "a number"}'],
    ids=["nested past recursion", "cut short", "not UTF-8", "a list", "its own id"],
)
async def test_an_image_create_under_and_that_is_not_an_object_without_id_goes_as_sent(federation, body):
    """The entry adds an id only to a JSON object that has none; any other body (one
    nested deep enough to break a recursive parser included) reaches every location
    byte for byte, and the service's answer is the client's."""
    scope = "{glance: Berlin&Denver}"
    headers = {"Content-Type": "application/json"}
    status, _, _ = await call(federation, "POST", "/image/v2/images", scope=scope, data=body, headers=headers)
    assert status in (201, 400), status
    for location in ("Berlin", "Denver"):
        assert federation.backends[location].image_bodies[-1] == body, location
