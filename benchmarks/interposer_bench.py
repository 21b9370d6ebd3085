#!/usr/bin/env python3
"""Benchmark of the interposer on loopback; every figure is a ratio measured in the same run.

1. added latency per request: direct vs HAProxy (plain routing) vs interposer;
2. `&` over N simulated locations answering after 50 ms: time over N=1, and
   over the client sending the same N requests at once itself (what the
   simulated DCs cost on this machine's cores, without the interposer);
3. `|` whose first location is blackholed (iptables DROP on 127.0.0.2):
   first request and the following ones, against calling the second directly
   (in alternating batches);
4. streaming a download through the interposer: throughput over direct, and
   the interposer's peak RSS, for each size.

Servers run as separate processes; everything stops by itself (bounded
request counts, timeouts, the DROP rule removed on exit). The simulated DCs
are reached as the overlay deploys them, over mutual TLS (a CA made for the
run; the client's own fan-out, the baseline, speaks TLS to them too).
Usage: benchmarks/interposer_bench.py [--quick] [--sizes 100M,1G,4G]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
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
sys.path.insert(0, str(HERE.parent))
from oid.interposer.trust import certificate_name  # noqa: E402
from tests.support.pki import TLS_KEYS, Authority, tls_files  # noqa: E402

PYTHON = sys.executable
# The entry's own secret (for its own DC's services; never sent to another DC).
SECRET = "benchmark-federation-secret-000"
BLACKHOLE = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


class Processes:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, args, port, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        wait_port(port)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def backend(procs: Processes, tls: dict | None = None) -> int:
    """A stand-in API; with ``tls`` (ca_file, cert_file, key_file), a peer port."""
    port = free_port()
    procs.start([PYTHON, str(HERE / "backend.py"), str(port), *(tls[key] for key in TLS_KEYS if tls)], port)
    return port


class Peers:
    """Mutual TLS for a run: a CA, the entry's certificate, and one for a stand-in
    that serves the simulated DCs ``names`` (it names each, as the entry checks)."""

    def __init__(self, workdir: Path, names: list[str]):
        directory = workdir / f"pki-{len(names)}-{free_port()}"
        authority = Authority.create(directory)
        self.entry = authority.issue(directory, "Entry")
        self.standin = authority.issue(directory, "standin", names=[certificate_name(name) for name in names])
        self.first_name = certificate_name(names[0])

    def entry_settings(self) -> dict:
        """The entry interposer's configuration keys for mutual TLS."""
        return {"tls": tls_files(self.entry), "peer_listen": {"host": "127.0.0.1", "port": free_port()}}


def interposer(procs: Processes, workdir: Path, locations: dict, here: str = "Entry", **settings) -> tuple:
    port = free_port()
    catalog = workdir / f"catalog-{port}.yml"
    catalog.write_text(yaml.safe_dump({"locations": locations}))
    config = workdir / f"interposer-{port}.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "location": here,
                "catalog": str(catalog),
                "listen": {"host": "127.0.0.1", "port": port},
                "federation_secret": SECRET,
                "max_fanout": 1000,
                **settings,
            }
        )
    )
    proc = procs.start(
        [PYTHON, "-m", "oid.cli", "interposer", "serve", "--config", str(config), "--log-level", "ERROR"], port
    )
    return port, proc


