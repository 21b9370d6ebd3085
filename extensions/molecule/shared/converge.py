"""Shared by the scenarios' testinfra verifiers: re-run a converge playbook and
read, through the json callback, what each task and handler did on each host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def converge(
    playbook: Path | None = None,
    extra_vars: dict | None = None,
    extra_inventory: str | None = None,
    args: tuple[str, ...] = (),
) -> dict[str, dict[str, dict]]:
    """Run ``playbook`` (default: the scenario's converge.yml) on the scenario's
    inventory, with ansible-playbook's ``args`` (--tags, ...); {host: {task or
    handler name: its result there}}."""
    playbook = playbook or Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i", str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent),
        str(playbook),
    ]  # fmt: skip
    if extra_inventory:
        command += ["-i", extra_inventory]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    command += args
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    hosts: dict[str, dict[str, dict]] = {}
    for play in json.loads(result.stdout)["plays"]:
        for task in play["tasks"]:
            for name, outcome in task["hosts"].items():  # a role's tasks are named "<role> : <name>"
                hosts.setdefault(name, {})[task["task"]["name"].split(" : ", 1)[-1]] = outcome
    return hosts
