"""The federation: the lab after `ansible-playbook playbooks/lab/site.yml -i inventories/lab`.

It is made by the molecule scenario `lab` (extensions/molecule/lab), on the lab
this pytest session brought up: converge is site.yml, idempotence its re-run
(which must change nothing), verify its checks through each DC's interposer.
site.yml thus runs twice for the whole session, as a first run and a re-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.federation import molecule

HERE = Path(__file__).resolve().parent

# The acceptance table first: it is mostly waiting (the WAN's RTTs, boots, breakers'
# back-off), so it runs while make test's molecule scenarios keep the CPU busy, and it
# leaves the lab as it found it (test_verify.py). The modules that change the lab run
# last, in this order: a fourth DC, then the overlay taken off it (everything else
# needs the three federated DCs as site.yml left them).
FIRST = ("test_verify.py",)
LAST = ("test_site_grows.py", "test_site_removal.py")


def order(item) -> tuple[int, int]:
    """Where the item runs: the session's other suites (the lab's own, from nothing,
    first) keep their place before tests/overlay; in it, FIRST, the rest, LAST."""
    if item.path.parent != HERE:
        return (0, 0)
    name = item.path.name
    if name in FIRST:
        return (1, FIRST.index(name) - len(FIRST))
    return (1, LAST.index(name) + 1 if name in LAST else 0)


def pytest_collection_modifyitems(items):
    items.sort(key=order)


@pytest.fixture(scope="session")
def federation(lab):
    scenario = molecule("test", "-s", "lab")
    output = scenario.stdout + scenario.stderr
    assert scenario.returncode == 0, output[-8000:]
    return {"dcs": {dc.name: dc for dc in lab["dcs"]}, "molecule": output}