def haproxy(procs: Processes, workdir: Path, backend_port: int) -> int:
    port = free_port()
    config = workdir / "haproxy.cfg"
    config.write_text(
        f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend api
    bind 127.0.0.1:{port}
    default_backend compute
backend compute
    http-request replace-path /compute(.*) \\1
    server local 127.0.0.1:{backend_port}
"""
    )
    procs.start(["haproxy", "-f", str(config), "-db"], port)
    return port


async def latencies(url: str, count: int, headers=None) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            samples.append(time.perf_counter() - started)
    return samples


def rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# -- the four measurements ------------------------------------------------------


async def bench_latency(procs, workdir, count):
    api = backend(procs)
    proxy = haproxy(procs, workdir, api) if shutil.which("haproxy") else None
    entry, _ = interposer(procs, workdir, {"Entry": {"services": {"compute": f"http://127.0.0.1:{api}/compute"}}})
    path = "/compute/v2.1/servers"
    await latencies(f"http://127.0.0.1:{entry}{path}", 50)  # warm-up
    direct = statistics.median(await latencies(f"http://127.0.0.1:{api}{path}", count))
    via_interposer = statistics.median(await latencies(f"http://127.0.0.1:{entry}{path}", count))
    print(f"\n1. added latency per request (median of {count} sequential GETs)")
    print(f"   direct          {direct * 1e3:8.3f} ms   1.00x")
    if proxy:
        via_haproxy = statistics.median(await latencies(f"http://127.0.0.1:{proxy}{path}", count))
        print(f"   haproxy         {via_haproxy * 1e3:8.3f} ms   {via_haproxy / direct:.2f}x")
    print(f"   interposer      {via_interposer * 1e3:8.3f} ms   {via_interposer / direct:.2f}x")
    print(f"   added by the interposer: {(via_interposer - direct) * 1e3:.3f} ms", end="")
    if proxy:
        # HAProxy's own addition can be below the noise: compare whole round trips too.
        print(
            f"; by haproxy: {(via_haproxy - direct) * 1e3:.3f} ms; "
            f"interposer round trip {via_interposer / via_haproxy:.2f}x haproxy's"
        )
    else:
        print(" (haproxy not installed)")


async def fanned_out(url: str, width: int, rounds: int, peers: Peers) -> list[float]:
    """The client itself sends ``width`` requests at once, ``rounds`` times, with
    the entry's certificate: what the simulated DCs cost without the interposer
    (they share this machine's cores)."""
    samples = []
    context = peers.entry.client_context()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ssl=context)) as session:

        async def one():
            async with session.get(url, server_hostname=peers.first_name) as response:
                await response.read()
                assert response.status == 200, response.status

        for _ in range(rounds + 1):  # the first round opens the connections
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(width)))
            samples.append(time.perf_counter() - started)
    return samples[1:]


