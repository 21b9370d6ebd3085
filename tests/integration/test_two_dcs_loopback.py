"""Two DCs on loopback, end to end: real Keystones and Glances with oid's
filters, behind real interposers; openstacksdk talks to Berlin's interposer only.

This is the interposer and the paste filters working together without the
lab: a Berlin token used at Denver's Glance, `&` lists merged across two real
Glances, image bytes crossing from Denver through both interposers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path

import openstack
import pytest
import yaml

from oid.interposer.app import build_app
from oid.interposer.config import Routes, Settings
from oid.scope import Catalog
from tests.support import gophercloud
from tests.support import keystone as ks
from tests.support.glance import Glance
from tests.support.identity import SERVICE_PASSWORD, admin, own_secret, register_endpoint
from tests.support.keystone import TOP
from tests.support.pki import LoopbackPeers, serve
from tests.support.relay import account_name, own_account, own_accounts

pytestmark = pytest.mark.skipif(ks.available() is not None, reason=str(ks.available()))
NAMES = ("Berlin", "Denver")


@pytest.fixture(scope="module")
def dcs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("two-dcs")
    ports = {name: ks.free_port() for name in NAMES}
    keystones, glances = {}, {}
    try:
        for name in NAMES:
            keystones[name] = ks.Keystone(workdir, name, public_url=f"http://127.0.0.1:{ports[name]}/identity")
            keystones[name].start()
            register_endpoint(keystones[name], "image", "glance", f"http://127.0.0.1:{ports[name]}/image")
        own_accounts(keystones)
        catalog = {"locations": {}}
        for name in NAMES:
            catalog["locations"][name] = {
                "interposer": f"http://127.0.0.1:{ports[name]}",
                "services": {"identity": keystones[name].url, "image": None},
            }
        for name in NAMES:
            files = workdir / f"oid-{name.lower()}"
            files.mkdir()
            (files / "catalog.yml").write_text(yaml.safe_dump(catalog))
            (files / "secret").write_text(own_secret(name))
            # Its own account, at its own Keystone only: other Keystones' tokens
            # are validated through the interposers (tests/support/relay.py).
            glances[name] = Glance(
                workdir,
                name,
                keystones[name],
                (account_name(name), SERVICE_PASSWORD),
                files / "catalog.yml",
                files / "secret",
                f"http://127.0.0.1:{ports[name]}",
            ).start()
            catalog["locations"][name]["services"]["image"] = glances[name].url
        (workdir / "catalog.yml").write_text(yaml.safe_dump(catalog))
        yield workdir, ports, keystones, glances
    finally:
        for service in (*glances.values(), *keystones.values()):
            service.stop()


@pytest.fixture
async def interposers(dcs, tmp_path):
    """Each DC's interposer, with the secret its Glance's filters have and its
    account at its own Keystone; the interposers know each other by their
    certificates (mutual TLS)."""
    workdir, ports, keystones, _ = dcs
    peers = LoopbackPeers(tmp_path / "pki", NAMES)
    catalog = yaml.safe_load((workdir / "catalog.yml").read_text())
    for name in NAMES:
        catalog["locations"][name]["peer"] = peers.url(name)
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(catalog))
    runners = []
    for name in NAMES:
        settings = Settings(
            name,
            str(tmp_path / "catalog.yml"),
            host="127.0.0.1",
            port=ports[name],
            federation_secret=own_secret(name),
            peer_tls=peers.tls[name],
            keystone_account=own_account(name, keystones[name]),
        )
        app = build_app(settings, Routes(Catalog.from_file(settings.catalog_file), name))
        runners.append(await serve(app, settings))
    yield
    for runner in runners:
        await runner.cleanup()


def berlin_admin(dcs, scope=None):
    _, ports, keystones, _ = dcs
    conn = openstack.connect(
        auth_url=f"http://127.0.0.1:{ports['Berlin']}/identity/v3",
        username="admin",
        password=keystones["Berlin"].password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    if scope:
        conn.session.additional_headers["X-Scope"] = scope
    return conn


def put_image(dcs, location, name, data):
    _, ports, _, _ = dcs
    conn = berlin_admin(dcs, scope=f"{{glance: {location}}}")
    image = conn.image.post("/images", json={"name": name, "disk_format": "raw", "container_format": "bare"}).json()
    conn.image.put(f"/images/{image['id']}/file", data=data, headers={"Content-Type": "application/octet-stream"})
    return image


async def test_berlin_token_creates_in_denver_and_lists_both(dcs, interposers):
    _, _, _, glances = dcs
    data = b"denver-bytes" * 50_000
    denver_image = await asyncio.to_thread(put_image, dcs, "Denver", "debian-denver", data)
    await asyncio.to_thread(put_image, dcs, "Berlin", "debian-berlin", b"berlin")

    # Listed through Berlin's interposer under '&': one list, each with its location.
    conn = berlin_admin(dcs, scope="{glance: Berlin&Denver}")
    listed = await asyncio.to_thread(lambda: conn.image.get("/images").json()["images"])
    where = {image["name"]: image["oid_location"] for image in listed}
    assert where["debian-denver"] == "Denver" and where["debian-berlin"] == "Berlin"

    # The image really is in Denver's Glance only, owned by Berlin's admin project.
    berlin_project = await asyncio.to_thread(lambda: berlin_admin(dcs).current_project_id)
    assert denver_image["owner"] == berlin_project
    only_berlin = berlin_admin(dcs)
    names_in_berlin = await asyncio.to_thread(
        lambda: [i["name"] for i in only_berlin.image.get("/images").json()["images"]]
    )
    assert "debian-denver" not in names_in_berlin

    # '|': Berlin does not have it (404), Denver does: the bytes cross both interposers.
    fallback = berlin_admin(dcs, scope="{glance: Berlin|Denver}")
    response = await asyncio.to_thread(lambda: fallback.image.get(f"/images/{denver_image['id']}/file"))
    assert response.headers["X-Oid-Location"] == "Denver"
    assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert glances["Denver"].url  # served by Denver's real glance-api


async def test_a_non_python_client_reaches_denvers_images_through_berlin(dcs, interposers, tmp_path):
    """gophercloud (Go, docs/cli.md) cannot send X-Scope: the entry's URL with the
    scope in its path does it, as its auth URL (the token's catalog then leads
    every request there) or as an endpoint override (Terraform's
    endpoint_overrides)."""
    _, ports, keystones, _ = dcs
    denver_image = await asyncio.to_thread(put_image, dcs, "Denver", "gopher-denver", b"denver")
    berlin_image = await asyncio.to_thread(put_image, dcs, "Berlin", "gopher-berlin", b"berlin")
    binary = await asyncio.to_thread(gophercloud.build, tmp_path)
    entry = f"http://127.0.0.1:{ports['Berlin']}"
    login = ("admin", keystones["Berlin"].password)

    def images(auth_url, endpoint=None):
        listed = gophercloud.list_images(binary, auth_url, *login, image_endpoint=endpoint)
        return listed["endpoint"], {image["id"] for image in listed["images"]}

    endpoint, ids = await asyncio.to_thread(images, f"{entry}/scope/glance:Denver/identity/v3")
    assert endpoint == f"{entry}/scope/glance:Denver/image/"
    assert denver_image["id"] in ids and berlin_image["id"] not in ids
    endpoint, ids = await asyncio.to_thread(images, f"{entry}/identity/v3", f"{entry}/scope/glance:Denver/image")
    assert denver_image["id"] in ids and berlin_image["id"] not in ids
    # '&' in the talk's spelling, escaped as any client escapes a path.
    both = "%7Bglance%3A%20Berlin%26Denver%7D"
    _, ids = await asyncio.to_thread(images, f"{entry}/scope/{both}/identity/v3")
    assert {denver_image["id"], berlin_image["id"]} <= ids
    # No scope in the URL: the entry's own DC, as for any client.
    endpoint, ids = await asyncio.to_thread(images, f"{entry}/identity/v3")
    assert endpoint == f"{entry}/image/" and berlin_image["id"] in ids and denver_image["id"] not in ids


def write_clouds(dcs, path):
    _, ports, keystones, _ = dcs
    clouds = {
        "clouds": {
            "berlin": {
                "auth": {
                    "auth_url": f"http://127.0.0.1:{ports['Berlin']}/identity/v3",
                    "username": "admin",
                    "password": keystones["Berlin"].password,
                    "project_name": "admin",
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "region_name": "Berlin",
            }
        }
    }
    # Denver's admin, entering through Berlin's interposer (the scope sends the login to Denver).
    denver = {**clouds["clouds"]["berlin"]["auth"], "password": keystones["Denver"].password}
    clouds["clouds"]["denver"] = {"auth": denver}
    path.write_text(yaml.safe_dump(clouds))


async def playbook(tmp_path, clouds, tasks, name):
    """Run tasks with oid.cloud modules against Berlin's interposer; returns the registered results."""
    results = tmp_path / f"{name}.json"
    book = tmp_path / f"{name}.yml"
    registered = ", ".join(f"'{task['register']}': {task['register']}" for task in tasks)
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "module_defaults": {"group/oid.cloud.oid": {"cloud": "berlin"}},
                    "tasks": [
                        *tasks,
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ {" + registered + "} | to_json }}",
                                "dest": str(results),
                            }
                        },
                    ],
                }
            ]
        )
    )
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(book),
        cwd=str(TOP), env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    assert process.returncode == 0, output.decode()[-4000:]
    return json.loads(results.read_text())


