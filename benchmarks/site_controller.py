#!/usr/bin/env python3
"""What one task slot of site.yml costs the controller, over an inventory of N DCs.

site.yml runs every task of its plays for every host (a task skipped by its
`when` too: Ansible forks a worker for each task and host to find that out).
Over 1000 DCs its controller-side time is therefore about
    slots per host x N x the controller's cost of a slot,
and the slots per host are counted on the lab (tests/overlay/test_site.py).
This bench measures the last factor, for N = 10, 100, 1000 (or --sizes), with
the inventory of benchmarks/site_scale.py and the overlay's group_vars, for
three kinds of slot, each a play of --tasks such tasks over all N hosts:

- skipped:  a task whose `when` is false (what an action's tasks were for
            the others, before the roles included only their action's file);
- action:   a task run on the controller only (set_fact);
- module:   a task that runs a module on the host (stat), whose run on the
            host (here a local process) is not counted: every module runs
            under an interpreter wrapper that records its own CPU time.

Printed: per slot, the controller's CPU (ansible-playbook's processes, the
modules' own taken out) and the wall time (for a module slot, the module's
run on the host is in it), as a ratio against the smallest N in the same
run; and what site.yml's slots per host (--profile, counted on the lab) then
cost the controller at each N, in CPU and spread over this machine's cores.

Nothing leaves this machine; hosts are `ansible_connection: local`.
Usage: benchmarks/site_controller.py [--sizes 10,100,1000] [--tasks 3]
           [--profile NAME=skipped=S,action=A,module=M ...] [--ansible-env ANSIBLE_X=V ...]
       benchmarks/site_controller.py --count RUN_JSON HOST   (site.yml's slots of HOST, as a --profile)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP))
from benchmarks.site_scale import inventory  # noqa: E402

KINDS = {
    "skipped": {"ansible.builtin.debug": {"msg": "{{ oid_location }}"}, "when": "oid_action == 'never'"},
    "action": {"ansible.builtin.set_fact": {"oid_bench_fact": "{{ oid_location }}"}},
    "module": {"ansible.builtin.stat": {"path": "/"}},
}

# The hosts' interpreter: runs the real one and appends the CPU seconds of
# that module's process tree, which are the host's, not the controller's.
WRAPPER = """#!{python} -S
import resource, subprocess, sys
code = subprocess.call([{python!r}] + sys.argv[1:])
used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
with open({log!r}, "a") as log:
    log.write("%f\\n" % sum(u.ru_utime + u.ru_stime for u in used))
sys.exit(code)
"""


# ansible-playbook itself, recording the CPU of its main process alone (its
# workers are forked children, which leave by os._exit): the serial part of a
# run. Profiled (cProfile in this launcher, 300 hosts), it is the fork of each
# worker, each slot's variables (VariableManager.get_vars), and about a fifth
# of it polling for a free worker at Ansible's default 5 forks: oid's ansible.cfg,
# which this bench runs with, sets 50, and no fact injection (no play reads facts).
LAUNCHER = """import os, resource, runpy, sys
main = os.getpid()
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    if os.getpid() == main:
        used = resource.getrusage(resource.RUSAGE_SELF)
        with open({log!r}, "w") as log:
            log.write("%f\\n" % (used.ru_utime + used.ru_stime))
"""


def play(kind: str | None, tasks: int) -> list:
    body = [dict(KINDS[kind], name=f"{kind} {i}") for i in range(tasks)] if kind else []
    return [{"name": "Slots", "hosts": "oid_federation", "gather_facts": False, "tasks": body}]


# Settings of Ansible's own to run with, over oid's ansible.cfg (--ansible-env).
ANSIBLE_ENV: dict[str, str] = {}


def run(directory: Path, kind: str | None, tasks: int) -> tuple[float, float, float]:
    """(controller CPU seconds, its main process's alone, wall seconds) of one play over every host."""
    (directory / "play.yml").write_text(yaml.safe_dump(play(kind, tasks)))
    host_log = directory / "host-cpu.log"
    host_log.write_text("")
    # Pipelining, as oid's ansible.cfg sets for SSH: the module goes to the host's
    # interpreter on its standard input, with no temporary files around it.
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.null",
        ANSIBLE_PIPELINING="1",
        **ANSIBLE_ENV,
    )
    main_log = directory / "main-cpu.log"
    launcher = directory / "launcher.py"
    launcher.write_text(LAUNCHER.format(log=str(main_log)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(launcher), str(Path(sys.executable).with_name("ansible-playbook")),
         "-i", str(directory / "inventory.yml"), str(directory / "play.yml")],
        env=env, capture_output=True, text=True, timeout=3600, cwd=TOP,
    )  # fmt: skip
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"ansible-playbook failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    on_hosts = sum(float(line) for line in host_log.read_text().split())
    return total - on_hosts, float(main_log.read_text()), wall


def measure(n: int, workdir: Path, tasks: int) -> dict:
    directory = workdir / f"n{n}"
    directory.mkdir()
    data = inventory(n, directory, "http://127.0.0.1:9", "unused")
    wrapper = directory / "python"
    wrapper.write_text(WRAPPER.format(python=sys.executable, log=str(directory / "host-cpu.log")))
    wrapper.chmod(0o755)
    data["all"]["vars"]["ansible_python_interpreter"] = str(wrapper)
    (directory / "inventory.yml").write_text(yaml.safe_dump(data))
    (directory / "group_vars").symlink_to(TOP / "group_vars")
    empty = run(directory, None, 0)  # loading the inventory and the play
    per_slot = {}
    for kind in KINDS:
        measured = run(directory, kind, tasks)
        per_slot[kind] = tuple((value - base) / (tasks * n) for value, base in zip(measured, empty, strict=True))
    return {"start": empty, "slot": per_slot}


