"""The overlay on the lab: `ansible-playbook playbooks/lab/site.yml -i inventories/lab` turns
three independent DCs into a federation. Everything after the playbook goes
through Berlin's interposer with the plain HTTP API and the X-Scope header."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest
import requests
import yaml

from benchmarks.site_controller import count_slots
from tests.support.federation import call, interposer, site, token
from tests.support.lab import connect, docker, started_at

pytestmark = pytest.mark.lab


def test_site_yml_converges_and_reruns_unchanged(federation):
    """The molecule scenario's converge (site.yml) and idempotence (its re-run, which
    molecule fails on any change) both ran, and its verify passed."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", federation["molecule"])  # molecule's colours
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"^\S+\s+lab \S+ {step}: Executed: Successful", output, re.M), f"{step}\n{output[-3000:]}"
    for dc in federation["dcs"].values():
        assert requests.get(f"{interposer(dc)}/healthz", timeout=10).json()["location"] == dc.name
        catalog = connect(dc).identity.endpoints()
        urls = {endpoint.url for endpoint in catalog}
        assert f"{interposer(dc)}/compute/v2.1" in urls and f"{interposer(dc)}/image" in urls


# One DC and the controller: every task of site.yml runs for it (the catalog is
# built from the whole inventory whatever the limit), at a third of the cost of
# all three DCs; site.yml's first run and its re-run (molecule) cover every DC.
BERLIN_ONLY = ("--limit", "berlin-control,localhost")


def test_check_mode_on_the_federation_runs_and_predicts_no_change(federation):
    """`site.yml --check` on a converged federation: every task can run in check
    mode (the image tags without a build, the shipped paste files read) and none
    would change anything. And its task slots for the DC are few: at 1000 DCs the
    controller pays each one (a worker forked per task and host, a skipped task
    too; docs/performance.md)."""
    checked = site("--check", *BERLIN_ONLY, json_output=True)
    assert checked.returncode == 0, checked.stdout[-5000:] + checked.stderr[-3000:]
    stats = json.loads(checked.stdout)["stats"]
    assert "berlin-control" in stats, checked.stdout[-3000:]
    for host, counts in stats.items():
        assert counts["changed"] == 0, f"{host}: check mode predicts a change\n{checked.stdout[-4000:]}"
    # Berlin, the play's first host, also runs the run_once tasks. When each role
    # imported every action's tasks: 56 skipped slots; when each file had its copy
    # or file task and each DC's certificate its three modules: 68 module runs;
    # with the filters' wheel and Kolla's options written every run: 27; with an
    # include per role, the health check and the Keystone account's two modules
    # every run: 11 skipped, 10 action slots, 17 module runs (6, 6 and 17 now).
    taken = count_slots(json.loads(checked.stdout), "berlin-control")
    assert taken["skipped"] <= 8 and taken["action"] <= 8 and taken["module"] <= 18, taken
    oid = Path("/var/lib/oid-lab") / federation["dcs"]["Berlin"].key / "etc" / "kolla" / "oid"
    secret = oid / "dc-secret"
    assert secret.stat().st_mode & 0o777 == 0o640 and secret.stat().st_gid == 42400, "the secret is root:kolla 0640"
    for private in (oid / "interposer-password", oid / "tls" / "dc.key"):
        assert private.stat().st_mode & 0o777 == 0o600 and private.stat().st_uid == 0, f"{private}: root's alone"
    # The CA's revocation list, made with the CA on the controller, read by the interposer.
    crl = (oid / "tls" / "crl.pem").read_text()
    assert crl == (Path("/var/lib/oid-lab") / "pki" / "crl.pem").read_text() and "BEGIN X509 CRL" in crl
    interposer_config = yaml.safe_load((oid.parent / "oid-interposer" / "interposer.yml").read_text())
    assert interposer_config["tls"]["crl_file"] == "/etc/oid/tls/crl.pem", interposer_config["tls"]