def names_at(dcs, location):
    """Image names in one DC's own Glance, read through that DC's own interposer."""
    _, ports, keystones, _ = dcs
    conn = openstack.connect(
        auth_url=f"http://127.0.0.1:{ports[location]}/identity/v3",
        username="admin",
        password=keystones["Berlin"].password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    conn.session.additional_headers["X-Scope"] = f"{{keystone: Berlin, glance: {location}}}"
    return [image["name"] for image in conn.image.get("/images").json()["images"]]


async def test_image_module_converges_at_every_location(dcs, interposers, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    write_clouds(dcs, clouds)
    image_file = tmp_path / "disk.raw"
    image_file.write_bytes(b"\0" * (2 << 20))
    both = {"scope": "{glance: Berlin&Denver}", "name": "oid-module-image"}
    present = {**both, "filename": str(image_file), "disk_format": "raw", "container_format": "bare"}
    created = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.image": present, "register": "first"},
            {"oid.cloud.image": present, "register": "again"},
        ],
        "create",
    )
    first, again = created["first"], created["again"]
    assert first["changed"] is True
    assert {loc: entry["changed"] for loc, entry in first["locations"].items()} == {"Berlin": True, "Denver": True}
    assert again["changed"] is False
    assert all(entry["present"] for entry in again["locations"].values())
    for location in ("Berlin", "Denver"):  # read back from each DC's own API
        assert (await asyncio.to_thread(names_at, dcs, location)).count("oid-module-image") == 1

    either = {**present, "scope": "{glance: Denver|Berlin}"}
    checked = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.image": either, "register": "alternative"},
            {
                "oid.cloud.image_info": {"scope": "{glance: Berlin&Denver}", "name": "oid-module-image"},
                "register": "listed",
            },
        ],
        "check",
    )
    assert checked["alternative"]["changed"] is False  # present in an alternative is enough
    assert sorted(image["location"] for image in checked["listed"]["images"]) == ["Berlin", "Denver"]

    removed = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.image": {**both, "state": "absent"}, "check_mode": True, "register": "dry"},
            {"oid.cloud.image": {**both, "filename": str(image_file)}, "check_mode": True, "register": "still"},
            {"oid.cloud.image": {**both, "state": "absent"}, "register": "gone"},
            {"oid.cloud.image": {**both, "state": "absent"}, "register": "gone_again"},
        ],
        "delete",
    )
    assert removed["dry"]["changed"] is True
    assert removed["still"]["changed"] is False  # the dry run deleted nothing
    assert removed["gone"]["changed"] is True and removed["gone_again"]["changed"] is False
    for location in ("Berlin", "Denver"):
        assert "oid-module-image" not in await asyncio.to_thread(names_at, dcs, location)


