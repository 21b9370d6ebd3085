"""Faults the interposer lives with (issue: "The interposer holds under bad clients
and faults"): a peer killed and started again, and a soak of mixed good and bad
traffic that stops by itself after a fixed number of rounds, with the resources
it leaves behind measured.

Denver's interposer is a real process here (`oid interposer serve`), so that it
can be killed with SIGKILL mid-answer, as a DC's container is when its host
fails, and started again on the same port."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest
import yaml
from prometheus_client import REGISTRY

from oid.interposer.app import INTERPOSER
from oid.interposer.health import CLOSED
from tests.interposer.conftest import TOKEN, call
from tests.support.identity import own_secret

HEALTHY_WITHIN = 20  # seconds: a started interposer answers /healthz, a healed breaker closes


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """The memory the process keeps: garbage collected and the allocator's free
    pages handed back first, so that what is measured is what is held (on a busy
    machine, more requests in flight at once leave more freed but unreturned
    pages: 21 MiB once, with nothing kept)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def metric_series() -> int:
    return sum(len(metric.samples) for metric in REGISTRY.collect())


class PeerProcess:
    """A location's interposer as a process of its own, on the location's port."""

    def __init__(self, fed, name, tmp_path):
        self.fed, self.name = fed, name
        self.config = tmp_path / f"{name}-interposer.yml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "location": name,
                    "catalog": str(fed.catalog_file),
                    "listen": {"host": "127.0.0.1", "port": fed.ports[name]},
                    "federation_secret": own_secret(name),
                    **fed.peers.files(name),
                    "connect_timeout": 0.5,
                    "read_timeout": 10,
                }
            )
        )
        self.process: subprocess.Popen | None = None

    async def start(self):
        command = [sys.executable, "-m", "oid.cli", "interposer", "serve", "--config", str(self.config)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        async with aiohttp.ClientSession() as session:
            for _ in range(HEALTHY_WITHIN * 10):
                try:
                    async with session.get(self.fed.url(self.name) + "/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                assert self.process.poll() is None, self.process.stderr.read().decode()[-3000:]
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name}'s interposer did not start")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.kill()
        if self.process:
            self.process.stderr.close()


@pytest.fixture
async def denver_process(federation, tmp_path):
    await federation.stop("Denver")  # the in-process Denver gives its ports to the process
    peer = PeerProcess(federation, "Denver", tmp_path)
    await peer.start()
    yield peer
    peer.stop()


async def until(condition, seconds=HEALTHY_WITHIN):
    for _ in range(seconds * 10):
        if await condition():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_peer_killed_mid_answer_breaks_that_answer_visibly(federation, denver_process):
    """An image download from Denver is cut by Denver's death after its first MiB:
    the client must see a broken body, never a short one that looks complete."""
    size = 256 << 20
    url = federation.url() + f"/image/v2/images/big/file?size={size}"
    headers = {"X-Auth-Token": TOKEN, "X-Scope": "{glance: Denver}"}
    received = 0
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as answer:
            assert answer.status == 200 and answer.content_length == size
            received += len(await answer.content.readexactly(1 << 20))
            denver_process.kill()
            with pytest.raises(aiohttp.ClientPayloadError):
                async for chunk in answer.content.iter_chunked(1 << 20):
                    received += len(chunk)
    assert received < size


async def test_a_peer_killed_and_started_again_is_used_again(federation, denver_process):
    """While Denver's interposer is dead, Denver's requests fail at once and clearly,
    '|' goes on to Paris, Berlin and Paris are untouched; once it runs again,
    Berlin uses it again after the back-off, without any restart of its own."""
    berlin = federation.apps["Berlin"][INTERPOSER]
    berlin.health.initial = 0.5  # the fixture's 30 s back-off, shortened for this test
    for scope in ("{nova: Denver}", "{nova: Berlin}", "{nova: Paris}"):  # every pool in use once
        assert (await call(federation, "GET", "/compute/v2.1/servers", scope=scope))[0] == 200
    fds = open_fds()
    denver_process.kill()

    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}")
    assert status in (502, 503) and "Denver" in body["error"]["message"]
    assert berlin.health.state(("Denver", "compute")) != CLOSED
    for scope in ("{nova: Berlin}", "{nova: Paris}"):
        assert (await call(federation, "GET", "/compute/v2.1/servers", scope=scope))[0] == 200
    status, _, body = await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver|Paris}")
    assert status == 200 and body["servers"][0]["id"] == "Paris-1"

    await denver_process.start()

    async def denver_answers():
        return (await call(federation, "GET", "/compute/v2.1/servers", scope="{nova: Denver}"))[0] == 200

    assert await until(denver_answers), "Berlin did not use Denver again after it restarted"
    assert berlin.health.state(("Denver", "compute")) == CLOSED
    # The dead Denver's connections were closed; the new one's pooled (one end
    # in this process, where the old ones had both ends) and its stderr pipe.
    assert open_fds() <= fds + 2, (fds, open_fds())


