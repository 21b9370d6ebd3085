#!/usr/bin/env python3
"""The fan-out at edge scale: '*' over N simulated DCs, 10% of them cut off and one hung.

For N = 10, 100, 1000 (or --sizes), a real interposer (the entry, `oid
interposer serve`) has a catalog of N locations: its own compute and N-1
other DCs, stand-ins for their interposers served by one process
(benchmarks/standin_dcs.py). A tenth of them is cut off (their address,
127.0.0.2, is blackholed with iptables DROP: connecting times out, as across
a cut WAN link) and one accepts connections and never answers. The client
asks for `{nova: *}` with `Prefer: oid-reachable`. Printed, as ratios in the
same run:

- the first request (breakers closed: the cut-off DCs cost a connect
  timeout, the hung one the fan-out deadline) against the deadline, with
  every missing DC named in the body or not;
- the following requests (the missing DCs skipped by their breakers, probed
  in the background) against the client sending the same requests to the
  DCs that answer itself, at once, in alternating batches; their slowest,
  against the connect timeout;
- the answer's header bytes, the interposer's RSS after the requests, its
  /metrics size, and the strict answer (no preference) for comparison.

The DCs are reached as the overlay deploys them: over mutual TLS (a CA made
for the run, the entry's certificate, the stand-ins' peer ports requiring a
client certificate, each presenting its own DC's), and the client's own
fan-out, the baseline, speaks TLS to them too.

Everything stops by itself: bounded request counts, the DROP rule removed on
exit, the processes terminated. Needs root (iptables).
Usage: benchmarks/federation_scale.py [--sizes 10,100,1000] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from interposer_bench import BLACKHOLE, SECRET, Processes, rss_peak_kib  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from oid.interposer.trust import PeerTLS, certificate_name  # noqa: E402
from tests.support.pki import Authority, tls_files  # noqa: E402

CONNECT_TIMEOUT = 2.0
DEADLINE = 5.0
SCOPE = {"X-Scope": "{nova: *}", "X-Auth-Token": "bench"}
REACHABLE = {**SCOPE, "Prefer": "oid-reachable"}


def distinct_ports(count: int) -> list[int]:
    """``count`` free ports, all different (each bound until all are chosen:
    ports chosen one after another, each released at once, can repeat)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def blackholed():
    rule = ["OUTPUT", "-d", BLACKHOLE, "-p", "tcp", "-j", "DROP"]
    subprocess.run(["iptables", "-A", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


class Edge:
    """N locations: the entry, healthy DCs, cut-off DCs and one hung DC."""

    def __init__(self, size: int, workdir: Path, procs: Processes):
        self.size = size
        cut = size // 10
        self.names = [f"dc{index:04d}" for index in range(size)]
        self.entry = self.names[0]
        self.cut = self.names[1 : 1 + cut]
        self.hung = self.names[1 + cut]
        self.healthy = [self.entry, *self.names[2 + cut :]]
        served = self.healthy + [self.hung]
        ports = distinct_ports(len(served) + len(self.cut) + 2)
        self.ports = dict(zip(served, ports, strict=False))
        holes = dict(zip(self.cut, ports[len(served) : len(served) + len(self.cut)], strict=True))
        self.tls = peer_tls(workdir / f"pki-{size}", served)
        by_port = {str(self.ports[name]): files for name, files in self.tls["dcs"].items()}
        # The entry's own compute stays plain HTTP, as a Kolla internal endpoint.
        standins = {
            "ports": list(self.ports.values()),
            "hung": [self.ports[self.hung]],
            "tls": by_port,
            "plain": [self.ports[self.entry]],
        }
        spec = workdir / f"standins-{size}.json"
        spec.write_text(json.dumps(standins))
        # The stand-in binds its ports in order: the last one listening means all are.
        procs.start([sys.executable, str(HERE / "standin_dcs.py"), str(spec)], list(self.ports.values())[-1])
        locations = {}
        for name in self.names:
            if name == self.entry:
                locations[name] = {"services": {"compute": f"http://127.0.0.1:{self.ports[name]}/compute"}}
                continue
            address = f"{BLACKHOLE}:{holes[name]}" if name in self.cut else f"127.0.0.1:{self.ports[name]}"
            locations[name] = {"interposer": f"http://{address}", "peer": f"https://{address}", "services": ["nova"]}
        self.interposer_port = ports[-1]
        catalog = workdir / f"catalog-{size}.yml"
        catalog.write_text(yaml.safe_dump({"locations": locations}))
        config = workdir / f"interposer-{size}.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "location": self.entry,
                    "catalog": str(catalog),
                    "listen": {"host": "127.0.0.1", "port": self.interposer_port},
                    "federation_secret": SECRET,
                    "connect_timeout": CONNECT_TIMEOUT,
                    "fanout_deadline": DEADLINE,
                    "backoff": {"initial": 30, "max": 120},
                    "tls": self.tls["entry"],
                    "peer_listen": {"host": "127.0.0.1", "port": ports[-2]},
                }
            )
        )
        # OID_BENCH_PROFILE=FILE: the interposer runs under cProfile, its statistics written there.
        profile = os.environ.get("OID_BENCH_PROFILE")
        args = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else [])]
        args += ["-m", "oid.cli", "interposer", "serve", "--config", str(config), "--log-level", "ERROR"]
        self.process = procs.start(args, self.interposer_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.interposer_port}/compute/v2.1/servers"

    def straight_urls(self) -> list[tuple[str, str | None]]:
        """What a client that knew which DCs answer would ask them itself: each
        URL, and the name its certificate must have (as the interposer checks)."""
        urls = []
        for name in self.healthy:
            peer = name != self.entry
            url = f"{'https' if peer else 'http'}://127.0.0.1:{self.ports[name]}/compute/v2.1/servers"
            urls.append((url, certificate_name(name) if peer else None))
        return urls

    def client_ssl(self):
        """The client's own fan-out: the entry's certificate, as the interposer speaks."""
        return PeerTLS(**self.tls["entry"]).client_context()


