"""What site.yml left on two remote control hosts (molecule verify, testinfra over
SSH): the interposer from Berlin's registry and carried to Denver, the filters
from the wheel built on the controller, no checkout on either, oid_action=stop
stopping the interposers only. test_removal.py then removes oid (it runs after
this file: testinfra runs every test of a file for one host, then the next)."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path

import pytest
import testinfra

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from checkout import TOP, built_interposer_image, printed_by  # noqa: E402
from converge import converge  # noqa: E402

OID = "/etc/kolla/oid"
REGISTRY = "10.253.3.1:15001"  # group_vars/berlin.yml: docker_registry
ADDRESSES = {"berlin-ctl-01": "10.253.3.11", "denver-ctl-01": "10.253.3.12"}
LOCATIONS = {"berlin-ctl-01": "Berlin", "denver-ctl-01": "Denver"}


BUILT = built_interposer_image()
TAG = BUILT.split(":")[-1]


def name_of(host) -> str:
    return host.backend.get_hostname()


def test_the_interposer_runs_the_image_its_site_delivers(host):
    """Berlin pulled it from its registry (pushed there once by the controller);
    Denver, without a registry, got it carried: loaded, the copy gone."""
    image = host.check_output("podman inspect oid_interposer --format '{{.ImageName}}'")
    repositories = host.check_output("podman images --format '{{.Repository}}'").split()
    if LOCATIONS[name_of(host)] == "Berlin":
        assert image == f"{REGISTRY}/kolla/oid-interposer:{TAG}"
        context = ssl.create_default_context(cafile="/var/lib/oidrem/registry/ca.crt")
        url = f"https://{REGISTRY}/v2/kolla/oid-interposer/tags/list"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            assert json.load(answer)["tags"] == [TAG]
    else:
        assert image == f"localhost/{BUILT}"
        assert not [r for r in repositories if r.startswith(REGISTRY)]
        assert host.run("ls /var/tmp/oid-interposer-*.tar").rc != 0


def test_each_dc_answers_for_itself_and_the_other_over_mutual_tls(host):
    """Each interposer answers as its DC; from each host, the other DC's peer port
    answers this DC's certificate (the federation's CA), over the scenario's network."""
    me = name_of(host)
    (other,) = set(ADDRESSES) - {me}
    health = json.loads(host.check_output(f"curl -s --max-time 5 http://{ADDRESSES[me]}:8790/healthz"))
    assert health["location"] == LOCATIONS[me]
    tls = f"{OID}/tls"
    name = LOCATIONS[other].lower()
    peer = json.loads(
        host.check_output(
            f"curl -s --max-time 5 --cacert {tls}/ca.pem --cert {tls}/dc.crt --key {tls}/dc.key"
            f" --resolve {name}:8791:{ADDRESSES[other]} https://{name}:8791/healthz"
        )
    )
    assert peer["location"] == LOCATIONS[other]


def test_the_filters_are_the_wheel_built_on_the_controller(host):
    """The wheel's bytes, its package unpacked where the API containers mount it,
    and each service's paste file with oid's filters."""
    wheel = Path(printed_by([str(TOP / "scripts" / "build-filters")], PYTHON=sys.executable))
    on_host = host.check_output(f"sha256sum {OID}/python/oid.whl").split()[0]
    assert on_host == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert host.file(f"{OID}/python/oid/paste/filters.py").is_file
    for service in ("nova-api", "glance-api", "neutron-server"):
        assert "oid_scope" in host.file(f"{OID}/{service}-paste.ini").content_string


def test_no_checkout_on_the_host(host):
    """Nothing of the controller's checkout: no playbook, role or build script, and
    oid's Python code only where the overlay unpacked its wheel."""
    assert not host.file(str(TOP)).exists
    found = host.check_output(
        "find / -xdev \\( -name site.yml -o -name build-filters -o -name oid_interposer -o -name filters.py \\) -print"
    ).split()
    assert found == [f"{OID}/python/oid/paste/filters.py"]


@pytest.fixture(scope="session")
def stopped_then_deployed() -> dict:
    """site.yml -e oid_action=stop, what each host runs then, and site.yml again."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    hosts = {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=str(inventory)) for name in ADDRESSES}
    stop = converge(playbook=TOP / "site.yml", extra_vars={"oid_action": "stop"})
    running = {name: sorted(h.check_output("podman ps --format '{{.Names}}'").split()) for name, h in hosts.items()}
    deploy = converge(playbook=TOP / "site.yml")
    return {"stop": stop, "running": running, "deploy": deploy}


def test_stop_stops_the_interposer_only_and_deploy_starts_it(host, stopped_then_deployed):
    """oid_action=stop, as kolla-ansible stop: the interposer stops, Kolla's
    containers run on; site.yml (deploy) starts it again."""
    name = name_of(host)
    assert stopped_then_deployed["stop"][name]["Interposer | Stop | The container"]["changed"]
    assert stopped_then_deployed["running"][name] == ["glance_api", "neutron_server", "nova_api"]
    assert stopped_then_deployed["deploy"][name]["Interposer | Container (Podman)"]["changed"]
    health = json.loads(
        host.check_output(
            f"curl -s --max-time 5 --retry 30 --retry-connrefused --retry-delay 1 http://{ADDRESSES[name]}:8790/healthz"
        )
    )
    assert health["location"] == LOCATIONS[name]