# -- the soak ------------------------------------------------------------------

ROUNDS = 12  # the soak's length: fixed, so that it stops by itself


async def abort_an_upload(fed):
    """A client that promises a body and leaves after three bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", fed.ports["Berlin"])
    writer.write(
        b"PUT /compute/v2.1/echo HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
        b"X-Scope: {nova: Denver|Paris}\r\nContent-Length: 99999\r\n\r\nabc"
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def send_garbage(fed):
    with socket.create_connection(("127.0.0.1", fed.ports["Berlin"]), timeout=10) as sock:
        sock.sendall(b"GET /compute/\x00\xff HTTP/1.1\r\nHost: \x01\r\n\r\n")
        assert sock.recv(4096).split(b" ", 2)[1] == b"400"  # aiohttp's parser's (docs/interposer.md)


async def one_round(fed, index):
    """Every kind of traffic once: merged, failed over, refused, streamed, broken."""
    statuses = []
    scopes = ["{nova: Berlin&Denver&Paris}", "{nova: Denver|Paris}", "{nova: Paris}", "{nova: Atlantis}"]
    for scope in scopes:
        statuses.append((await call(fed, "GET", "/compute/v2.1/servers", scope=scope))[0])
    body = os.urandom(3 << 20)
    for scope in ("{nova: Berlin&Denver}", "{nova: Denver|Paris}"):
        statuses.append((await call(fed, "POST", "/compute/v2.1/echo", scope=scope, data=body))[0])
    statuses.append((await call(fed, "GET", "/image/v2/images/x/file?size=5000000", scope="{glance: Denver}"))[0])
    statuses.append((await call(fed, "GET", f"/comput%65/v2.1/servers?i={index}", scope="{nova: Berlin}"))[0])
    statuses.append((await call(fed, "GET", f"/x{index}/y"))[0])
    statuses.append((await call(fed, "GET", "/compute/v2.1/huge-error?size=50000000", scope="{nova: Denver}"))[0])
    await abort_an_upload(fed)
    await asyncio.to_thread(send_garbage, fed)
    return statuses


async def test_a_soak_of_mixed_traffic_leaves_memory_descriptors_and_metrics_flat(federation):
    """ROUNDS rounds of every kind of traffic, good and bad. After a first round (which
    fills the pools, caches and metric series that are meant to exist), the rest
    must not grow the process's memory, open descriptors or metric series. The
    process holds the clients, backends and interposers: a round's own churn is
    2-3 MiB of allocator noise, while a body kept (3 MiB each, two per round) or a
    stream not released would grow it by tens of MiB."""
    first = await one_round(federation, 0)
    assert first == await one_round(federation, 1)  # the same answers every round
    await asyncio.sleep(0.5)
    fds, rss, series = open_fds(), rss_bytes(), metric_series()
    for index in range(2, ROUNDS):
        assert await one_round(federation, index) == first
    await asyncio.sleep(0.5)
    assert open_fds() <= fds + 6, (fds, open_fds())
    assert metric_series() == series
    grown = rss_bytes() - rss
    assert grown < 16 << 20, f"RSS grew {grown >> 20} MiB over {ROUNDS - 2} rounds"
    berlin = federation.apps["Berlin"][INTERPOSER]
    assert all(berlin.health.state((name, "compute")) == CLOSED for name in ("Berlin", "Denver", "Paris"))
