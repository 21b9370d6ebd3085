"""The lab for tests: real OpenStack DCs in containers, brought up once per run.

`oid lab up` is run as an operator runs it. By default the run starts from
nothing (`oid lab down` first) and removes the lab at the end; OID_LAB_REUSE=1
converges a running lab instead and leaves it up (for working on the tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openstack.config
import pytest

from oid.lab import inventory

TOP = Path(__file__).resolve().parents[2]
CLOUDS = Path("/var/lib/oid-lab/clouds.yaml")
REUSE = os.environ.get("OID_LAB_REUSE") == "1"


def oid_lab(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oid.cli", "lab", *args], cwd=TOP, capture_output=True, text=True, timeout=timeout
    )


def docker(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def started_at(container: str) -> str:
    """When the container last started: unchanged means it was not restarted."""
    return docker("inspect", "--format", "{{.State.StartedAt}}", container).stdout.strip()


@pytest.fixture(scope="session")
def lab():
    """The lab's DCs (inventory.DC), up and converged; `up`'s output for the tests that read it."""
    if not REUSE:
        oid_lab("down")
    result = oid_lab("up", "--dcs", ",".join(inventory.DEFAULT_DCS))
    if result.returncode:
        pytest.fail(f"oid lab up failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    dcs = inventory.read(TOP / "inventories" / "lab" / "hosts.yml")
    yield {"dcs": dcs, "up": result}
    if not REUSE:
        oid_lab("down")


def connect(dc: inventory.DC, **overrides):
    """openstacksdk as the DC's admin, from the clouds.yaml the lab writes."""
    config = openstack.config.OpenStackConfig(config_files=[str(CLOUDS)])
    return openstack.connection.Connection(config=config.get_one(dc.key, **overrides))
