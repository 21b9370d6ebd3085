#!/usr/bin/env python3
"""Which of the other DCs' peer ports this host reaches (prechecks.yml).

    peers_reachable.py [--timeout S] NAME=ADDRESS:PORT ...

Connects to all at once (a thread each, at most 64 at a time) and prints JSON:
{"reached": [names], "refused": [names], "unreachable": {name: why}}. A refused
connection still proves the path (the DC answers; its interposer may not run
yet); a timeout or no route does not. Standard library only: it runs with the
host's Python.
"""

import argparse
import json
import socket
from concurrent.futures import ThreadPoolExecutor


def attempt(target: str, timeout: float) -> tuple[str, str]:
    address, _, port = target.rpartition(":")
    try:
        with socket.create_connection((address.strip("[]"), int(port)), timeout=timeout):
            return "reached", ""
    except ConnectionRefusedError:
        return "refused", ""
    except TimeoutError:
        return "unreachable", f"no answer within {timeout:g} s"
    except (OSError, ValueError) as exc:
        return "unreachable", str(exc) or type(exc).__name__


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("peers", nargs="*", metavar="NAME=ADDRESS:PORT")
    args = parser.parse_args()
    peers = dict(peer.split("=", 1) for peer in args.peers)
    found = {"reached": [], "refused": [], "unreachable": {}}
    with ThreadPoolExecutor(max_workers=64) as pool:
        attempts = {name: pool.submit(attempt, target, args.timeout) for name, target in peers.items()}
    for name, future in attempts.items():
        verdict, why = future.result()
        if verdict == "unreachable":
            found["unreachable"][name] = why
        else:
            found[verdict].append(name)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
