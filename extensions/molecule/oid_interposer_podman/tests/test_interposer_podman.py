"""What the role oid_interposer leaves on a control host whose Kolla runs Podman
(molecule verify, testinfra on this machine). The handler tests re-run the
converge playbook with one variable changed and watch the running container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge as run_converge  # noqa: E402

CONTAINER = "oidpod_oid_interposer"
HOST = "oidpod_host"
URL = "http://127.0.0.1:8790"
CONFIG = "/var/lib/oidpod/etc/kolla/oid-interposer"
OID = "/var/lib/oidpod/etc/kolla/oid"


def get(path: str, headers: dict | None = None, timeout: float = 60) -> str:
    """GET on the interposer, retried while it starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(URL + path, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def inspect() -> dict:
    done = subprocess.run(["podman", "inspect", CONTAINER], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def converge(**extra_vars) -> dict:
    """Re-run the converge with extra variables; {task or handler name: its result}."""
    extra_vars.setdefault("oid_interposer_build_command", f"echo {inspect()['ImageName']}")
    playbook = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]).parent / "oid_interposer" / "converge.yml"
    return run_converge(playbook, extra_vars)[HOST]


@pytest.fixture
def restore():
    yield
    converge()


def test_podman_runs_the_container_with_the_role_s_definition():
    info = inspect()
    assert info["State"]["Running"]
    assert info["ImageName"].startswith(("oid/interposer:", "localhost/oid/interposer:"))
    command = ["oid", "interposer", "serve", "--config", "/etc/oid-interposer/interposer.yml"]
    assert [info["Path"], *info["Args"]] == command
    host_config = info["HostConfig"]
    assert host_config["NetworkMode"] == "host"
    assert host_config["RestartPolicy"]["Name"] == "always"  # what podman-restart.service starts at boot
    limits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host_config["Ulimits"]}
    assert limits["RLIMIT_NOFILE"] == limits["RLIMIT_NPROC"] == (4096, 4096)  # oid_interposer_ulimits
    # Podman keeps the volume specs' trailing slashes.
    mounts = {m["Destination"].rstrip("/"): (m["Source"].rstrip("/"), m["RW"]) for m in info["Mounts"]}
    assert mounts["/etc/oid-interposer"] == (CONFIG, False)
    assert mounts["/etc/oid"] == (OID, False)


def test_the_healthcheck_is_podman_s_and_passes():
    """Podman schedules it with systemd timers (none on this machine): run it once as the timer would."""
    health = inspect()["Config"]["Healthcheck"]
    assert "http://127.0.0.1:8790/healthz" in " ".join(health["Test"])
    assert subprocess.run(["podman", "healthcheck", "run", CONTAINER], capture_output=True).returncode == 0


def test_it_routes_to_the_local_service_and_knows_its_location():
    assert json.loads(get("/healthz")) == {"status": "ok", "location": "Berlin", "down": []}
    assert get("/compute/whoami") == "compute of Berlin\n"
    settings = yaml.safe_load(Path(CONFIG, "interposer.yml").read_text())
    assert settings["location"] == "Berlin" and settings["listen"] == {"host": "0.0.0.0", "port": 8790}


def test_a_catalog_change_reloads_without_a_restart(restore):
    started = inspect()["State"]["StartedAt"]
    tasks = converge(oidmol_locations=["Berlin", "Denver", "Paris"])
    assert tasks["Interposer | Reload"]["changed"]
    assert "Interposer | Restart" not in tasks
    assert inspect()["State"]["StartedAt"] == started
    assert json.loads(get("/oid/v1/scope"))["locations"] == ["Berlin", "Denver", "Paris"]


def test_a_configuration_change_restarts(restore):
    started = inspect()["State"]["StartedAt"]
    tasks = converge(oid_interposer_max_hops=7)
    assert tasks["Interposer | Configuration"]["changed"]
    assert not tasks["Interposer | Container (Podman)"]["changed"]
    assert tasks["Interposer | Restart"]["changed"]
    after = inspect()["State"]
    assert after["Running"] and after["StartedAt"] != started
    assert json.loads(get("/healthz"))["location"] == "Berlin"
