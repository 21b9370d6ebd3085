"""`oid status` and the interposer's /oid/v1/status, on loopback interposers."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from oid.interposer.app import INTERPOSER
from tests.interposer.conftest import call


async def status_of(federation, location="Berlin") -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.get(federation.url(location) + "/oid/v1/status") as response:
            assert response.status == 200
            return await response.json()


async def oid_status(*args) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oid.cli", "status", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_status_lists_every_location_with_its_link_and_why_a_breaker_is_open(federation):
    before = await status_of(federation)
    assert before["location"] == "Berlin"
    assert {link["location"] for link in before["links"]} == {"Berlin", "Denver", "Paris"}
    assert all(link["answers"] == 0 and link["latency_ms"] is None for link in before["links"])
    # Denver answers; Paris's interposer is gone (its port refuses connections).
    federation.write_catalog()
    federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Paris"].extra["peer"] = "https://127.0.0.1:9"
    for _ in range(3):
        await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Paris|Berlin}")
    links = {link["location"]: link for link in (await status_of(federation))["links"]}
    assert links["Denver"]["answers"] == 3 and links["Denver"]["latency_ms"] > 0 and links["Denver"]["breakers"] == []
    assert links["Denver"]["interposer"] == federation.url("Denver")
    assert links["Paris"]["answers"] == 0 and links["Paris"]["latency_ms"] is None
    [breaker] = links["Paris"]["breakers"]
    assert breaker["service"] == "compute" and breaker["breaker"] == "open" and "refused" in breaker["reason"]


async def test_oid_status_prints_the_federation_and_fails_when_something_is_not_well(federation):
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Berlin&Denver&Paris}")
    code, out, err = await oid_status("--entry", federation.url("Berlin"))
    assert code == 0, out + err
    assert "3 DCs in Berlin's catalog; 3 interposers answer, 0 do not" in out
    assert any(line.split()[:2] == ["Berlin", "Denver"] and "ms" in line for line in out.splitlines()), out
    # Denver's interposer, as Berlin's catalog gives it, does not answer; Berlin's link to it breaks.
    federation.write_catalog()
    denver = federation.apps["Berlin"][INTERPOSER].routes.catalog.sites["Denver"]
    denver.extra["interposer"], denver.extra["peer"] = "http://127.0.0.1:9", "https://127.0.0.1:9"
    await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    code, out, err = await oid_status("--entry", federation.url("Berlin"))
    assert code == 1, out + err
    assert "2 interposers answer, 1 do not" in out
    assert any(line.startswith("Denver") and "NO ANSWER" in line for line in out.splitlines()), out
    first_link = out.split("breakers not closed)\n", 1)[1].splitlines()[1]
    assert first_link.split()[:2] == ["Berlin", "Denver"] and "compute open" in first_link, out  # not well first
    code, out, _ = await oid_status("--entry", federation.url("Berlin"), "--json")
    dcs = {dc["location"]: dc for dc in json.loads(out)["dcs"]}
    assert dcs["Denver"]["status"] is None and dcs["Paris"]["status"]["location"] == "Paris"


async def test_oid_status_says_when_the_entry_cannot_be_read(federation):
    code, out, err = await oid_status("--entry", "http://127.0.0.1:9", "--timeout", "2")
    assert code == 2 and "the entry interposer cannot be read" in err and not out
    code, _, err = await oid_status("--entry", federation.url("Berlin") + "/healthz/x")
    assert code == 2 and "answered 404" in err