async def test_project_module_in_two_keystones(dcs, interposers, tmp_path):
    _, _, keystones, _ = dcs
    clouds = tmp_path / "clouds.yaml"
    write_clouds(dcs, clouds)
    project = {"scope": "{keystone: Berlin&Denver}", "clouds": {"Denver": "denver"}, "name": "oid-demo"}
    done = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.project": {**project, "description": "made by oid"}, "register": "first"},
            {"oid.cloud.project": {**project, "description": "made by oid"}, "register": "again"},
            {"oid.cloud.project": {**project, "description": "changed"}, "check_mode": True, "register": "dry"},
        ],
        "projects",
    )
    user = {**project, "name": "alice", "password": "alice-secret", "default_project": "oid-demo"}
    users = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.identity_user": user, "register": "alice"},
            {"oid.cloud.identity_user": user, "register": "alice_again"},
            {"oid.cloud.identity_user_info": {**project, "name": "alice"}, "register": "alices"},
        ],
        "users",
    )
    assert users["alice"]["changed"] and not users["alice_again"]["changed"]
    assert "alice-secret" not in json.dumps(users)
    assert sorted(u["location"] for u in users["alices"]["users"]) == ["Berlin", "Denver"]
    assert done["first"]["changed"] and not done["again"]["changed"] and done["dry"]["changed"]
    ids = {}
    for location in ("Berlin", "Denver"):  # read back from each Keystone itself
        found = await asyncio.to_thread(lambda k=keystones[location]: admin(k).identity.find_project("oid-demo"))
        assert found is not None and found.description == "made by oid"
        ids[location] = found.id
        assert done["first"]["locations"][location]["resource"]["id"] == found.id
        alice = await asyncio.to_thread(lambda k=keystones[location]: admin(k).identity.find_user("alice"))
        assert alice.default_project_id == found.id  # the project of that Keystone
    assert ids["Berlin"] != ids["Denver"]  # independent Keystones, independent ids
    remove = [
        {"oid.cloud.identity_user": {**user, "state": "absent"}, "register": "alice_gone"},
        {"oid.cloud.project": {**project, "state": "absent"}, "register": "gone"},
    ]
    gone = await playbook(tmp_path, clouds, remove, "rm")
    assert gone["gone"]["changed"] and gone["alice_gone"]["changed"]
    for location in ("Berlin", "Denver"):
        assert await asyncio.to_thread(lambda k=keystones[location]: admin(k).identity.find_project("oid-demo")) is None


