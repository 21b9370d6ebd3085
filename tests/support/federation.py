"""Helpers for the tests of the overlay on the lab: site.yml, tokens, scoped calls."""

from __future__ import annotations

import json
import os
import re
import subprocess

import requests

from tests.support.lab import TOP

ADMIN_PASSWORD = "oid-lab-admin"  # inventories/lab/group_vars/all.yml


def site(*args: str, json_output: bool = False) -> subprocess.CompletedProcess:
    """playbooks/lab/site.yml on the lab; its output as the ansible.posix.json callback's if asked."""
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_output else None
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/lab", "playbooks/lab/site.yml", *args],
        cwd=TOP, capture_output=True, text=True, timeout=1800, env=env,
    )  # fmt: skip


def molecule(*args: str) -> subprocess.CompletedProcess:
    """molecule from the checkout's top, with the venv's tools first on PATH (as make molecule)."""
    env = {**os.environ, "PATH": f"{TOP / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "molecule"), *args],
        cwd=TOP, capture_output=True, text=True, timeout=3600, env=env,
    )  # fmt: skip


def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match and "ok=" in match.group(2):
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def interposer(dc) -> str:
    return f"http://{dc.address}:8790"


def token(dc) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}},
            },
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }
    answer = requests.post(f"{dc.endpoint('identity')}/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"]


def call(method, dc, path, auth, scope=None, **kwargs):
    headers = {"X-Auth-Token": auth, **kwargs.pop("headers", {})}
    if scope:
        headers["X-Scope"] = scope
    return requests.request(method, f"{interposer(dc)}{path}", headers=headers, timeout=120, **kwargs)


def playbook(tmp_path, tasks: list[dict], name: str = "play", cloud: str = "oid-berlin") -> dict:
    """Run tasks with oid.cloud modules on localhost, entering the federation
    through ``cloud`` of the lab's clouds.yaml; returns what they registered."""
    import os

    import yaml

    from tests.support.lab import CLOUDS

    results = tmp_path / f"{name}.json"
    registered = ", ".join(f"'{task['register']}': {task['register']}" for task in tasks if "register" in task)
    save = {"ansible.builtin.copy": {"content": "{{ {" + registered + "} | to_json }}", "dest": str(results)}}
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/oid.cloud.oid": {"cloud": cloud}},
        "tasks": [*tasks, save],
    }
    book = tmp_path / f"{name}.yml"
    book.write_text(yaml.safe_dump([play]))
    python = TOP / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={python}", str(book)],
        cwd=TOP, capture_output=True, text=True, timeout=900,
        env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(CLOUDS)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return json.loads(results.read_text())
