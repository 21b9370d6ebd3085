"""The interposer's container image: built locally, healthy, reloads, drains."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.pki import Authority, tls_files

TOP = Path(__file__).resolve().parents[2]
NETWORK = "oid-test-interposer"
SUBNET = "10.251.0.0/24"
ADDRESS = "10.251.0.10"
CONTAINER = "oid-test-interposer"

pytestmark = pytest.mark.docker


def run(*args, check=True, timeout=600):
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def image():
    if not shutil.which("docker"):
        pytest.skip("no docker client")
    subprocess.run([str(TOP / "images" / "ensure-docker.sh")], check=True, timeout=300)
    return run(str(TOP / "images" / "interposer" / "build.sh")).stdout.strip().splitlines()[-1]


@pytest.fixture
def container(image, tmp_path):
    config_dir = tmp_path / "oid-interposer"
    config_dir.mkdir()
    catalog = {
        "locations": {
            "Berlin": {"interposer": f"http://{ADDRESS}:8790", "services": {"compute": "http://10.251.0.99:8774"}},
            "Denver": {
                "interposer": "http://10.251.0.11:8790",
                "peer": "https://10.251.0.11:8791",
                "services": ["nova"],
            },
        }
    }
    (config_dir / "catalog.yml").write_text(yaml.safe_dump(catalog))
    # Berlin's certificate: interposers know each other by theirs (mutual TLS).
    ca = Authority.create(config_dir / "tls")
    tls = ca.issue(config_dir / "tls", "Berlin")
    for path in (config_dir / "tls").iterdir():
        path.chmod(0o644)  # read by the container's user from a read-only mount
    config = {
        "location": "Berlin",
        "catalog": "catalog.yml",
        "federation_secret": "s" * 32,
        "peer_listen": {"port": 8791},
        "tls": {key: str(Path(path).relative_to(config_dir)) for key, path in tls_files(tls).items()},
    }
    (config_dir / "interposer.yml").write_text(yaml.safe_dump(config))
    run("docker", "rm", "-f", CONTAINER, check=False)
    run("docker", "network", "rm", NETWORK, check=False)
    run("docker", "network", "create", "--subnet", SUBNET, NETWORK)
    run(
        "docker", "run", "-d", "--name", CONTAINER, "--network", NETWORK, "--ip", ADDRESS,
        "-v", f"{config_dir}:/etc/oid-interposer:ro", image,
    )  # fmt: skip
    try:
        yield config_dir
    finally:
        run("docker", "rm", "-f", CONTAINER, check=False)
        run("docker", "network", "rm", NETWORK, check=False)


def get(path, headers=None, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(f"http://{ADDRESS}:8790{path}", headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def health_status():
    return run("docker", "inspect", "-f", "{{.State.Health.Status}}", CONTAINER).stdout.strip()


def test_container_serves_becomes_healthy_reloads_and_stops_cleanly(container):
    assert get("/healthz") == {"status": "ok", "location": "Berlin", "down": []}
    deadline = time.monotonic() + 60
    while health_status() != "healthy" and time.monotonic() < deadline:
        time.sleep(1)
    assert health_status() == "healthy"
    assert get("/oid/v1/scope", {"X-Scope": "{nova: *}"})["scope"]["compute"] == "Berlin&Denver"

    catalog = yaml.safe_load((container / "catalog.yml").read_text())
    catalog["locations"]["Paris"] = {
        "interposer": "http://10.251.0.12:8790",
        "peer": "https://10.251.0.12:8791",
        "services": ["nova"],
    }
    (container / "catalog.yml").write_text(yaml.safe_dump(catalog))
    run("docker", "kill", "--signal", "HUP", CONTAINER)
    deadline = time.monotonic() + 20
    while "Paris" not in get("/oid/v1/scope")["locations"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert get("/oid/v1/scope")["locations"] == ["Berlin", "Denver", "Paris"]

    logs = run("docker", "logs", CONTAINER).stderr
    assert '"message": "catalog reloaded: 3 locations"' in logs
    run("docker", "stop", "-t", "20", CONTAINER)
    assert run("docker", "inspect", "-f", "{{.State.ExitCode}}", CONTAINER).stdout.strip() == "0"