def test_tags_catalog_applies_a_changed_catalog(federation):
    """`site.yml --tags catalog` with a changed catalog: every interposer re-reads it
    (SIGHUP, not a restart), the API services' filters by themselves (no restart
    either). (The interposer's handlers once failed here: the role's own tasks,
    which they read, do not run under this tag.)"""
    interposer_name, glance_name = "oidlab_berlin_oid_interposer", "oidlab_berlin_glance_api"
    before = {name: started_at(name) for name in (interposer_name, glance_name)}
    since = str(int(time.time()) - 1)
    changed = site("--tags", "catalog", *BERLIN_ONLY, "-e", json.dumps({"oid_link_connect_timeouts": {"Paris": 4.5}}))
    try:
        assert changed.returncode == 0, changed.stdout[-5000:] + changed.stderr[-3000:]
        assert started_at(interposer_name) == before[interposer_name], "the interposer was restarted"
        assert started_at(glance_name) == before[glance_name], "glance-api was restarted"
        for name in (interposer_name, glance_name):
            inside = docker("exec", name, "cat", "/etc/oid/catalog.yml").stdout
            assert yaml.safe_load(inside)["locations"]["Paris"]["connect_timeout"] == 4.5, name
        logs = docker("logs", "--since", since, interposer_name)
        assert "catalog reloaded" in logs.stdout + logs.stderr
    finally:
        restored = site("--tags", "catalog", *BERLIN_ONLY)
        assert restored.returncode == 0, restored.stdout[-5000:] + restored.stderr[-3000:]


