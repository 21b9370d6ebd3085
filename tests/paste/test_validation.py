"""A Berlin token used in Denver, validated at Berlin's Keystone through the
interposers (oid/interposer/validation.py), with no account of Denver in
Berlin's Keystone: two real Keystones, two real interposers speaking mutual
TLS, Denver's paste pipeline loaded by paste.deploy with real
keystonemiddleware, and Denver's own secret as the only credential its
services hold for the relay."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import webob
from paste.deploy import loadapp

from oid.interposer import metrics
from oid.interposer.app import INTERPOSER
from tests.support import keystone as ks
from tests.support.identity import admin, own_secret, token_of
from tests.support.paste import pipeline_ini
from tests.support.relay import Relay

pytestmark = pytest.mark.skipif(ks.available() is not None, reason=str(ks.available()))

DENVER_SECRET = own_secret("Denver")
BERLIN_SECRET = own_secret("Berlin")


@pytest.fixture
async def relay(dcs, tmp_path):
    started = await Relay(tmp_path, dcs[1]).start()
    yield started
    await started.stop()


def denver_pipeline(relay, workdir):
    """Denver's API pipeline as the overlay writes it: its own Keystone for its own
    tokens, its interposer for every other Keystone's; no account elsewhere."""
    (workdir / "api-paste.ini").write_text(
        pipeline_ini(
            relay.catalog_file,
            "Denver",
            relay.secret_file("Denver"),
            relay.keystones["Denver"].url,
            oid_interposer=relay.url("Denver"),
        )
    )
    return loadapp(f"config:{workdir}/api-paste.ini")


def call(app, token, scope):
    request = webob.Request.blank("/v2.1/servers", headers={"X-Auth-Token": token, "X-Scope": scope})
    response = request.get_response(app)
    return response.status_int, response.json_body if response.content_type == "application/json" else response.text


async def validate(url, token, headers=None, tls=None, server_hostname=None):
    """One validation request, as keystonemiddleware sends it (or as a peer)."""
    context = tls.client_context() if tls else True
    async with aiohttp.ClientSession() as session:
        async with session.get(
            url, headers={"X-Subject-Token": token, **(headers or {})}, ssl=context, server_hostname=server_hostname
        ) as answer:
            return answer.status, json.loads(await answer.read() or b"null")


def link_requests(location):
    return metrics.of_link(location, "identity")[0]._value.get()


async def test_a_berlin_token_in_denver_is_validated_at_berlins_keystone(relay, tmp_path):
    pipeline = denver_pipeline(relay, tmp_path)
    berlin = relay.keystones["Berlin"]
    token = token_of(berlin)
    # (WSGI is synchronous: the pipeline runs in a thread, the interposers on this loop.)
    status, seen = await asyncio.to_thread(call, pipeline, token, "{keystone: Berlin}")
    assert status == 200, seen
    assert seen["identity_status"] == "Confirmed"
    assert seen["user_id"] == admin(berlin).session.get_user_id()
    # Berlin's Keystone holds its own users only: nothing of Denver's.
    assert sorted(user.name for user in admin(berlin).identity.users()) == ["admin", "oid-berlin"]
    # And a token Berlin's Keystone never issued is refused there.
    status, _ = await asyncio.to_thread(call, pipeline, token[:-4] + "AAAA", "{keystone: Berlin}")
    assert status == 401


async def test_validation_through_denver_is_for_denvers_services_only(relay):
    url = f"{relay.url('Denver')}/oid/v1/keystone/Berlin/v3/auth/tokens"
    token = token_of(relay.keystones["Berlin"])
    status, body = await validate(url, token, {"X-Auth-Token": "guess"})
    assert status == 401
    assert "this DC's own services" in body["error"]["message"]
    status, body = await validate(url, token, {"X-Auth-Token": DENVER_SECRET})
    assert status == 200 and body["token"]["user"]["name"] == "admin"


async def test_berlin_validates_for_peers_only_and_remembers(relay):
    token = token_of(relay.keystones["Berlin"])
    path = "/oid/v1/keystone/Berlin/v3/auth/tokens"
    # A client at Berlin's plain port, even with Berlin's own secret: not a peer.
    status, body = await validate(relay.url("Berlin") + path, token, {"X-Auth-Token": BERLIN_SECRET})
    assert status == 403
    assert "peer interposers only" in body["error"]["message"]
    peer = f"https://127.0.0.1:{relay.peer_ports['Berlin']}{path}"
    before = link_requests("Berlin")
    for _ in range(3):
        status, body = await validate(peer, token, tls=relay.tls["Denver"], server_hostname="berlin")
        assert status == 200 and body["token"]["user"]["name"] == "admin"
    assert link_requests("Berlin") - before == 1  # Berlin's Keystone asked once; then its answer, until expiry


async def test_a_peer_past_its_rate_is_refused(dcs, tmp_path):
    relay = await Relay(tmp_path, dcs[1]).start(validation_rate=1.0, validation_cache_seconds=0.0)
    try:
        token = token_of(relay.keystones["Berlin"])
        peer = f"https://127.0.0.1:{relay.peer_ports['Berlin']}/oid/v1/keystone/Berlin/v3/auth/tokens"
        statuses = [
            (await validate(peer, token, tls=relay.tls["Denver"], server_hostname="berlin"))[0] for _ in range(4)
        ]
    finally:
        await relay.stop()
    assert statuses[:2] == [200, 200] and 429 in statuses[2:], statuses  # a burst of twice the rate


async def test_only_token_validation_is_relayed(relay):
    url = f"{relay.url('Denver')}/oid/v1/keystone/Berlin/v3/auth/tokens"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, headers={"X-Auth-Token": DENVER_SECRET}, json={}) as answer:
            assert answer.status == 405
        async with session.get(url, headers={"X-Auth-Token": DENVER_SECRET}) as answer:
            assert answer.status == 400  # no subject token
        async with session.get(
            url.replace("/Berlin/", "/Atlantis/"), headers={"X-Auth-Token": DENVER_SECRET, "X-Subject-Token": "t"}
        ) as answer:
            assert answer.status == 404
        # What is passed on to a Keystone is bounded: a plain query value, a token of printable ASCII.
        headers = {"X-Auth-Token": DENVER_SECRET, "X-Subject-Token": "t"}
        async with session.get(url + "?allow_expired=1%26admin%3D1", headers=headers) as answer:
            assert answer.status == 400
        for subject in ("t" * 8193, "t\u00e9t"):
            async with session.get(url, headers={**headers, "X-Subject-Token": subject}) as answer:
                assert answer.status == 400, subject[:10]
    assert INTERPOSER in relay.apps["Denver"]
