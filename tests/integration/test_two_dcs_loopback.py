"""Two DCs on loopback, end to end: real Keystones and Glances with oid's
filters, behind real interposers; openstacksdk talks to Berlin's interposer only.

This is the interposer and the paste filters working together without the
lab: a Berlin token used at Denver's Glance, `&` lists merged across two real
Glances, image bytes crossing from Denver through both interposers.
"""

from __future__ import annotations

import asyncio
import hashlib

import openstack
import pytest
import yaml

from oid.interposer.app import build_app
from oid.interposer.config import Routes, Settings
from oid.scope import Catalog
from tests.support import keystone as ks
from tests.support.glance import Glance
from tests.support.identity import SECRET, SERVICE_PASSWORD, register_endpoint, service_account

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
            for other in NAMES:  # every DC's account at every Keystone
                service_account(keystones[name], f"oid-{other.lower()}")
            register_endpoint(keystones[name], "image", "glance", f"http://127.0.0.1:{ports[name]}/image")
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
            (files / "secret").write_text(SECRET)
            accounts = {
                other: {
                    "auth_url": f"{keystones[other].url}/v3",
                    "username": f"oid-{name.lower()}",
                    "password": SERVICE_PASSWORD,
                    "interface": "internal",
                }
                for other in NAMES
                if other != name
            }
            (files / "keystones.yml").write_text(yaml.safe_dump(accounts))
            glances[name] = Glance(
                workdir, name, keystones[name], (f"oid-{name.lower()}", SERVICE_PASSWORD), files
            ).start()
            catalog["locations"][name]["services"]["image"] = glances[name].url
        (workdir / "catalog.yml").write_text(yaml.safe_dump(catalog))
        yield workdir, ports, keystones, glances
    finally:
        for service in (*glances.values(), *keystones.values()):
            service.stop()


@pytest.fixture
async def interposers(dcs, aiohttp_server):
    workdir, ports, _, _ = dcs
    for name in NAMES:
        settings = Settings(name, str(workdir / "catalog.yml"), port=ports[name], federation_secret=SECRET)
        await aiohttp_server(
            build_app(settings, Routes(Catalog.from_file(settings.catalog_file), name)), port=ports[name]
        )


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
