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
from checkout import built_interposer_image  # noqa: E402
from converge import converge as run_converge  # noqa: E402

CONTAINER = "oidpod_oid_interposer"
HOST = "oidpod_host"
URL = "http://127.0.0.1:8790"
CONFIG = "/var/lib/oidpod/etc/kolla/oid-interposer"
OID = "/var/lib/oidpod/etc/kolla/oid"
REGISTRY = "127.0.0.1:15000"  # host_vars: oidpod_registry_port (prepare.yml starts it)
ARCHIVES = Path("/var/lib/oidpod/images")  # host_vars: oid_interposer_image_archive_directory


BUILT = built_interposer_image()


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
    extra_vars.setdefault("oid_interposer_build_command", f"echo {BUILT}")
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


def podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)


def ran(task: dict | None) -> bool:
    return task is not None and not task.get("skipped")


@pytest.fixture
def registry_image():
    """The image's name in the scenario's registry; its tags in Podman and Docker removed after."""
    name = f"{REGISTRY}/oid/oid-interposer:{BUILT.split(':')[-1]}"
    yield name
    converge()  # back to the carried image (the container uses it again)
    podman("rmi", name)
    subprocess.run(["docker", "rmi", name], capture_output=True, timeout=60)


def test_with_a_registry_the_image_is_pushed_once_and_pulled_by_the_host(registry_image):
    """docker_registry set (Kolla's variable): the controller pushes the image once,
    named <docker_registry>/<docker_namespace>/oid-interposer:<tag>, and a host
    whose engine has none of it pulls it (its container task, pull: missing) and runs
    it; a re-run pushes and pulls nothing."""
    with_registry = {"docker_registry": REGISTRY, "docker_registry_insecure": True, "docker_namespace": "oid"}
    assert podman("rm", "--force", CONTAINER).returncode == 0
    assert podman("rmi", BUILT).returncode == 0
    assert podman("image", "exists", registry_image).returncode == 1
    tasks = converge(**with_registry)
    assert tasks["Interposer | Image pushed to each registry, once"]["changed"]
    assert tasks["Interposer | Container (Podman)"]["changed"]
    assert not ran(tasks.get("Interposer | Image loaded (Podman)"))
    assert podman("image", "exists", registry_image).returncode == 0
    assert inspect()["ImageName"] == registry_image
    assert json.loads(get("/healthz"))["location"] == "Berlin"
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/oid/oid-interposer/tags/list", timeout=10) as answer:
        assert BUILT.split(":")[-1] in json.load(answer)["tags"]
    again = converge(**with_registry)
    assert not again["Interposer | Image pushed to each registry, once"]["changed"]
    assert not again["Interposer | Container (Podman)"]["changed"]


def test_removal_leaves_podman_as_it_was_and_a_converge_carries_the_image_back():
    """The role's removal takes the container, its configuration and every image it
    brought (carried or pulled, any tag) off the host. Then, with no docker_registry,
    a converge finds Podman's store without the image and carries it there again:
    saved on the controller (kept for the next host), copied, loaded, the copy
    dropped; a re-run carries nothing. (The scenario oid_remote carries it to a
    remote host over SSH.)"""
    removal = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "remove.yml"
    try:
        tasks = run_converge(removal, {})[HOST]
        assert tasks["Interposer | Remove | Those images"]["changed"]
        assert podman("container", "exists", CONTAINER).returncode == 1
        assert not Path(CONFIG).exists()
        left = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=oid/interposer")
        assert left.returncode == 0 and left.stdout.strip() == "", left.stdout
        again = run_converge(removal, {})[HOST]
        assert not ran(again.get("Interposer | Remove | Those images"))
    finally:
        carried = converge()
    assert carried["Interposer | Image loaded (Podman)"]["changed"]
    archive = ARCHIVES / f"oid-interposer-{BUILT.split(':')[-1]}.tar"
    assert archive.is_file(), "the controller keeps the saved image for the next host"
    assert not Path("/var/lib/oidpod", archive.name).exists(), "the host's copy is removed once loaded"
    assert inspect()["State"]["Running"] and podman("image", "exists", BUILT).returncode == 0
    again = converge()
    assert not ran(again.get("Interposer | Image archive copied to this host"))
    assert not again["Interposer | Container (Podman)"]["changed"]