async def bench_fanout(procs, workdir, widths, rounds):
    print(f"\n2. '&' over N simulated locations, each answering after 50 ms (median of {rounds})")
    print("   straight: the client sends the N requests at once to the simulated DCs itself (TLS too)")
    base = None
    for width in widths:
        names = [f"dc{i:03d}" for i in range(width)]
        # Every simulated DC's interposer is one stand-in's peer port: a remote hop answering after 50 ms.
        peers = Peers(workdir, names)
        api = backend(procs, tls_files(peers.standin))
        simulated = {"interposer": f"http://127.0.0.1:{api}", "peer": f"https://127.0.0.1:{api}", "services": ["nova"]}
        locations = {"Entry": {"services": ["nova"]}, **{name: simulated for name in names}}
        entry, proc = interposer(procs, workdir, locations, **peers.entry_settings())
        scope = "{nova: " + "&".join(names) + "}"
        url = f"http://127.0.0.1:{entry}/compute/v2.1/servers?delay=0.05"
        await latencies(url, 2, headers={"X-Scope": scope})
        median = statistics.median(await latencies(url, rounds, headers={"X-Scope": scope}))
        straight = statistics.median(
            await fanned_out(f"https://127.0.0.1:{api}/compute/v2.1/servers?delay=0.05", width, rounds, peers)
        )
        base = base or median
        print(
            f"   N={width:<4} {median * 1e3:8.1f} ms   {median / base:.2f}x of N=1"
            f"   straight {straight * 1e3:6.1f} ms   interposer {median / straight:.2f}x straight"
        )
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def blackholed(port: int):
    rule = ["OUTPUT", "-d", BLACKHOLE, "-p", "tcp", "--dport", str(port), "-j", "DROP"]
    subprocess.run(["iptables", "-A", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


async def bench_fallback(procs, workdir, rounds):
    peers = Peers(workdir, ["Denver", "Paris"])
    api = backend(procs, tls_files(peers.standin))
    hole = free_port()
    locations = {
        "Entry": {"services": ["nova"]},
        "Denver": {
            "interposer": f"http://{BLACKHOLE}:{hole}",
            "peer": f"https://{BLACKHOLE}:{hole}",
            "services": ["nova"],
            "connect_timeout": 1.0,
        },
        "Paris": {"interposer": f"http://127.0.0.1:{api}", "peer": f"https://127.0.0.1:{api}", "services": ["nova"]},
    }
    entry, _ = interposer(procs, workdir, locations, backoff={"initial": 60, "max": 300}, **peers.entry_settings())
    url = f"http://127.0.0.1:{entry}/compute/v2.1/servers"
    print("\n3. '|' whose first location is blackholed (connect timeout 1 s)")
    if os.geteuid() != 0 or not shutil.which("iptables"):
        print("   skipped: needs root and iptables")
        return
    straight, fallback = {"X-Scope": "{nova: Paris}"}, {"X-Scope": "{nova: Denver|Paris}"}
    await latencies(url, 50, headers=straight)  # warm-up
    direct_samples, following_samples, first_batch = [], [], None
    with blackholed(hole):
        first = (await latencies(url, 1, headers=fallback))[0]
        # Alternating batches, so that both sides see the same moments of a noisy machine.
        for _ in range(5):
            batch = await latencies(url, rounds // 5, headers=fallback)
            first_batch = first_batch or statistics.median(batch)
            following_samples += batch
            direct_samples += await latencies(url, rounds // 5, headers=straight)
    direct, following = statistics.median(direct_samples), statistics.median(following_samples)
    print(f"   Paris directly          {direct * 1e3:8.3f} ms   1.00x")
    print(f"   first request           {first * 1e3:8.1f} ms   {first / direct:.0f}x (one connect budget: TCP and TLS)")
    print(f"   following (median)      {following * 1e3:8.3f} ms   {following / direct:.2f}x")
    print(f"   first {rounds // 5} after it   {first_batch * 1e3:8.3f} ms   {first_batch / direct:.2f}x (their median)")


SIZES = {"100M": 100 << 20, "1G": 1 << 30, "4G": 4 << 30}


async def download(url: str) -> tuple[int, float]:
    received = 0
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        async for chunk in response.content.iter_chunked(1 << 20):
            received += len(chunk)
    return received, time.perf_counter() - started


async def bench_streaming(procs, workdir, sizes, repeats):
    api = backend(procs)
    print(f"\n4. streaming a download: throughput over direct (median of {repeats}, alternating), interposer peak RSS")
    for label in sizes:
        size = SIZES[label]
        entry, proc = interposer(procs, workdir, {"Entry": {"services": {"image": f"http://127.0.0.1:{api}/image"}}})
        path = f"/image/v2/images/x/file?size={size}"
        direct_times, proxy_times = [], []
        for _ in range(repeats):  # alternating, so that a noisy moment hits both sides
            got_direct, t_direct = await download(f"http://127.0.0.1:{api}{path}")
            got_proxy, t_proxy = await download(f"http://127.0.0.1:{entry}{path}")
            assert got_direct == got_proxy == size, (got_direct, got_proxy, size)
            direct_times.append(t_direct)
            proxy_times.append(t_proxy)
        t_direct, t_proxy = statistics.median(direct_times), statistics.median(proxy_times)
        peak = rss_peak_kib(proc.pid)
        direct_rate, proxy_rate = size / t_direct / 2**20, size / t_proxy / 2**20
        print(
            f"   {label:>5}  direct {direct_rate:8.0f} MiB/s  interposer {proxy_rate:8.0f} MiB/s"
            f"  {t_direct / t_proxy:.2f}x   peak RSS {peak / 1024:.0f} MiB"
        )
        proc.terminate()
        proc.wait(timeout=10)


async def main_async(args):
    procs = Processes()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            await bench_latency(procs, workdir, 200 if args.quick else 2000)
            await bench_fanout(
                procs, workdir, (1, 10, 100) if args.quick else (1, 10, 100, 500), 3 if args.quick else 7
            )
            await bench_fallback(procs, workdir, 50 if args.quick else 1000)
            await bench_streaming(procs, workdir, args.sizes, 1 if args.quick else 3)
        finally:
            procs.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, N up to 100 (a smoke run)")
    parser.add_argument("--sizes", default="100M,1G,4G", help="download sizes among 100M, 1G, 4G")
    args = parser.parse_args()
    args.sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose among {', '.join(SIZES)}")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