async def test_generic_resource_module(dcs, interposers, tmp_path):
    _, _, keystones, _ = dcs
    clouds = tmp_path / "clouds.yaml"
    write_clouds(dcs, clouds)
    image = {
        "scope": "{glance: Berlin&Denver}",
        "service": "glance",
        "type": "image",
        "attributes": {"name": "oid-generic", "disk_format": "raw", "container_format": "bare"},
        "non_updateable_attributes": ["disk_format", "container_format"],
    }
    group = {
        "scope": "{keystone: Berlin&Denver}",
        "clouds": {"Denver": "denver"},
        "service": "identity",
        "type": "group",
        "attributes": {"name": "oid-operators", "description": "edge operators"},
    }
    done = await playbook(
        tmp_path,
        clouds,
        [
            {"oid.cloud.resource": image, "register": "image"},
            {"oid.cloud.resource": image, "register": "image_again"},
            {"oid.cloud.resource": group, "register": "group"},
            {"oid.cloud.resource": group, "register": "group_again"},
            {"oid.cloud.resource": {**image, "state": "absent"}, "register": "image_gone"},
            {"oid.cloud.resource": {**group, "state": "absent"}, "register": "group_gone"},
        ],
        "generic",
    )
    for kind in ("image", "group"):
        assert done[kind]["changed"] and not done[f"{kind}_again"]["changed"] and done[f"{kind}_gone"]["changed"]
        assert set(done[kind]["locations"]) == {"Berlin", "Denver"}
    groups = {location: done["group"]["locations"][location]["resource"]["id"] for location in ("Berlin", "Denver")}
    assert groups["Berlin"] != groups["Denver"]
