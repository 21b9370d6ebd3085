"""The lab's WAN: one-way delay with jitter on the router between DCs.

This kernel has no sch_netem, so delay is applied in user space: iptables on
the router sends each ordered DC pair's forwarded packets to its own NFQUEUE
(queue number = link), and this daemon holds every packet for the link's
one-way delay before accepting it. Jitter never reorders a link (a packet
never leaves before the one queued ahead of it), as on a real path. Cuts and
random loss are iptables DROP rules, set by the lab_wan role; a stopped
daemon drops everything (no --queue-bypass), which is also a partition.

Configuration (JSON), re-read on SIGHUP:
  {"links": [{"queue": 12, "name": "Berlin>Denver", "delay_ms": 75, "jitter_ms": 3}]}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time

from netfilterqueue import COPY_META, NetfilterQueue

QUEUE_LENGTH = 8192


class Link:
    def __init__(self, loop: asyncio.AbstractEventLoop, queue: int):
        self.loop = loop
        self.queue = queue
        self.delay = 0.0
        self.jitter = 0.0
        self.last_release = 0.0
        self.nfqueue = NetfilterQueue()
        self.nfqueue.bind(queue, self.hold, max_len=QUEUE_LENGTH, mode=COPY_META)
        loop.add_reader(self.nfqueue.get_fd(), self.nfqueue.run, False)

    def configure(self, delay_ms: float, jitter_ms: float) -> None:
        self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000

    def hold(self, packet) -> None:
        now = self.loop.time()
        release = max(now + self.delay + random.uniform(-self.jitter, self.jitter), self.last_release)
        self.last_release = release
        self.loop.call_at(release, packet.accept)


def load(path: str) -> list[dict]:
    with open(path) as handle:
        links = json.load(handle)["links"]
    for link in links:
        if not isinstance(link.get("queue"), int) or float(link.get("delay_ms", -1)) < 0:
            raise ValueError(f"bad link in {path}: {link!r}")
    return links


def apply(loop, links: dict[int, Link], path: str) -> None:
    for spec in load(path):
        link = links.get(spec["queue"]) or links.setdefault(spec["queue"], Link(loop, spec["queue"]))
        link.configure(float(spec["delay_ms"]), float(spec.get("jitter_ms", 0)))
        print(
            json.dumps({"time": time.time(), "link": spec.get("name", spec["queue"]), "queue": spec["queue"],
                        "delay_ms": spec["delay_ms"], "jitter_ms": spec.get("jitter_ms", 0)}),
            flush=True,
        )  # fmt: skip


async def serve(path: str) -> None:
    loop = asyncio.get_running_loop()
    links: dict[int, Link] = {}
    apply(loop, links, path)

    def reload() -> None:
        try:
            apply(loop, links, path)
        except (OSError, ValueError) as error:  # keep the old delays rather than stop the WAN
            print(json.dumps({"time": time.time(), "error": str(error)}), file=sys.stderr, flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="oid-lab-wan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="/etc/oid-lab/wan.json", help="links file (re-read on SIGHUP)")
    asyncio.run(serve(parser.parse_args().config))


if __name__ == "__main__":
    main()
