"""The federation: the lab after `ansible-playbook site.yml -i inventories/lab`, run twice."""

from __future__ import annotations

import pytest

from tests.support.federation import site


@pytest.fixture(scope="session")
def federation(lab):
    first = site()
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    again = site()
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    return {"dcs": {dc.name: dc for dc in lab["dcs"]}, "first": first, "again": again}
