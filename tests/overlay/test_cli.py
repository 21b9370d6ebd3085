"""The talk's commands, with the stock openstack CLI, on the federated lab (issue:
"`openstack --os-scope`"): python-openstackclient with oid-client (docs/cli.md),
each DC's admin entering the federation through Berlin's interposer. The lab's
own clouds.yaml entry `oid-berlin` (`auth_type: oid-password`) is all it takes.

    openstack server create my-vm --image Debian --os-scope '{nova: Berlin, glance: Denver}'
    openstack server list --os-scope '{nova: Berlin&Denver}'
    openstack user create Alice --password-prompt --os-scope '{keystone: Berlin&Denver}'

and `openstack image create --os-scope '{glance: Berlin&Denver}'`, oid-client's
`openstack oid server list` (each server's DC), a stock auth type refusing a
scope, and a non-Python client (gophercloud) reaching Denver's images through
Berlin's entry URL with the scope in its path. What each command did is
checked at each DC's own services, not through the interposer that ran it."""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest
import requests
import yaml

from tests.support import gophercloud
from tests.support.cli import openstack_cli
from tests.support.federation import playbook
from tests.support.lab import CLOUDS, connect, docker

pytestmark = pytest.mark.lab

PID = os.getpid()


@pytest.fixture(scope="module")
def clouds(federation):
    """The lab's clouds.yaml as `oid lab up` writes it: its `oid-<dc>` clouds use
    oid-client's auth type."""
    lab_clouds = yaml.safe_load(CLOUDS.read_text())["clouds"]
    assert lab_clouds["oid-berlin"]["auth_type"] == "oid-password", lab_clouds["oid-berlin"]
    return CLOUDS


