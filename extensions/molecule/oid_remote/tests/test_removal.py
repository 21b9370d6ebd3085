"""remove.yml on both remote hosts (molecule verify, after test_remote.py): each
host then holds what it held before site.yml (prepare.yml's record, made by
files/snapshot.sh): the same files by checksum, images and containers; the
operator's Kolla files are as they were."""

from __future__ import annotations

import difflib
import os
import shlex
import sys
from pathlib import Path

import pytest

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge  # noqa: E402

TOP = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


@pytest.fixture(scope="session")
def removed() -> dict:
    """remove.yml on the scenario's inventory, once for both hosts."""
    return converge(playbook=TOP / "remove.yml")


def steady(lines: list[str]) -> list[str]:
    """A container's line without its uptime ("Up 5 minutes ago"): name, image, that it runs."""
    return [" ".join(line.split()[:3]) if line.endswith(" ago") else line for line in lines]


def test_remove_leaves_each_host_as_it_was(host, removed):
    name = host.backend.get_hostname()
    before = Path(f"/var/lib/oidrem/before-{name}.txt").read_text().splitlines()
    script = (SCENARIO / "files" / "snapshot.sh").read_text()
    after = host.check_output(f"sh -c {shlex.quote(script)}").splitlines()
    assert len(after) > 1000  # the snapshot ran
    diff = list(difflib.unified_diff(steady(before), steady(after), "before site.yml", "after remove.yml", lineterm=""))
    assert not diff, "\n".join(diff[:80])
