"""site.yml's actions (oid_action, as kolla_action): an action it does not know
stops it before it touches a host, with the ones it knows (docs/operations.md,
"Actions"). Run on the example edge inventory, whose hosts are not reachable:
the check must come first."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


def site(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/edge", "site.yml", *extra],
        cwd=TOP,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("destroy", "not one of deploy, reconfigure, upgrade, prechecks, stop: removing oid is remove.yml"),
        ("deploy-containers", "not one of deploy, reconfigure, upgrade, prechecks, stop"),
    ],
)
def test_an_unknown_action_stops_site_yml_before_any_host(action, reason):
    result = site("-e", f"oid_action={action}")
    assert result.returncode == 2
    assert f"oid_action {action} is {reason}" in result.stdout
    assert "UNREACHABLE" not in result.stdout  # no host was tried
    assert "PLAY RECAP" in result.stdout and "changed=0" in result.stdout
