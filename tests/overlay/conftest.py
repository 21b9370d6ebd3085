"""The federation: the lab after `ansible-playbook site.yml -i inventories/lab`.

It is made by the molecule scenario `lab` (extensions/molecule/lab), on the lab
this pytest session brought up: converge is site.yml, idempotence its re-run
(which must change nothing), verify its checks through each DC's interposer.
site.yml thus runs twice for the whole session, as a first run and a re-run."""

from __future__ import annotations

import pytest

from tests.support.federation import molecule


@pytest.fixture(scope="session")
def federation(lab):
    scenario = molecule("test", "-s", "lab")
    output = scenario.stdout + scenario.stderr
    assert scenario.returncode == 0, output[-8000:]
    return {"dcs": {dc.name: dc for dc in lab["dcs"]}, "molecule": output}
