"""The interposer's rules, against real interposers and HTTP backends on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import aiohttp
import pytest

from oid.interposer.app import INTERPOSER
from tests.interposer.conftest import TOKEN, call  # noqa: E402


async def test_local_route_cleans_the_token_and_sends_the_canonical_scope(federation):
    status, headers, body = await call(
        federation, "GET", "/compute/v2.1/servers", headers={"X-Auth-Token": TOKEN + "!SCOPE!{nova: Berlin}"}
    )
    assert status == 200 and body["servers"][0]["id"] == "Berlin-1"
    seen = federation.backends["Berlin"].seen[-1]["headers"]
    assert seen["X-Auth-Token"] == TOKEN
    assert json.loads(seen["X-Scope"])["compute"] == "Berlin"
    assert seen["X-Oid-Origin"] == "Berlin"
    assert headers["X-Oid-Location"] == "Berlin"
    assert headers["X-Openstack-Request-Id"].startswith("req-")


async def test_poc_json_scope_in_the_token_suffix(federation):
    token = TOKEN + '!SCOPE!{"compute": "Denver"}'
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", headers={"X-Auth-Token": token})
    assert status == 200 and body["servers"][0]["id"] == "Denver-1"


# The proof of concept's clients (BeyondTheClouds/openstackoid) send the whole scope,
# every service filled with the default region, as json.dumps writes it, in X-Scope
# and after the token: python-openstackoidclient (stable/rocky, Python 2: its dict's
# hash order) and openstackoid/http/request.py (oid/train, Python 3: insertion order).
POC_SCOPES = {
    "rocky": '{{"placement": "Berlin", "network": "Berlin", "compute": "{}", "image": "Berlin", "identity": "Berlin"}}',
    "train": '{{"compute": "{}", "identity": "Berlin", "image": "Berlin", "network": "Berlin", "placement": "Berlin"}}',
}


@pytest.mark.parametrize("client", sorted(POC_SCOPES))
@pytest.mark.parametrize(
    ("compute", "answered"), [("Denver", ["Denver-1"]), ("Berlin&Denver", ["Berlin-1", "Denver-1"])]
)
async def test_the_proof_of_concepts_requests_replayed(federation, client, compute, answered):
    """`openstack server list --os-scope '{"compute": ...}'` as its clients sent it,
    header for header: a list of servers, which needs no Placement, is answered."""
    scope = POC_SCOPES[client].format(compute)
    headers = {"X-Scope": scope, "X-Auth-Token": f"{TOKEN}!SCOPE!{scope}"}
    status, _headers, body = await call(federation, "GET", "/compute/v2.1/servers", headers=headers)
    assert status == 200, body
    assert sorted(server["id"] for server in body["servers"]) == answered
    for location in compute.split("&"):
        assert federation.backends[location].seen[-1]["headers"]["X-Auth-Token"] == TOKEN


async def test_remote_route_goes_through_the_remote_interposer(federation):
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    assert status == 200 and body["servers"][0]["id"] == "Denver-1"
    seen = federation.backends["Denver"].seen[-1]["headers"]
    assert seen["X-Oid-Origin"] == "Berlin"
    assert seen["X-Oid-Hop"] == "2"
    assert seen["X-Auth-Token"] == TOKEN
    assert json.loads(seen["X-Scope"])["network"] == "Denver"  # bound services follow compute
    assert not federation.backends["Berlin"].seen
    assert headers["X-Oid-Location"] == "Denver"


async def test_and_merges_lists_and_annotates_locations(federation):
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver&Paris}")
    assert status == 200
    assert [(s["id"], s["oid_location"]) for s in body["servers"]] == [
        ("Berlin-1", "Berlin"),
        ("Denver-1", "Denver"),
        ("Paris-1", "Paris"),
    ]
    assert "servers_links" not in body  # pagination cannot be merged across locations
    assert headers["X-Oid-Outcomes"] == "Berlin=ok,Denver=ok,Paris=ok"


async def test_star_means_every_location(federation):
    _, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: *}")
    assert len(body["servers"]) == 3


async def test_and_with_a_failing_location_reports_each_outcome(federation):
    federation.backends["Denver"].status = 503
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    assert status == 502
    error = body["error"]
    assert error["message"] == "failed at: Denver"
    outcomes = {o["location"]: o for o in error["oid_outcomes"]}
    assert outcomes["Berlin"]["ok"] is True
    assert outcomes["Denver"]["ok"] is False and outcomes["Denver"]["status"] == 503


async def test_single_resource_under_and_succeeds_only_everywhere(federation):
    status, headers, body = await call(
        federation, "POST", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}", json={"server": {"name": "vm"}}
    )
    assert status == 202
    assert body["server"]["oid_location"] == "Berlin"
    assert headers["X-Oid-Outcomes"] == "Berlin=ok,Denver=ok"
    assert all(b.seen[-1]["method"] == "POST" for b in (federation.backends["Berlin"], federation.backends["Denver"]))


async def test_an_image_created_under_and_has_one_id_at_every_location(federation):
    """Glance takes the id from the client: under '&' the entry chooses one, so that
    the upload after it (PUT /v2/images/<id>/file, same scope) finds the image everywhere."""
    berlin, denver = federation.backends["Berlin"], federation.backends["Denver"]
    scope = "{glance: Berlin&Denver}"
    status, _headers, body = await call(federation, "POST", "/image/v2/images", scope=scope, json={"name": "debian"})
    assert status == 201, body
    assert berlin.images[-1][1]["id"] == denver.images[-1][1]["id"] == body["id"]
    assert berlin.images[-1][0] == denver.images[-1][0] == {"name": "debian", "id": body["id"]}
    status, _headers, _body = await call(
        federation, "PUT", f"/image/v2/images/{body['id']}/file", scope=scope, data=b"x" * 1000
    )
    assert status == 204 and berlin.uploads[body["id"]] == denver.uploads[body["id"]] == 1000
    # A client's own id is kept; one location, or '|', chooses nothing.
    mine = "5b3c3cf2-5f7e-4a40-9d4d-7c0c3b1b9e01"
    await call(federation, "POST", "/image/v2/images", scope=scope, json={"name": "mine", "id": mine})
    assert berlin.images[-1][1]["id"] == denver.images[-1][1]["id"] == mine
    for alone in ("{glance: Denver}", "{glance: Denver|Berlin}"):
        await call(federation, "POST", "/image/v2/images", scope=alone, json={"name": "alone"})
        assert denver.images[-1][0] == {"name": "alone"}


async def test_or_takes_the_first_that_succeeds(federation):
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Denver-1"
    assert not federation.backends["Paris"].seen


async def test_or_falls_back_on_5xx(federation):
    federation.backends["Denver"].status = 500
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Paris-1"
    assert headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"


async def test_or_falls_back_on_404_for_a_read_of_one_resource(federation):
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers/Paris-7", scope="{nova: Denver|Paris}")
    assert status == 200 and body["server"]["id"] == "Paris-7"


async def test_or_everything_failing_is_reported(federation):
    for name in ("Denver", "Paris"):
        federation.backends[name].status = 503
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 502
    assert body["error"]["message"] == "every alternative failed: Denver, Paris"


async def test_cut_off_location_is_skipped_after_the_first_failure(federation):
    # Denver's interposer stops answering: its port refuses connections.
    federation.write_catalog()
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.routes.catalog.sites["Denver"].extra["peer"] = "https://127.0.0.1:9"
    status, headers, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"
    assert interposer.health.state(("Denver", "compute")) == 1  # open
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Paris-1"
    assert headers["X-Oid-Outcomes"] == "Denver=skipped,Paris=ok"
    # '&' reports the cut-off DC at once, naming it.
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    assert status == 502
    denver = [o for o in body["error"]["oid_outcomes"] if o["location"] == "Denver"][0]
    assert denver["detail"].startswith("skipped")


async def test_a_stalled_location_times_out_and_falls_back(federation):
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.settings.read_timeout = 0.5
    federation.backends["Denver"].stall = True
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Paris-1"


async def test_bad_scope_is_a_400_in_openstack_shape(federation):
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&}")
    assert status == 400
    assert body["error"]["code"] == 400
    assert body["error"]["message"].startswith("bad scope at position 14")
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Tokyo}")
    assert status == 400 and "known locations: Berlin, Denver, Paris" in body["error"]["message"]
    assert not federation.backends["Berlin"].seen


async def test_bad_collaboration_is_refused_before_forwarding(federation):
    status, _, body = await call(
        federation,
        "POST",
        "/compute/v2.1/servers",
        scope="{nova: Berlin, neutron: Denver}",
        json={"server": {"name": "vm"}},
    )
    assert status == 400
    assert "compute at Berlin with network at Denver is refused" in body["error"]["message"]
    assert not any(b.seen for b in federation.backends.values())


async def test_client_supplied_internal_headers_are_stripped(federation):
    await call(
        federation,
        "GET",
        "/compute/v2.1/servers",
        scope="{nova: Denver}",
        headers={"X-Oid-Origin": "Paris", "X-Oid-Hop": "9", "X-Oid-Auth": "guess"},
    )
    seen = federation.backends["Denver"].seen[-1]["headers"]
    assert seen["X-Oid-Origin"] == "Berlin" and seen["X-Oid-Hop"] == "2"


async def test_forwarding_loop_is_stopped(federation):
    headers = {"X-Scope": '{"compute":"Denver"}', "X-Oid-Hop": "4"}
    status, _, body = await federation.as_peer("Paris", "GET", "/compute/v2.1/servers", headers=headers)
    assert status == 508 and "forwarding loop" in body["error"]["message"]


async def test_version_documents_links_and_location_headers_are_rewritten(federation):
    own = federation.url("Berlin") + "/compute"
    _, _, body = await call(federation, "GET", "/compute/", scope="{nova: Denver}")
    assert body["versions"][0]["links"][0]["href"] == own + "/v2.1/"
    status, headers, _ = await call(
        federation, "POST", "/compute/v2.1/servers", scope="{nova: Paris}", json={"server": {"name": "vm"}}
    )
    assert status == 202 and headers["Location"] == own + "/v2.1/servers/Paris-new"


async def test_version_documents_under_and_come_from_one_location_that_answers(federation):
    """Version discovery must not fail because one DC of an '&' is down: the
    request that follows reports it by name."""
    federation.backends["Denver"].status = 503
    federation.write_catalog()
    federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Paris"].extra["peer"] = "https://127.0.0.1:9"
    for path in ("/compute/", "/compute/v2.1", "/compute/v2.1/"):
        status, headers, body = await call(federation, "GET", path, scope="{nova: Paris&Denver&Berlin}")
        assert status == 200 and headers["X-Oid-Outcomes"] == "Berlin=ok", path  # this DC first
    status, _, body = await call(federation, "GET", "/compute/", scope="{nova: Paris&Denver}")
    assert status == 200 and body["versions"][0]["links"][0]["href"].startswith(federation.url("Berlin"))
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    assert status == 502 and body["error"]["message"] == "failed at: Denver"


async def test_json_arriving_in_pieces_is_read_whole(federation):
    """Found on the lab: a JSON answer longer than one TCP segment came through a
    WAN in pieces, and only the first piece was rewritten and passed on."""
    for scope in ("{nova: Berlin}", "{nova: Denver}"):
        status, _headers, body = await call(federation, "GET", "/compute/v2.1/split", scope=scope)
        assert status == 200, body
        links = body["versions"][0]["links"]
        assert len(links) == 40 and all(link["href"].startswith(federation.url("Berlin")) for link in links)


async def test_bodies_stream_both_ways(federation):
    size = 64 * 1024 * 1024

    async def chunks():
        block = b"y" * (1 << 20)
        for _ in range(size >> 20):
            yield block

    status, _, _ = await call(
        federation,
        "PUT",
        "/image/v2/images/img1/file",
        scope="{glance: Paris}",
        data=chunks(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 204 and federation.backends["Paris"].uploads["img1"] == size
    async with aiohttp.ClientSession() as session:
        url = federation.url() + f"/image/v2/images/img1/file?size={size}"
        async with session.get(url, headers={"X-Auth-Token": TOKEN, "X-Scope": "{glance: Denver}"}) as response:
            received = 0
            async for chunk in response.content.iter_chunked(1 << 20):
                received += len(chunk)
    assert received == size


async def test_unknown_service_prefix(federation):
    status, _, body = await call(federation, "GET", "/swift/v1")
    assert status == 404 and "no service 'swift'" in body["error"]["message"]


async def test_healthz_metrics_and_scope_endpoints(federation):
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    async with aiohttp.ClientSession() as session:
        async with session.get(federation.url() + "/healthz") as response:
            assert (await response.json()) == {"status": "ok", "location": "Berlin", "down": []}
        async with session.get(federation.url() + "/metrics") as response:
            text = await response.text()
        assert 'oid_requests_total{code="200",service="compute"}' in text
        assert "oid_request_seconds_bucket" in text
        # Per location the request went to: Berlin's own Nova, Denver's interposer.
        for location in ("Berlin", "Denver"):
            assert f'oid_upstream_requests_total{{location="{location}",service="compute"}}' in text
            assert f'oid_link_seconds_count{{location="{location}"}}' in text
        assert 'oid_upstream_seconds_bucket{le="60.0",service="compute"}' in text
        async with session.get(federation.url() + "/oid/v1/scope", headers={"X-Scope": "{nova: *}"}) as response:
            body = await response.json()
    assert body["scope"]["compute"] == "Berlin&Denver&Paris" and body["entry"] == "Berlin"


async def test_catalog_reload_keeps_the_old_catalog_when_the_new_one_is_bad(federation):
    interposer = federation.apps["Berlin"][INTERPOSER]
    federation.backends  # noqa: B018 - the fixture's backends stay up
    federation.catalog_file.write_text("locations: [broken")
    await interposer.reload()
    assert interposer.routes.catalog.names == ["Berlin", "Denver", "Paris"]
    data = federation.catalog_data()
    import yaml

    # A new DC without its peer URL cannot be reached (peers speak mutual TLS only): refused too.
    data["locations"]["Tokyo"] = {"interposer": "http://127.0.0.1:9", "services": ["nova"]}
    federation.catalog_file.write_text(yaml.safe_dump(data))
    await interposer.reload()
    assert interposer.routes.catalog.names == ["Berlin", "Denver", "Paris"]
    data["locations"]["Tokyo"]["peer"] = "https://127.0.0.1:9"
    federation.catalog_file.write_text(yaml.safe_dump(data))
    os.kill(os.getpid(), 0)  # the process is alive; reload() is what SIGHUP calls
    await interposer.reload()
    assert "Tokyo" in interposer.routes.catalog.names
    assert signal.SIGHUP  # documented trigger


@pytest.mark.parametrize("scope", ["{nova: Berlin}", None])
async def test_no_scope_means_the_entry_dc(federation, scope):
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope=scope)
    assert status == 200 and body["servers"][0]["id"] == "Berlin-1"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("iptables"), reason="needs root and iptables")
async def test_a_partition_on_a_pooled_connection_is_detected(federation, aiohttp_server):
    """A link cut while a connection to Denver's interposer (its peer port) is pooled: no
    connect timeout happens, the request rides the open connection. The kernel
    fails it after unacked_timeout (not the long read timeout), and '|' falls
    back to Paris."""
    from oid.interposer.app import build_app
    from oid.interposer.config import Routes
    from oid.scope import Catalog

    settings = federation.settings("Berlin", read_timeout=120.0, unacked_timeout=1.0)
    app = build_app(settings, Routes(Catalog.from_file(str(federation.catalog_file)), "Berlin"))
    server = await aiohttp_server(app)
    entry = f"http://127.0.0.1:{server.port}/compute/v2.1/servers"
    headers = {"X-Auth-Token": TOKEN, "X-Scope": "{nova: Denver|Paris}"}
    # Only packets to Denver's peer port: everything else on loopback flows.
    denver = str(federation.peers.tls["Denver"].port)
    rule = ["OUTPUT", "-p", "tcp", "-d", "127.0.0.1", "--dport", denver, "-j", "DROP"]
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(entry, headers=headers) as response:
            assert response.headers["X-Oid-Location"] == "Denver"  # a connection to Denver is now pooled
        subprocess.run(["iptables", "-I", *rule], check=True)
        try:
            async with session.get(entry, headers=headers) as response:
                assert response.status == 200
                assert response.headers["X-Oid-Outcomes"] == "Denver=failed,Paris=ok"
        finally:
            subprocess.run(["iptables", "-D", *rule], check=True)


# -- a scope in the path (/scope/<scope>/<service>/...) ------------------------


@pytest.mark.parametrize("spelled", ["nova:Denver", "%7Bnova%3A%20Denver%7D", "%7B%22compute%22%3A%22Denver%22%7D"])
async def test_a_scope_in_the_path_routes_like_x_scope(federation, spelled):
    """For clients that cannot send X-Scope: the entry's URL with the scope in
    its path is an endpoint; the service upstream sees the path without it."""
    status, headers, body = await call(federation, "GET", f"/scope/{spelled}/compute/v2.1/servers")
    assert status == 200 and body["servers"][0]["id"] == "Denver-1", body
    seen = federation.backends["Denver"].seen[-1]
    assert seen["path"] == "/v2.1/servers"
    assert json.loads(seen["headers"]["X-Scope"])["compute"] == "Denver"
    assert headers["X-Oid-Location"] == "Denver"


async def test_a_scope_in_the_path_fans_out_and_its_links_keep_it(federation):
    status, headers, body = await call(federation, "GET", "/scope/nova:Berlin&Denver/compute/v2.1/servers")
    assert status == 200 and sorted(s["id"] for s in body["servers"]) == ["Berlin-1", "Denver-1"]
    # Links lead back to the same scoped endpoint: the client stays in its scope.
    own = federation.url("Berlin") + "/scope/nova:Denver/compute"
    _, _, body = await call(federation, "GET", "/scope/nova:Denver/compute/")
    assert body["versions"][0]["links"][0]["href"] == own + "/v2.1/"
    status, headers, _ = await call(
        federation, "POST", "/scope/nova:Paris/compute/v2.1/servers", json={"server": {"name": "vm"}}
    )
    paris = federation.url("Berlin") + "/scope/nova:Paris/compute"
    assert status == 202 and headers["Location"] == paris + "/v2.1/servers/Paris-new"


@pytest.mark.parametrize(
    ("path", "headers", "message"),
    [
        ("/scope/nova:Denver", {}, "a scope, then a service"),
        ("/scope//compute/v2.1/servers", {}, "a scope, then a service"),
        ("/scope/%FF%FE/compute/v2.1/servers", {}, "not printable"),
        ("/scope/%C2%85/compute/v2.1/servers", {}, "not printable"),  # U+0085, a line break
        ("/scope/nova:Nowhere/compute/v2.1/servers", {}, "Nowhere"),
        ("/scope/nova:Denver/compute/v2.1/servers", {"X-Scope": "{nova: Paris}"}, "two scopes"),
        ("/scope/nova:Denver/compute/v2.1/servers", {"X-Auth-Token": "t!SCOPE!{nova: Paris}"}, "two scopes"),
    ],
)
async def test_a_scope_in_the_path_that_cannot_be_used_is_refused(federation, path, headers, message):
    status, _, body = await call(federation, "GET", path, headers=headers)
    assert status == 400 and message in body["error"]["message"], body
    assert not federation.backends["Denver"].seen and not federation.backends["Paris"].seen


async def test_a_peer_never_sends_its_scope_in_the_path(federation):
    status, _, body = await federation.as_peer("Paris", "GET", "/scope/nova:Denver/compute/v2.1/servers")
    assert status == 400 and "a peer sends its scope in X-Scope" in body["error"]["message"]


async def test_placement_of_another_dc_with_this_dcs_token_is_refused_with_the_reason(federation):
    """Placement has no paste pipeline for oid's filters: a Berlin token at
    Denver's Placement would be its 401; the entry refuses it and says why."""
    status, _, body = await call(federation, "GET", "/placement/resource_providers", scope="{placement: Denver}")
    assert status == 400 and "accepts only its own DC's tokens" in body["error"]["message"], body
    assert "{keystone: Denver, placement: Denver}" in body["error"]["message"]
    assert not federation.backends["Denver"].seen