def report(results: dict, profiles: dict) -> None:
    base_n = min(results)
    base = results[base_n]
    cores = os.cpu_count() or 1
    print("The controller's cost of one task slot of site.yml (one task, one host), N DCs in the inventory")
    print(f"(CPU: ansible-playbook's processes, the modules' own runs taken out; ratios against N={base_n})\n")
    for n, result in results.items():
        cpu, main_cpu, wall = result["start"]
        print(
            f"N={n}:  inventory and play loaded: {cpu:5.1f} s CPU"
            f" ({main_cpu:5.1f} s in the main process), {wall:5.1f} s"
        )
        for kind, (cpu, main_cpu, wall) in result["slot"].items():
            base_cpu, base_main, base_wall = base["slot"][kind]
            print(
                f"   {kind:8s} {cpu * 1000:6.2f} ms CPU ({cpu / base_cpu:.2f}x)"
                f" of which {main_cpu * 1000:6.2f} ms in the main process ({main_cpu / base_main:.2f}x)"
                f"   {wall * 1000:6.2f} ms wall ({wall / base_wall:.2f}x)"
            )
        for name, slots in profiles.items():
            cpu, main_cpu = (
                sum(count * result["slot"][kind][index] for kind, count in slots.items()) * n + result["start"][index]
                for index in (0, 1)
            )
            described = ", ".join(f"{count} {kind}" for kind, count in slots.items())
            print(
                f"   {name} ({described} slots per host) over N hosts: {cpu:.0f} s of the controller's CPU,"
                f" {cpu / cores:.0f} s over this machine's {cores} cores; {main_cpu:.0f} s of it in the main process"
                f" (serial: more cores do not spread it)"
            )
        print()


# Tasks that run on the controller alone (no module on the host).
CONTROLLER_ACTIONS = {
    f"ansible.builtin.{name}"
    for name in ("set_fact", "debug", "assert", "group_by", "meta", "include_tasks", "include_role", "add_host")
}


# Actions that run two modules on the host when nothing changes (stat, then file).
TWO_MODULE_ACTIONS = {f"ansible.builtin.{name}" for name in ("copy", "template")}


def count_slots(run: dict, host: str) -> dict[str, int]:
    """A host's slots by kind in site.yml's plays (named "Oid | ...") of a run
    written by the ansible.posix.json callback (tests/overlay/test_site.py
    bounds them). A module slot is one module run:
    a loop counts each item it ran, copy and template count two (the stat and
    the file modules of a file that did not change). A `run_once` task has a
    result for the play's first host only: count another host for a typical one."""
    counts = dict.fromkeys(KINDS, 0)
    for play in run["plays"]:
        if play["play"]["name"].startswith("Oid |"):
            for task in play["tasks"]:
                result = task["hosts"].get(host)
                if result is None:
                    continue
                if result.get("skipped"):
                    counts["skipped"] += 1
                elif result.get("action") in CONTROLLER_ACTIONS:
                    counts["action"] += 1
                else:
                    items = result.get("results")
                    runs = 1 if items is None else sum(1 for item in items if not item.get("skipped"))
                    counts["module"] += runs * (2 if result.get("action") in TWO_MODULE_ACTIONS else 1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of DCs in the inventory (default 10,100,1000)")
    parser.add_argument("--tasks", type=int, default=3, help="tasks of each kind per play (default 3)")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME=skipped=S,action=A,module=M",
        help="a playbook's slots per host by kind (site.yml's, counted on the lab: docs/performance.md); repeatable",
    )
    parser.add_argument(
        "--ansible-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an Ansible setting over oid's ansible.cfg, e.g. ANSIBLE_FORKS=5 (Ansible's default); repeatable",
    )
    parser.add_argument(
        "--count",
        nargs=2,
        metavar=("RUN_JSON", "HOST"),
        help="only print HOST's slots by kind in a site.yml run (ansible.posix.json callback's output), as a --profile",
    )
    options = parser.parse_args()
    if options.count:
        run_json, host = options.count
        counts = count_slots(json.loads(Path(run_json).read_text()), host)
        print(f"{options.count[1]}=" + ",".join(f"{kind}={count}" for kind, count in counts.items()))
        return
    for setting in options.ansible_env:
        name, equals, value = setting.partition("=")
        if not name.startswith("ANSIBLE_") or not equals:
            sys.exit(f"--ansible-env {setting}: NAME=VALUE, an ANSIBLE_ setting")
        ANSIBLE_ENV[name] = value
    sizes = [int(size) for size in options.sizes.split(",")]
    profiles = {}
    for profile in options.profile:
        name, _, counts = profile.partition("=")
        profiles[name] = {kind: int(count) for kind, count in (item.split("=") for item in counts.split(","))}
        if set(profiles[name]) - set(KINDS):
            sys.exit(f"--profile {profile}: the kinds are {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="oid-site-controller-") as workdir:
        results = {n: measure(n, Path(workdir), options.tasks) for n in sizes}
    report(results, profiles)


if __name__ == "__main__":
    main()
