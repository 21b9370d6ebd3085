"""Fan-out at edge scale (DESIGN.md section 10): deadlines, the reachable part,
headers of bounded size, the scope narrowed per branch. Real interposers and
backends on loopback; each rule's test fails without it."""

from __future__ import annotations

import json

from oid.interposer.app import INTERPOSER
from oid.interposer.health import OPEN
from oid.interposer.proxy import MAX_LIST_HEADER, bounded_list, outcomes_header, prefers_reachable
from oid.scope import Outcome, Result
from tests.interposer.conftest import call

REACHABLE = {"Prefer": "oid-reachable"}


def servers_seen(fed, location):
    return [seen for seen in fed.backends[location].seen if seen["path"].startswith("/v2.1/servers")]


async def test_a_hung_location_fails_its_branch_at_the_deadline_and_opens_its_breaker(federation):
    """Denver accepts and never answers: the '&' answers at the deadline (not
    the read timeout), names Denver and why, and the next '&' skips Denver
    without sending it anything."""
    interposer = federation.apps["Berlin"][INTERPOSER]
    interposer.settings.fanout_deadline = 0.5
    federation.backends["Denver"].stall = True
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    assert status == 502
    denver = next(o for o in body["error"]["oid_outcomes"] if o["location"] == "Denver")
    assert denver == {
        "location": "Denver",
        "ok": False,
        "why": "deadline",
        "detail": "no answer within the 0.5 s deadline",
    }
    assert interposer.health.state(("Denver", "compute")) == OPEN
    sent = len(servers_seen(federation, "Denver"))
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver}")
    assert status == 502 and headers.get("X-Oid-Outcomes") is None
    assert body["error"]["oid_outcomes"][1]["why"] == "skipped"
    assert "no answer within the 0.5 s deadline" in body["error"]["oid_outcomes"][1]["detail"]
    assert len(servers_seen(federation, "Denver")) == sent


async def test_the_reachable_part_is_answered_with_every_missing_location_named(federation):
    federation.backends["Denver"].status = 503
    strict, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: *}")
    assert strict == 502  # strict by default: nothing silently lost
    status, headers, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: *}", headers=REACHABLE)
    assert status == 200
    assert [server["oid_location"] for server in body["servers"]] == ["Berlin", "Paris"]
    assert [(m["location"], m["why"], m["status"]) for m in body["oid_missing"]] == [("Denver", "answered", 503)]
    assert json.loads(body["oid_missing"][0]["detail"]) == {"error": "down"}
    assert headers["Preference-Applied"] == "oid-reachable"
    assert headers["X-Oid-Missing"] == "Denver"
    assert headers["X-Oid-Outcomes"] == "Berlin=ok,Denver=failed,Paris=ok"
    assert headers["X-Oid-Location"] == "Berlin&Paris"


async def test_the_reachable_part_of_nothing_is_a_failure(federation):
    for name in ("Berlin", "Denver", "Paris"):
        federation.backends[name].status = 503
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: *}", headers=REACHABLE)
    assert status == 502 and body["error"]["message"] == "failed at: Berlin, Denver, Paris"


async def test_the_reachable_part_of_an_answer_without_body_still_names_the_missing(federation):
    """A 204 cannot carry the missing locations: the answer becomes a 200 that does."""
    federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Paris"].extra["peer"] = "https://127.0.0.1:9"
    status, _, body = await call(
        federation, "DELETE", "/compute/v2.1/echo", scope="{nova: Berlin&Denver&Paris}", headers=REACHABLE
    )
    assert status == 200 and [m["location"] for m in body["oid_missing"]] == ["Paris"]
    assert body["oid_missing"][0]["detail"].startswith("connection failed")


def test_the_preference_is_read_as_rfc_7240_writes_it():
    assert prefers_reachable(["respond-async, oid-reachable; strict"])
    assert prefers_reachable(["return=minimal", "OID-Reachable"])
    assert not prefers_reachable(["oid-reachable-not", "return=minimal"])
    assert not prefers_reachable([])


def test_headers_listing_locations_stay_bounded_and_show_failures_first():
    names = [f"dc-{index:04d}" for index in range(1000)]
    outcomes = [Outcome(name, ok=index % 10 != 3) for index, name in enumerate(names)]
    header = outcomes_header(Result(False, [], outcomes))
    assert len(header) <= MAX_LIST_HEADER
    entries = header.split(",")
    assert entries[0] == "dc-0003=failed" and entries[-1].endswith(" more)")
    assert all(entry.endswith("=failed") for entry in entries[:-1])
    assert bounded_list(["Berlin", "Denver"], "&") == "Berlin&Denver"
    assert len(bounded_list(names, "&")) <= MAX_LIST_HEADER


async def test_a_branch_carries_only_the_scope_it_needs(federation):
    """An image list's branches carry the image and identity of the scope, not
    compute's expression (with '*' over 1000 DCs, every branch carried the
    thousand names, and the scope went past its size limit)."""
    scope = "{nova: Berlin&Denver&Paris, glance: Berlin&Denver}"
    status, _, _ = await call(federation, "GET", "/image/v2/images/x/file", scope="{glance: Denver}")
    assert status == 200
    status, _, _ = await call(federation, "GET", "/compute/v2.1/servers", scope=scope)
    assert status == 200
    nova_branch = json.loads(servers_seen(federation, "Denver")[-1]["headers"]["X-Scope"])
    assert nova_branch["compute"] == "Denver" and nova_branch["image"] == "Berlin&Denver"
    await call(federation, "GET", "/image/v2/images/x/file", scope="{glance: Berlin&Denver, nova: Berlin&Denver&Paris}")
    image_branch = json.loads(federation.backends["Denver"].seen[-1]["headers"]["X-Scope"])
    assert image_branch == {"identity": "Berlin", "image": "Denver"}
