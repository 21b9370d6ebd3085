"""Removing oid from a DC (remove.yml): the DC is the Kolla-style DC it was
before site.yml, and the other DCs are left alone. Runs last (after
test_site_grows.py): it takes the overlay off Tokyo, the fourth DC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from oid.lab import inventory
from tests.support.federation import recap, token
from tests.support.lab import TOP, connect, docker, started_at

pytestmark = pytest.mark.lab

LAB_ROOT = Path("/var/lib/oid-lab")


def remove(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/lab", "playbooks/lab/remove.yml", *args],
        cwd=TOP, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


def mounts(container: str) -> str:
    return docker("inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}", container).stdout


@pytest.fixture(scope="module")
def removed(federation):
    dcs = inventory.read(TOP / "inventories" / "lab" / "hosts.yml")
    tokyo = inventory.find(dcs, "Tokyo")  # test_site_grows.py added it
    berlin_interposer = "oidlab_berlin_oid_interposer"
    before = started_at(berlin_interposer)
    # localhost: the lab's image tags, which its DC containers need (playbooks/lab/images.yml).
    first = remove("--limit", "tokyo-control,localhost")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    again = remove("--limit", "tokyo-control,localhost")
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-3000:]
    return {"tokyo": tokyo, "again": again, "berlin_untouched": started_at(berlin_interposer) == before}


def test_the_interposer_and_the_overlays_files_are_gone(removed):
    tokyo = removed["tokyo"]
    assert docker("inspect", f"oidlab_{tokyo.key}_oid_interposer").returncode != 0
    kolla = LAB_ROOT / tokyo.key / "etc" / "kolla"
    assert not (kolla / "oid").exists(), "the overlay's directory (catalog, secrets, paste files) is left"
    assert not (kolla / "oid-interposer").exists()
    assert not list((kolla / "globals.d").glob("oid-*.yml"))
    # The lab's Kolla has no override of its own there: oid made the file, and it goes.
    assert not (kolla / "config" / "glance" / "glance-api.conf").exists()
    for service in ("nova_api", "glance_api", "neutron_server"):
        sources = mounts(f"oidlab_{tokyo.key}_{service}").split()
        assert f"{kolla}/{service}" in sources, "Kolla's own mount"
        left = [source for source in sources if Path(source).is_relative_to(kolla / "oid")]
        assert not left, f"{service} still mounts the overlay's {left}"


def test_keystone_lists_kollas_own_endpoints_again(removed):
    tokyo = removed["tokyo"]
    identity = connect(tokyo).identity
    urls = {endpoint.url for endpoint in identity.endpoints()}
    assert f"http://{tokyo.address}:8774/v2.1" in urls
    assert not [url for url in urls if ":8790" in url], urls
    users = {user.name for user in identity.users()}
    assert not [name for name in users if name.startswith("oid-")], users


def test_the_dcs_apis_work_without_the_overlay(removed):
    tokyo = removed["tokyo"]
    auth = token(tokyo)
    answer = requests.get(f"{tokyo.endpoint('compute')}/servers", headers={"X-Auth-Token": auth}, timeout=60)
    assert answer.status_code == 200, answer.text
    # No oid filter any more: a scope naming a DC outside the catalog is no longer refused (400).
    scoped = requests.get(
        f"{tokyo.endpoint('image')}/v2/images",
        headers={"X-Auth-Token": auth, "X-Scope": "{glance: Atlantis}"},
        timeout=60,
    )
    assert scoped.status_code == 200, scoped.text


def test_a_rerun_changes_nothing_and_other_dcs_are_left_alone(removed):
    assert recap(removed["again"].stdout)["tokyo-control"]["changed"] == 0, removed["again"].stdout[-4000:]
    assert removed["berlin_untouched"], "Berlin's interposer was restarted"
