"""The oid.cloud modules on the lab, with the overlay deployed by site.yml.

Every module is run from a playbook entering through Berlin's interposer
(cloud `oid-berlin`): it creates, re-runs unchanged, runs in check mode and
with diff, deletes, under '&' and '|' scopes; what it returns is checked
against what each DC's own API says afterwards.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.support.federation import playbook
from tests.support.lab import connect, docker

pytestmark = pytest.mark.lab

BOTH = "{nova: Berlin&Denver}"


def clouds(federation):
    return {name: connect(dc) for name, dc in federation["dcs"].items()}


def test_flavor_converges_at_every_location(federation, tmp_path):
    dcs = clouds(federation)
    name = f"oid-flavor-{os.getpid()}"
    flavor = {"name": name, "ram": 256, "vcpus": 1, "disk": 1, "scope": BOTH, "extra_specs": {"oid:test": "1"}}
    dcs["Denver"].compute.create_flavor(name=name, ram=256, vcpus=1, disk=1)  # already there, one place
    try:
        out = playbook(tmp_path, [{"oid.cloud.flavor": flavor, "check_mode": True, "register": "check"}], "check")
        assert out["check"]["changed"] and out["check"]["locations"]["Berlin"]["present"] is False
        assert dcs["Berlin"].compute.find_flavor(name) is None  # check mode changed nothing

        out = playbook(tmp_path, [{"oid.cloud.flavor": flavor, "diff": True, "register": "made"}], "made")
        made = out["made"]["locations"]
        assert made["Berlin"]["changed"] and made["Denver"]["changed"]  # Denver's lacked the extra spec
        assert set(out["made"]["diff"]["before"]) == {"Denver"}
        for cloud in (dcs["Berlin"], dcs["Denver"]):
            real = cloud.compute.find_flavor(name, get_extra_specs=True)
            assert (real.ram, real.vcpus, real.disk, real.extra_specs) == (256, 1, 1, {"oid:test": "1"})
        assert dcs["Paris"].compute.find_flavor(name) is None

        tasks = [
            {"oid.cloud.flavor": flavor, "register": "again"},
            # Present in Denver: '|' is satisfied, nothing is made in Paris.
            {"oid.cloud.flavor": {**flavor, "scope": "{nova: Paris|Denver}"}, "register": "either"},
        ]
        out = playbook(tmp_path, tasks, "again")
        assert not out["again"]["changed"] and not out["either"]["changed"]
        assert dcs["Paris"].compute.find_flavor(name) is None

        berlin_id = dcs["Berlin"].compute.find_flavor(name).id
        out = playbook(tmp_path, [{"oid.cloud.flavor": {**flavor, "ram": 512}, "register": "resized"}], "resized")
        assert out["resized"]["changed"]
        resized = dcs["Berlin"].compute.find_flavor(name)
        assert resized.ram == 512 and resized.id == berlin_id  # made again, same id

        gone = {"name": name, "scope": BOTH, "state": "absent"}
        tasks = [{"oid.cloud.flavor": gone, "register": "gone"}, {"oid.cloud.flavor": gone, "register": "still"}]
        out = playbook(tmp_path, tasks, "gone")
        assert out["gone"]["changed"] and not out["still"]["changed"]
        assert dcs["Berlin"].compute.find_flavor(name) is None and dcs["Denver"].compute.find_flavor(name) is None
    finally:
        for cloud in dcs.values():
            if found := cloud.compute.find_flavor(name):
                cloud.compute.delete_flavor(found)


def test_network_and_subnet_at_every_location(federation, tmp_path):
    dcs = clouds(federation)
    name = f"oid-net-{os.getpid()}"
    scope = "{neutron: Berlin&Denver}"
    network = {"name": name, "scope": scope, "mtu": 1400}
    subnet = {"name": name, "network": name, "cidr": "192.168.77.0/24", "scope": scope}
    subnet["dns_nameservers"] = ["10.0.0.53"]
    try:
        tasks = [
            {"oid.cloud.network": network, "check_mode": True, "register": "net_check"},
            {"oid.cloud.subnet": subnet, "check_mode": True, "register": "sub_check"},
        ]
        out = playbook(tmp_path, tasks, "check")
        assert out["net_check"]["changed"] and out["sub_check"]["changed"]
        assert dcs["Berlin"].network.find_network(name) is None

        tasks = [
            {"oid.cloud.network": network, "diff": True, "register": "net"},
            {"oid.cloud.subnet": subnet, "register": "sub"},
            {"oid.cloud.network_info": {"name": name, "scope": scope}, "register": "listed"},
        ]
        out = playbook(tmp_path, tasks, "made")
        assert out["net"]["changed"] and out["sub"]["changed"]
        assert {n["location"] for n in out["listed"]["networks"]} == {"Berlin", "Denver"}
        for location in ("Berlin", "Denver"):
            real = dcs[location].network.find_network(name)
            assert real.mtu == 1400
            assert out["net"]["locations"][location]["resource"]["id"] == real.id  # ids differ per DC
            (real_subnet,) = dcs[location].network.subnets(network_id=real.id)
            assert real_subnet.cidr == "192.168.77.0/24" and real_subnet.dns_nameservers == ["10.0.0.53"]
        assert dcs["Paris"].network.find_network(name) is None

        tasks = [
            {"oid.cloud.network": network, "register": "net"},
            {"oid.cloud.subnet": subnet, "register": "sub"},
            {"oid.cloud.subnet": {**subnet, "dns_nameservers": ["10.0.0.54"]}, "diff": True, "register": "dns"},
            # Present in Berlin: '|' is satisfied there, Paris untouched.
            {"oid.cloud.network": {**network, "scope": "{neutron: Paris|Berlin}"}, "register": "either"},
            {"oid.cloud.network_info": {"name": name, "scope": "{neutron: Paris}"}, "register": "paris"},
        ]
        out = playbook(tmp_path, tasks, "again")
        assert not out["net"]["changed"] and not out["sub"]["changed"] and not out["either"]["changed"]
        assert out["dns"]["changed"] and out["paris"]["networks"] == []
        for location in ("Berlin", "Denver"):
            (real_subnet,) = dcs[location].network.subnets(network_id=dcs[location].network.find_network(name).id)
            assert real_subnet.dns_nameservers == ["10.0.0.54"]

        gone = {"name": name, "scope": scope, "state": "absent"}
        tasks = [
            {"oid.cloud.network": gone, "check_mode": True, "register": "check"},
            {"oid.cloud.subnet": {**gone, "network": name}, "register": "sub_gone"},
            {"oid.cloud.network": gone, "register": "gone"},
            {"oid.cloud.network": gone, "register": "still"},
        ]
        out = playbook(tmp_path, tasks, "gone")
        assert out["check"]["changed"] and out["sub_gone"]["changed"] and out["gone"]["changed"]
        assert not out["still"]["changed"]
        assert dcs["Berlin"].network.find_network(name) is None and dcs["Denver"].network.find_network(name) is None
    finally:
        for cloud in dcs.values():
            if found := cloud.network.find_network(name):
                cloud.network.delete_network(found)


def test_server_boots_in_berlin_with_an_image_from_denver_or_paris(federation, tmp_path):
    """{nova: Berlin, glance: Denver|Paris} with the image only in Paris:
    Denver does not have it, Paris does; Berlin's hypervisor fetches Paris's
    bytes through the interposers."""
    dcs = clouds(federation)
    name = f"oid-vm-{os.getpid()}"
    data = os.urandom(1024 * 1024 + 7)
    image = dcs["Paris"].image.create_image(
        name=name, data=data, disk_format="raw", container_format="bare", visibility="public", wait=True
    )
    scope = "{nova: Berlin, glance: Denver|Paris}"
    server = {"name": name, "image": name, "flavor": "m1.tiny", "network": name, "scope": scope,
              "metadata": {"owner": "oid"}}  # fmt: skip
    try:
        here = {"name": name, "scope": "{neutron: Berlin}"}
        tasks = [
            {"oid.cloud.network": here},
            {"oid.cloud.subnet": {**here, "network": name, "cidr": "192.168.78.0/24"}},
        ]
        playbook(tmp_path, tasks, "network")
        out = playbook(tmp_path, [{"oid.cloud.server": server, "check_mode": True, "register": "check"}], "check")
        assert out["check"]["changed"] and not dcs["Berlin"].compute.find_server(name)

        out = playbook(tmp_path, [{"oid.cloud.server": server, "diff": True, "register": "boot"}], "boot")
        booted = out["boot"]["locations"]["Berlin"]["resource"]
        assert out["boot"]["image"] == {"location": "Paris", "id": image.id}
        real = dcs["Berlin"].compute.get_server(booted["id"])
        assert real.status == "ACTIVE" and real.metadata == {"owner": "oid"}
        log = docker("logs", "oidlab_berlin_nova_compute").stderr
        fetched = [line for line in log.splitlines() if f"oid-lab fetched image {image.id}" in line]
        assert fetched and f"sha512 verified {hashlib.sha512(data).hexdigest()}" in fetched[-1]

        tasks = [
            {"oid.cloud.server": server, "register": "again"},
            # Already in Berlin: '|' is satisfied, nothing boots in Denver.
            {"oid.cloud.server": {**server, "scope": "{nova: Berlin|Denver, glance: Paris}"}, "register": "either"},
            {"oid.cloud.server": {**server, "metadata": {"owner": "ops"}}, "diff": True, "register": "meta"},
            {"oid.cloud.server_info": {"name": f"^{name}$", "scope": BOTH}, "register": "listed"},
        ]
        out = playbook(tmp_path, tasks, "again")
        assert not out["again"]["changed"] and not out["either"]["changed"] and out["meta"]["changed"]
        assert [(s["id"], s["location"]) for s in out["listed"]["servers"]] == [(real.id, "Berlin")]
        assert dcs["Berlin"].compute.get_server(real.id).metadata == {"owner": "ops"}
        assert not dcs["Denver"].compute.find_server(name)

        gone = {"name": name, "scope": BOTH, "state": "absent"}
        tasks = [
            {"oid.cloud.server": gone, "check_mode": True, "register": "check"},
            {"oid.cloud.server": gone, "register": "gone"},
            {"oid.cloud.server": gone, "register": "still"},
        ]
        out = playbook(tmp_path, tasks, "gone")
        assert out["check"]["changed"] and out["gone"]["changed"] and not out["still"]["changed"]
        assert out["gone"]["locations"]["Denver"]["present"] is False
        assert not dcs["Berlin"].compute.find_server(name)
    finally:
        if found := dcs["Berlin"].compute.find_server(name):
            dcs["Berlin"].compute.delete_server(found)
            dcs["Berlin"].compute.wait_for_delete(found, wait=120)
        if found := dcs["Berlin"].network.find_network(name):
            dcs["Berlin"].network.delete_network(found)
        dcs["Paris"].image.delete_image(image)


def test_a_missing_image_is_reported_per_location(federation, tmp_path):
    server = {"name": "never", "image": "no-such-image", "flavor": "m1.tiny"}
    server["scope"] = "{nova: Berlin, glance: Denver|Paris}"
    out = playbook(tmp_path, [{"oid.cloud.server": server, "register": "boot", "ignore_errors": True}], "missing")
    assert out["boot"]["failed"]
    assert "image 'no-such-image' is at no location of Denver|Paris" in out["boot"]["msg"]
    assert "Denver: not there" in out["boot"]["msg"] and "Paris: not there" in out["boot"]["msg"]


def absent(task: dict) -> dict:
    """The same task with state: absent."""
    module = next(iter(task))
    return {module: {**task[module], "state": "absent"}, "register": task["register"] + "_gone"}


def test_image_identity_and_generic_modules_on_the_lab(federation, tmp_path):
    """The modules first proven on loopback, on the lab's real DCs: images in
    two Glances, a project and a user in two Keystones (the module's own
    credentials, logged in at each through Berlin's entry), and the generic
    resource module on Neutron."""
    dcs = clouds(federation)
    name = f"oid-lab-{os.getpid()}"
    image_file = tmp_path / "disk.raw"
    image_file.write_bytes(os.urandom(1 << 20))
    image = {"scope": "{glance: Berlin&Denver}", "name": name, "filename": str(image_file), "disk_format": "raw"}
    keystones = {"scope": "{keystone: Berlin&Denver}"}
    project = {**keystones, "name": name, "description": "made by oid"}
    user = {**keystones, "name": name, "password": "lab-user-secret", "default_project": name}
    group = {"scope": "{neutron: Berlin&Denver}", "service": "network", "type": "security_group",
             "attributes": {"name": name, "description": "oid"}}  # fmt: skip
    made = [
        {"oid.cloud.image": image, "check_mode": True, "register": "image_check"},
        {"oid.cloud.image": image, "diff": True, "register": "image"},
        {"oid.cloud.image": {**image, "scope": "{glance: Paris|Denver}"}, "register": "image_either"},
        {"oid.cloud.image_info": {"scope": "{glance: Berlin&Denver}", "name": name}, "register": "images"},
        {"oid.cloud.project": project, "register": "project"},
        {"oid.cloud.identity_user": user, "register": "user"},
        {"oid.cloud.identity_user_info": {**keystones, "name": name}, "register": "users"},
        {"oid.cloud.resource": group, "register": "group"},
    ]
    again = [{**task, "register": task["register"] + "_again"} for task in made[1:] if "info" not in next(iter(task))]
    try:
        out = playbook(tmp_path, made, "made")
        assert out["image_check"]["changed"] and out["image"]["changed"] and not out["image_either"]["changed"]
        assert sorted(i["location"] for i in out["images"]["images"]) == ["Berlin", "Denver"]
        assert sorted(u["location"] for u in out["users"]["users"]) == ["Berlin", "Denver"]
        assert out["project"]["changed"] and out["user"]["changed"] and out["group"]["changed"]
        assert "lab-user-secret" not in str(out)
        for location in ("Berlin", "Denver"):  # each DC's own APIs
            cloud = dcs[location]
            assert cloud.image.find_image(name).id == out["image"]["locations"][location]["resource"]["id"]
            found = cloud.identity.find_project(name)
            assert found.description == "made by oid"
            assert cloud.identity.find_user(name).default_project_id == found.id  # that Keystone's project
            assert cloud.network.find_security_group(name) is not None
        assert dcs["Paris"].image.find_image(name) is None
        assert dcs["Berlin"].identity.find_project(name).id != dcs["Denver"].identity.find_project(name).id

        out = playbook(tmp_path, again, "again")
        assert not any(result["changed"] for result in out.values()), out

        out = playbook(tmp_path, [absent(task) for task in reversed(again)], "gone")
        assert all(result["changed"] for result in out.values()), out
        for location in ("Berlin", "Denver"):
            cloud = dcs[location]
            assert cloud.image.find_image(name) is None and cloud.identity.find_project(name) is None
            assert cloud.identity.find_user(name) is None and cloud.network.find_security_group(name) is None
    finally:
        for cloud in dcs.values():
            for find, delete in ((cloud.image.find_image, cloud.image.delete_image),
                                 (cloud.identity.find_user, cloud.identity.delete_user),
                                 (cloud.identity.find_project, cloud.identity.delete_project),
                                 (cloud.network.find_security_group, cloud.network.delete_security_group)):  # fmt: skip
                if found := find(name):
                    delete(found)