def interposer_metric(dc, name, **labels) -> float:
    text = requests.get(f"{interposer(dc)}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_active(dc, auth, server_id, scope):
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        server = call("GET", dc, f"/compute/v2.1/servers/{server_id}", auth, scope).json()["server"]
        if server["status"] in ("ACTIVE", "ERROR"):
            return server
        time.sleep(2)
    raise AssertionError(f"server {server_id} not ACTIVE in time")


def test_boot_in_berlin_with_an_image_only_denver_has(federation):
    berlin, denver = federation["dcs"]["Berlin"], federation["dcs"]["Denver"]
    data = os.urandom(2 * 1024 * 1024 + 5)
    denver_cloud = connect(denver)
    image = denver_cloud.image.create_image(
        name=f"only-in-denver-{os.getpid()}", data=data, disk_format="raw", container_format="bare",
        visibility="public", wait=True, timeout=120,
    )  # fmt: skip
    berlin_cloud = connect(berlin)
    assert berlin_cloud.image.find_image(image.id) is None  # Berlin's own Glance does not have it
    network = berlin_cloud.network.create_network(name=f"xdc-{os.getpid()}")
    berlin_cloud.network.create_subnet(network_id=network.id, ip_version=4, cidr="192.168.90.0/24")
    flavor = berlin_cloud.compute.find_flavor("m1.tiny", ignore_missing=False)
    auth = token(berlin)
    scope = "{nova: Berlin, glance: Denver}"
    image_requests_before = interposer_metric(denver, "oid_requests_total", service="image")
    wanted = {"name": "xdc", "imageRef": image.id, "flavorRef": flavor.id, "networks": [{"uuid": network.id}]}
    created = call("POST", berlin, "/compute/v2.1/servers", auth, scope, json={"server": wanted})
    assert created.status_code == 202, created.text
    server = wait_active(berlin, auth, created.json()["server"]["id"], scope)
    try:
        assert server["status"] == "ACTIVE", server.get("fault")
        # Berlin's fake hypervisor downloaded every byte of Denver's image, and checked its hash.
        log = docker("logs", "oidlab_berlin_nova_compute").stderr
        fetched = [line for line in log.splitlines() if f"oid-lab fetched image {image.id}" in line]
        assert fetched and f"{len(data)} bytes" in fetched[-1]
        assert f"sha512 verified {hashlib.sha512(data).hexdigest()}" in fetched[-1]
        # ... through Denver's interposer.
        assert interposer_metric(denver, "oid_requests_total", service="image") > image_requests_before
    finally:
        call("DELETE", berlin, f"/compute/v2.1/servers/{server['id']}", auth, scope)
        berlin_cloud.compute.wait_for_delete(berlin_cloud.compute.get_server(server["id"]), wait=120)
        berlin_cloud.network.delete_network(network)
        denver_cloud.image.delete_image(image)


def boot_through(entry, auth, scope, image_id, name):
    """Network, subnet and a server where the scope puts Nova, all through one interposer."""
    network = call("POST", entry, "/network/v2.0/networks", auth, scope, json={"network": {"name": name}})
    assert network.status_code == 201, network.text
    network_id = network.json()["network"]["id"]
    subnet = {"network_id": network_id, "ip_version": 4, "cidr": "192.168.92.0/24", "name": name}
    assert call("POST", entry, "/network/v2.0/subnets", auth, scope, json={"subnet": subnet}).status_code == 201
    flavors = call("GET", entry, "/compute/v2.1/flavors", auth, scope).json()["flavors"]
    flavor = next(flavor["id"] for flavor in flavors if flavor["name"] == "m1.tiny")
    wanted = {"name": name, "imageRef": image_id, "flavorRef": flavor, "networks": [{"uuid": network_id}]}
    created = call("POST", entry, "/compute/v2.1/servers", auth, scope, json={"server": wanted})
    assert created.status_code == 202, created.text
    server = wait_active(entry, auth, created.json()["server"]["id"], scope)
    assert server["status"] == "ACTIVE", server.get("fault")
    return server["id"], network_id


def delete_through(entry, auth, scope, server_id, network_id):
    call("DELETE", entry, f"/compute/v2.1/servers/{server_id}", auth, scope)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if call("GET", entry, f"/compute/v2.1/servers/{server_id}", auth, scope).status_code == 404:
            break
        time.sleep(2)
    call("DELETE", entry, f"/network/v2.0/networks/{network_id}", auth, scope)


def test_and_lists_the_servers_of_both(federation):
    """One Berlin user, servers in Berlin and in Denver (project ids differ per
    Keystone: a Denver user's servers are not this user's), one merged list."""
    berlin = federation["dcs"]["Berlin"]
    auth = token(berlin)
    berlin_cloud = connect(berlin)
    image = berlin_cloud.image.create_image(
        name="and-image", data=b"x" * 65536, disk_format="raw", container_format="bare", wait=True
    )
    made = {}
    try:
        for location in ("Berlin", "Denver"):
            made[location] = boot_through(berlin, auth, f"{{nova: {location}}}", image.id, f"and-{location}")
        answer = call("GET", berlin, "/compute/v2.1/servers", auth, "{nova: Berlin&Denver}")
        assert answer.status_code == 200, answer.text
        listed = {server["id"]: server["oid_location"] for server in answer.json()["servers"]}
        assert listed[made["Berlin"][0]] == "Berlin"
        assert listed[made["Denver"][0]] == "Denver"
        # Each DC's own Nova holds its own server, not the other's.
        denver = call("GET", berlin, "/compute/v2.1/servers", auth, "{nova: Denver}").json()["servers"]
        alone = {server["id"] for server in denver}
        assert made["Denver"][0] in alone and made["Berlin"][0] not in alone
    finally:
        for location, (server_id, network_id) in made.items():
            delete_through(berlin, auth, f"{{nova: {location}}}", server_id, network_id)
        berlin_cloud.image.delete_image(image)


def test_a_denver_token_is_used_in_berlin(federation):
    berlin, denver = federation["dcs"]["Berlin"], federation["dcs"]["Denver"]
    denver_token = token(denver)
    refused = call("GET", berlin, "/compute/v2.1/servers", denver_token)
    assert refused.status_code == 401, refused.text
    accepted = call("GET", berlin, "/compute/v2.1/servers", denver_token, "{keystone: Denver, nova: Berlin}")
    assert accepted.status_code == 200, accepted.text


def test_a_keystone_outside_the_catalog_is_refused(federation):
    berlin = federation["dcs"]["Berlin"]
    answer = call("GET", berlin, "/compute/v2.1/servers", token(berlin), "{keystone: Tokyo, nova: Berlin}")
    assert answer.status_code == 400
    message = json.dumps(answer.json())
    assert "Tokyo" in message and "Berlin" in message