def cli(clouds, scope, *args):
    """`openstack --os-cloud oid-berlin --os-scope SCOPE ARGS -f json`, its output parsed."""
    started = time.monotonic()
    done = openstack_cli(clouds, "--os-cloud", "oid-berlin", "--os-scope", scope, *args, timeout=300)
    print(f"openstack {' '.join(args[:2])} --os-scope {scope!r}: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, f"openstack {' '.join(args)} --os-scope {scope!r}: {done.stderr[-3000:]}"
    return json.loads(done.stdout) if "json" in args else done.stdout


def quiet(clouds, scope, *args):
    """A clean-up command: run it, whatever it answers (the test's own failure matters more)."""
    openstack_cli(clouds, "--os-cloud", "oid-berlin", "--os-scope", scope, *args, timeout=300)


def test_the_talks_boot_and_list_across_dcs(federation, clouds, tmp_path):
    """The talk's boot and list, then `oid server list` and openstack.cloud's own
    server_info with `auth: {scope: ...}` on the same servers."""
    dcs = federation["dcs"]
    berlin, denver = connect(dcs["Berlin"]), connect(dcs["Denver"])
    image_file = tmp_path / "debian.raw"
    data = os.urandom(1024 * 1024 + 7)
    image_file.write_bytes(data)
    image_name, vm_name, other_name = f"Debian-{PID}", f"my-vm-{PID}", f"denver-vm-{PID}"
    made = []  # (scope, command...) to delete, last first
    try:
        # The image in Denver only, by name.
        image = cli(clouds, "{glance: Denver}", "image", "create", image_name, "--file", str(image_file),
                    "--disk-format", "raw", "--container-format", "bare", "-f", "json")  # fmt: skip
        made.append(("{glance: Denver}", "image", "delete", image["id"]))
        assert denver.image.find_image(image["id"]) is not None
        assert berlin.image.find_image(image_name) is None
        for where, cidr in (("Berlin", "192.168.95.0/24"), ("Denver", "192.168.96.0/24")):
            net = f"cli-{where}-{PID}"
            cli(clouds, f"{{neutron: {where}}}", "network", "create", net, "-f", "json")
            made.append((f"{{neutron: {where}}}", "network", "delete", net))
            cli(clouds, f"{{neutron: {where}}}", "subnet", "create", net, "--network", net,
                "--subnet-range", cidr, "-f", "json")  # fmt: skip
        # The talk's boot: Nova in Berlin, the image (named, looked up in Denver's Glance) from Denver.
        vm = cli(clouds, "{nova: Berlin, glance: Denver}", "server", "create", vm_name, "--image", image_name,
                 "--flavor", "m1.tiny", "--network", f"cli-Berlin-{PID}", "--wait", "-f", "json")  # fmt: skip
        made.append(("{nova: Berlin}", "server", "delete", "--wait", vm["id"]))
        assert vm["status"] == "ACTIVE", vm
        assert berlin.compute.get_server(vm["id"]).status == "ACTIVE"
        fetched = [line for line in docker("logs", "oidlab_berlin_nova_compute").stderr.splitlines()
                   if f"oid-lab fetched image {image['id']}" in line]  # fmt: skip
        assert fetched and f"sha512 verified {hashlib.sha512(data).hexdigest()}" in fetched[-1]
        # A server in Denver from the same image (a scope names every service away
        # from the entry: Glance would be Berlin's), then the talk's list of both.
        other = cli(clouds, "{nova: Denver, glance: Denver}", "server", "create", other_name, "--image", image_name,
                    "--flavor", "m1.tiny", "--network", f"cli-Denver-{PID}", "--wait", "-f", "json")  # fmt: skip
        made.append(("{nova: Denver}", "server", "delete", "--wait", other["id"]))
        listed = cli(clouds, "{nova: Berlin&Denver}", "server", "list", "-f", "json")
        assert {vm["id"], other["id"]} <= {server["ID"] for server in listed}, listed
        # The stock list has no column for each server's DC; oid-client's own command has.
        located = cli(clouds, "{nova: Berlin&Denver}", "oid", "server", "list", "-f", "json")
        where = {server["ID"]: server["Location"] for server in located}
        assert where[vm["id"]] == "Berlin" and where[other["id"]] == "Denver", located
        alone = cli(clouds, "{nova: Denver}", "server", "list", "-f", "json")
        assert other["id"] in {s["ID"] for s in alone} and vm["id"] not in {s["ID"] for s in alone}
        # openstack.cloud's own server_info, unchanged, with the scope in its auth.
        info = {"cloud": "oid-berlin"}
        tasks = [
            {"openstack.cloud.server_info": {**info, "auth": {"scope": "{nova: Denver}"}}, "register": "denver"},
            {"openstack.cloud.server_info": {**info, "auth": {"scope": "{nova: Berlin&Denver}"}}, "register": "both"},
        ]
        out = playbook(tmp_path, tasks, name="stock-server-info")
        in_denver = {server["id"] for server in out["denver"]["servers"]}
        assert other["id"] in in_denver and vm["id"] not in in_denver, in_denver
        assert {vm["id"], other["id"]} <= {server["id"] for server in out["both"]["servers"]}
    finally:
        for scope, *command in reversed(made):
            quiet(clouds, scope, *command)


def test_one_image_created_in_two_dcs(federation, clouds, tmp_path):
    """`openstack image create --file` under '&': one record and the same bytes in
    each DC's Glance (the entry chooses the image's id for both, docs/interposer.md)."""
    data = os.urandom(512 * 1024 + 3)
    image_file = tmp_path / "both.raw"
    image_file.write_bytes(data)
    scope = "{glance: Berlin&Denver}"
    image = cli(clouds, scope, "image", "create", f"both-{PID}", "--file", str(image_file),
                "--disk-format", "raw", "--container-format", "bare", "-f", "json")  # fmt: skip
    try:
        for location in ("Berlin", "Denver"):
            stored = connect(federation["dcs"][location]).image.get_image(image["id"])
            assert stored.status == "active" and stored.size == len(data), (location, stored)
            assert stored.hash_value == hashlib.sha512(data).hexdigest(), location
        located = cli(clouds, scope, "oid", "image", "list", "-f", "json")
        assert sorted(row["Location"] for row in located if row["ID"] == image["id"]) == ["Berlin", "Denver"]
    finally:
        quiet(clouds, scope, "image", "delete", image["id"])
    for location in ("Berlin", "Denver"):
        assert connect(federation["dcs"][location]).image.find_image(image["id"]) is None, location


def test_a_non_python_client_reaches_denvers_images_through_berlin(federation, clouds, tmp_path):
    """gophercloud (Go; docs/cli.md) cannot send X-Scope: Berlin's entry URL with
    the scope in its path, as its auth URL, is all it is given."""
    berlin = yaml.safe_load(clouds.read_text())["clouds"]["oid-berlin"]["auth"]
    entry = berlin["auth_url"].removesuffix("/identity/v3")
    image_file = tmp_path / "gopher.raw"
    image_file.write_bytes(os.urandom(4096))
    image = cli(clouds, "{glance: Denver}", "image", "create", f"gopher-{PID}", "--file", str(image_file),
                "--disk-format", "raw", "--container-format", "bare", "-f", "json")  # fmt: skip
    try:
        binary = gophercloud.build(tmp_path)
        login = (berlin["username"], berlin["password"])
        scoped = gophercloud.list_images(binary, f"{entry}/scope/glance:Denver/identity/v3", *login)
        assert scoped["endpoint"] == f"{entry}/scope/glance:Denver/image/", scoped
        assert image["id"] in {listed["id"] for listed in scoped["images"]}
        assert connect(federation["dcs"]["Berlin"]).image.find_image(image["id"]) is None  # Denver's only
        plain = gophercloud.list_images(binary, berlin["auth_url"], *login)
        assert image["id"] not in {listed["id"] for listed in plain["images"]}
    finally:
        quiet(clouds, "{glance: Denver}", "image", "delete", image["id"])


def test_a_scope_with_a_stock_auth_type_fails_loudly(clouds, tmp_path):
    """With `auth_type: password` the scope would be dropped and the command run in
    Berlin: the CLI stops instead, naming the option."""
    stock = yaml.safe_load(clouds.read_text())
    stock["clouds"]["oid-berlin"]["auth_type"] = "password"
    path = tmp_path / "stock.yaml"
    path.write_text(yaml.safe_dump(stock))
    refused = openstack_cli(path, "--os-cloud", "oid-berlin", "--os-scope", "{nova: Denver}", "server", "list")
    assert refused.returncode != 0 and "scope" in refused.stderr, refused.stderr[-2000:]


def test_openstack_clouds_own_modules_with_a_scope_in_auth(federation, clouds, tmp_path):
    """openstack.cloud's image_info, unchanged, with `auth: {scope: ...}` on the lab's
    `oid-berlin` cloud: Denver's image through Berlin, and both DCs' under '&'."""
    name = f"stock-module-{PID}"
    made = {
        location: connect(federation["dcs"][location]).image.create_image(
            name=name, data=b"x" * 4096, disk_format="raw", container_format="bare", wait=True
        )
        for location in ("Denver", "Paris")
    }
    try:
        info = {"cloud": "oid-berlin", "filters": {"name": name}}
        tasks = [
            {"openstack.cloud.image_info": {**info, "auth": {"scope": "{glance: Denver}"}}, "register": "denver"},
            {"openstack.cloud.image_info": {**info, "auth": {"scope": "{glance: Denver&Paris}"}}, "register": "both"},
            {"openstack.cloud.image_info": info, "register": "berlin"},
        ]
        out = playbook(tmp_path, tasks, name="stock-modules")
        assert [image["id"] for image in out["denver"]["images"]] == [made["Denver"].id]
        assert sorted(image["id"] for image in out["both"]["images"]) == sorted(i.id for i in made.values())
        assert out["berlin"]["images"] == []  # the same module without a scope: Berlin's Glance
    finally:
        for location, image in made.items():
            connect(federation["dcs"][location]).image.delete_image(image)


def test_the_talks_user_create_in_two_keystones(federation, clouds):
    """The lab's admins share a password, so oid-password logs in at both Keystones
    with the one set of credentials and sends each its own token (X-Scope-Tokens)."""
    name = f"Alice-{PID}"
    scope = "{keystone: Berlin&Denver}"
    try:
        cli(clouds, scope, "user", "create", name, "--password", "alice-secret", "-f", "json")
        for location in ("Berlin", "Denver"):
            found = connect(federation["dcs"][location]).identity.find_user(name)
            assert found is not None, f"{name} is not in {location}'s Keystone"
        # Alice logs in at Denver's own Keystone with the password given once.
        denver = federation["dcs"]["Denver"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"name": "Default"}, "password": "alice-secret"}}}}}  # fmt: skip
        assert requests.post(f"{denver.endpoint('identity')}/auth/tokens", json=body, timeout=30).status_code == 201
    finally:
        quiet(clouds, scope, "user", "delete", name)
