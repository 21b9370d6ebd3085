"""the acceptance table on the lab: `oid verify` runs every cell as a playbook of
oid.cloud modules and as plain HTTP with X-Scope, cutting and healing the
WAN for the partial-connectivity row. Each scenario carries its own checks
(the playbooks' asserts, oid.verify's checks); here every one must pass."""

from __future__ import annotations

import subprocess
import time

import pytest

from oid import verify
from tests.support.lab import TOP

pytestmark = pytest.mark.lab

INTERPOSER = f"http://10.252.1.10:{verify.INTERPOSER_PORT}"  # Berlin's, the table's entry


def test_every_cell_of_the_acceptance_table_passes(federation):
    result = subprocess.run(
        [str(TOP / ".venv" / "bin" / "oid"), "verify"], cwd=TOP, capture_output=True, text=True, timeout=3600
    )
    # Kept for `make test` to print after the suite: the table with its times.
    (TOP / "build").mkdir(exist_ok=True)
    (TOP / "build" / "verify-table.txt").write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-3000:]
    runs = 2 * len(verify.CELLS) + sum(1 for cell in verify.CELLS if cell.after_heal)
    assert f"{runs}/{runs} passed" in result.stdout
    # Nothing left cut: the lab's WAN is whole again for the suites after this one.
    status = oid("lab", "status")
    assert "CUT" not in status.stdout, status.stdout
    # And every interposer reaches every other DC again (no breaker left open by a
    # cut): the suites after this one must not see the table's faults.
    deadline = time.monotonic() + verify.WAIT_HEALED_SECONDS
    while (federated := oid("status", "--entry", INTERPOSER)).returncode and time.monotonic() < deadline:
        time.sleep(2)
    assert federated.returncode == 0, federated.stdout + federated.stderr


def oid(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "oid"), *args], cwd=TOP, capture_output=True, text=True, timeout=120
    )
