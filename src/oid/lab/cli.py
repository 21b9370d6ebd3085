"""`oid lab ...`: a thin command over the lab's Ansible playbooks (playbooks/lab/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from oid.lab import inventory
from oid.lab.inventory import LabError

LAB_ROOT = Path("/var/lib/oid-lab")
RTT = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)?$")


def project_dir() -> Path:
    """The checkout that holds playbooks/lab (the lab runs from the project, not from a wheel)."""
    for candidate in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[3]):
        if (candidate / "playbooks" / "lab" / "up.yml").exists():
            return candidate
    raise LabError("cannot find the project's playbooks/lab/up.yml: run oid lab from the oid checkout")


def inventory_file(top: Path) -> Path:
    return top / "inventories" / "lab" / "hosts.yml"


def run_playbook(top: Path, playbook: str, extra_vars: dict | None = None) -> int:
    binary = Path(sys.executable).with_name("ansible-playbook")
    command = [
        str(binary if binary.exists() else "ansible-playbook"),
        "-i",
        "inventories/lab",
        f"playbooks/lab/{playbook}",
    ]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="oid.cloud.progress", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(command, cwd=top, env=env).returncode


def up(args) -> int:
    top = project_dir()
    dcs = inventory.parse_dcs(args.dcs)
    previous = {dc.name for dc in inventory.read(inventory_file(top))}
    dropped = previous - {dc.name for dc in dcs}
    if dropped:
        print(f"note: {', '.join(sorted(dropped))} keep running until `oid lab down`", file=sys.stderr)
    inventory.write(inventory_file(top), dcs)
    started = time.monotonic()
    code = run_playbook(top, "up.yml")
    if code:
        print(f"oid lab up failed (ansible-playbook exit {code})", file=sys.stderr)
        return code
    print(f"\nlab up in {time.monotonic() - started:.0f}s: {len(dcs)} DCs")
    print_dcs(dcs)
    print(f"clouds.yaml: {LAB_ROOT / 'clouds.yaml'} (one cloud per DC, admin)")
    return 0


def print_dcs(dcs: list[inventory.DC]) -> None:
    for dc in dcs:
        print(f"  {dc.name:<8} {dc.subnet:<16} identity {dc.endpoint('identity')}")
        for kinds in (("compute", "image", "network"), ("placement", "volume")):
            print(f"  {'':<8} {'':<16} " + ", ".join(f"{kind} {dc.endpoint(kind)}" for kind in kinds))


def down(args) -> int:
    top = project_dir()
    code = run_playbook(top, "down.yml")
    if code == 0:
        inventory_file(top).unlink(missing_ok=True)
    return code


def containers() -> dict[str, str]:
    listing = subprocess.run(
        ["docker", "ps", "--all", "--filter", "name=^oidlab_", "--format", "{{.Names}}\t{{.State}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(line.split("\t", 1) for line in listing.splitlines() if "\t" in line)


def status(args) -> int:
    """Exit 0 when every container of every DC runs, 1 when some do not, 3 when no lab is up."""
    dcs = inventory.read(inventory_file(project_dir()))
    if not dcs:
        print("no lab: run `oid lab up`")
        return 3
    states = containers()
    healthy = True
    for dc in dcs:
        mine = {name.removeprefix(f"oidlab_{dc.key}_"): state for name, state in states.items()
                if name.startswith(f"oidlab_{dc.key}_")}  # fmt: skip
        down_ones = sorted(name for name, state in mine.items() if state != "running")
        healthy &= bool(mine) and not down_ones
        summary = f"{len(mine) - len(down_ones)}/{len(mine)} containers running"
        print(
            f"{dc.name:<8} {dc.address:<12} {summary}"
            + (f" (not running: {', '.join(down_ones)})" if down_ones else "")
        )
    router = states.get("oidlab_wan", "absent")
    healthy &= router == "running"
    print(f"WAN router: {router}")
    links = LAB_ROOT / "wan" / "wan.json"
    if links.exists():
        for link in json.loads(links.read_text())["links"]:
            source, dest = link["name"].split(">")
            if source < dest:
                state = "CUT" if link["cut"] else f"{link['rtt_ms']:g} ms RTT"
                print(f"  {source}-{dest}: {state}")
    return 0 if healthy else 1


def pairs_of(args, dcs: list[inventory.DC]) -> list[list[str]]:
    first = inventory.find(dcs, args.a).name
    if args.all:
        if args.b:
            raise LabError("give either a second DC or --all, not both")
        return [[first, dc.name] for dc in dcs if dc.name != first]
    if not args.b:
        raise LabError("give the other DC of the link, or --all for every link of " + first)
    return [[first, inventory.find(dcs, args.b).name]]


def change(action: str):
    def handler(args) -> int:
        top = project_dir()
        dcs = inventory.read(inventory_file(top))
        wanted = {"action": action, "pairs": pairs_of(args, dcs)}
        if action == "latency":
            wanted["rtt_ms"] = parse_rtt(args.rtt)
        code = run_playbook(top, "wan.yml", {"lab_wan_change": wanted})
        if code == 0:
            print(f"{action}: " + ", ".join("-".join(pair) for pair in wanted["pairs"]))
        return code

    return handler


def parse_rtt(text: str) -> float:
    match = RTT.match(text.strip())
    if not match:
        raise LabError(f"bad round-trip time {text!r}: write it like 150ms or 0.2s")
    value = float(match.group(1))
    return value * 1000 if match.group(2) == "s" else value


def guarded(handler):
    def run(args) -> int:
        if shutil.which("docker") is None:
            print("oid lab: docker is not installed (make setup installs it)", file=sys.stderr)
            return 2
        try:
            return handler(args)
        except LabError as error:
            print(f"oid lab: {error}", file=sys.stderr)
            return 2

    return run


def register(subparsers) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="the built-in lab: a real multi-DC OpenStack edge on this machine",
        description="Real OpenStack DCs (Keystone, Glance, Placement, Nova with a fake hypervisor, Neutron; "
        "MariaDB, RabbitMQ) in local containers, joined by a WAN with latency that can be cut. "
        "Each command runs the lab's Ansible playbooks (playbooks/lab/) on inventories/lab.",
    )
    commands = lab.add_subparsers(dest="lab_command", metavar="COMMAND", required=True)
    start = commands.add_parser("up", help="build the images if needed, start (or converge) the DCs and the WAN")
    start.add_argument("--dcs", default=",".join(inventory.DEFAULT_DCS), help="DC names (default: %(default)s)")
    start.set_defaults(handler=guarded(up))
    commands.add_parser("down", help="remove every container, network and file of the lab").set_defaults(
        handler=guarded(down)
    )
    commands.add_parser(
        "status", help="containers of each DC and the WAN links (exit 1: something down, 3: no lab)"
    ).set_defaults(handler=guarded(status))
    for action, text in (("cut", "partition a WAN link (packets dropped)"), ("heal", "restore a cut WAN link")):
        command = commands.add_parser(action, help=text)
        command.add_argument("a", metavar="DC")
        command.add_argument("b", metavar="OTHER", nargs="?")
        command.add_argument("--all", action="store_true", help="every link of DC")
        command.set_defaults(handler=guarded(change(action)))
    latency = commands.add_parser("latency", help="set the round-trip time of a WAN link (e.g. 150ms)")
    latency.add_argument("a", metavar="DC")
    latency.add_argument("b", metavar="OTHER", nargs="?")
    latency.add_argument("rtt", metavar="RTT")
    latency.add_argument("--all", action="store_true", help="every link of DC")
    latency.set_defaults(handler=guarded(change("latency")))
