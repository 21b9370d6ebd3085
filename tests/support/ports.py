"""Ports for the tests' own servers, chosen below the kernel's ephemeral range.

A port the kernel hands out for bind(("127.0.0.1", 0)), released at once and
bound again later by a server, comes from the ephemeral range, where every
outgoing connection of this machine takes its local port too: between the
choice and the server's bind, a client socket (this suite makes thousands of
requests; builds run beside it) could take it, and the server's bind failed
with EADDRINUSE (it happened once in make check). No client takes a port below
that range; each candidate is tried with a bind before it is given, and none is
given twice in a session.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10000  # above the well-known ports and the usual registered servers'
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_given: set[int] = set()


def ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port of 127.0.0.1 that nothing holds now and no client will take."""
    highest = ephemeral_start() - 1
    for _ in range(1000):
        port = random.randint(LOWEST, highest)
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port between {LOWEST} and {highest}")