def peer_tls(directory: Path, names: list[str]) -> dict:
    """A CA for the run and a certificate per DC naming that DC only, as the
    overlay issues them (names[0] is the entry's). Not one certificate naming
    every DC for all the stand-ins: a TLS connection keeps its peer's
    certificate decoded, and one naming 1000 DCs made each of the entry's
    pooled connections cost 420 KiB instead of 70."""
    authority = Authority.create(directory)
    issued = {name: authority.issue(directory, name) for name in names}
    return {
        "entry": tls_files(issued[names[0]]),
        "dcs": {name: tls_files(tls) for name, tls in issued.items() if name != names[0]},
    }


def header_bytes(response: aiohttp.ClientResponse) -> int:
    return sum(len(key) + len(value) + 4 for key, value in response.raw_headers)


async def through_interposer(session, edge: Edge, headers) -> tuple[float, int, dict, int]:
    started = time.perf_counter()
    async with session.get(edge.url, headers=headers) as response:
        body = await response.json()
        return time.perf_counter() - started, response.status, body, header_bytes(response)


async def straight(session, urls) -> float:
    async def one(url, server_hostname):
        async with session.get(url, server_hostname=server_hostname) as response:
            return await response.json()

    started = time.perf_counter()
    await asyncio.gather(*(one(url, name) for url, name in urls))
    return time.perf_counter() - started


async def bench_size(edge: Edge, requests: int) -> None:
    unlimited = aiohttp.TCPConnector(limit=0, ssl=edge.client_ssl())
    async with aiohttp.ClientSession(connector=unlimited) as client, aiohttp.ClientSession() as user:
        await straight(client, edge.straight_urls())  # the client's connections opened
        first, status, body, first_headers = await through_interposer(user, edge, REACHABLE)
        missing = {entry["location"]: entry["why"] for entry in body.get("oid_missing", [])}
        expected = {*edge.cut, edge.hung}
        answered = len(body.get("servers", []))
        following, direct, header_sizes = [], [], []
        batch = max(1, requests // 10)
        for _ in range(requests // batch):  # alternating batches: both sides see the same noisy moments
            for _ in range(batch):
                seconds, later_status, later_body, size = await through_interposer(user, edge, REACHABLE)
                assert later_status == 200 and len(later_body["servers"]) == answered, later_status
                following.append(seconds)
                header_sizes.append(size)
            for _ in range(batch):
                direct.append(await straight(client, edge.straight_urls()))
        rss = rss_kib(edge.process.pid)
        peak = rss_peak_kib(edge.process.pid)
        strict_seconds, strict_status, strict_body, strict_headers = await through_interposer(user, edge, SCOPE)
        started = time.perf_counter()
        async with user.get(f"http://127.0.0.1:{edge.interposer_port}/metrics") as response:
            metrics = await response.read()
        metrics_seconds = time.perf_counter() - started
    later, alone = statistics.median(following), statistics.median(direct)
    print(f"\nN={edge.size}: {len(edge.cut)} cut off, 1 hung, {len(edge.healthy)} answering; {requests} requests")
    print(
        f"   first request        {first:7.3f} s   {first / DEADLINE:.2f}x the {DEADLINE:g} s deadline;"
        f" status {status}, {answered} servers, missing {len(missing)}/{len(expected)} named"
        f" ({'all' if set(missing) == expected else 'NOT all'}; {sorted(set(missing.values()))})"
    )
    print(
        f"   following (median)   {later * 1e3:7.1f} ms  {later / alone:.2f}x the client's own straight fan-out"
        f" ({alone * 1e3:.1f} ms); slowest {max(following) * 1e3:.1f} ms ="
        f" {max(following) / CONNECT_TIMEOUT:.2f}x the connect timeout"
    )
    print(
        f"   headers              {first_headers} bytes first, {max(header_sizes)} at most after;"
        f" strict answer: {strict_status} in {strict_seconds * 1e3:.1f} ms, {strict_headers} header bytes,"
        f" {len(strict_body['error']['oid_outcomes'])} outcomes in its body"
    )
    print(
        f"   interposer RSS       {rss / 1024:7.1f} MiB after {requests + 1} requests (peak {peak / 1024:.1f} MiB);"
        f" /metrics {len(metrics) / 1024:.0f} KiB in {metrics_seconds * 1e3:.0f} ms"
    )


async def main_async(args) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the interposer
    print(f"'*' over N simulated DCs through one real interposer; connect timeout {CONNECT_TIMEOUT:g} s,")
    print(f"fan-out deadline {DEADLINE:g} s, with Prefer: oid-reachable (the reachable part)")
    print("DCs reached over mutual TLS (the interposer's and the client's own fan-out alike)")
    procs = Processes()
    with tempfile.TemporaryDirectory() as tmp, blackholed():
        try:
            for size in args.sizes:
                edge = Edge(size, Path(tmp), procs)
                await bench_size(edge, args.requests)
                procs.stop_all()
        finally:
            procs.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of DCs, comma-separated")
    parser.add_argument("--requests", type=int, default=100, help="requests after the first, per size")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    if any(size < 10 for size in args.sizes):
        parser.error("each size must be at least 10 (a tenth is cut off, one is hung)")
    if os.geteuid() != 0 or not shutil.which("iptables"):
        parser.error("needs root and iptables (the cut-off DCs are blackholed)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
