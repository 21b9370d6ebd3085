"""A real Keystone reached through the interposer with openstacksdk."""

from __future__ import annotations

import asyncio

import openstack
import pytest
import yaml

from oid.interposer.app import INTERPOSER, build_app
from oid.interposer.config import Routes, Settings
from oid.scope import Catalog
from tests.support import keystone as ks
from tests.support.identity import admin

pytestmark = pytest.mark.skipif(ks.available() is not None, reason=str(ks.available()))
SECRET = "keystone-test-secret-0123456789"


@pytest.fixture(scope="module")
def keystones(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("keystones")
    ports = {name: ks.free_port() for name in ("Berlin", "Denver")}
    started = {}
    try:
        for name, port in ports.items():
            # Each Keystone's catalog registers its own DC's interposer, as the overlay does.
            started[name] = ks.Keystone(workdir, name, public_url=f"http://127.0.0.1:{port}/identity").start()
            started[name].interposer_port = port
        yield started
    finally:
        for keystone in started.values():
            keystone.stop()


@pytest.fixture
async def interposers(keystones, tmp_path, aiohttp_server):
    catalog = {
        "locations": {
            name: {"interposer": f"http://127.0.0.1:{k.interposer_port}", "services": {"identity": k.url}}
            for name, k in keystones.items()
        }
    }
    catalog_file = tmp_path / "catalog.yml"
    catalog_file.write_text(yaml.safe_dump(catalog))
    apps = {}
    for name, keystone in keystones.items():
        settings = Settings(name, str(catalog_file), port=keystone.interposer_port, federation_secret=SECRET)
        apps[name] = build_app(settings, Routes(Catalog.from_file(str(catalog_file)), name))
        await aiohttp_server(apps[name], port=keystone.interposer_port)
    return apps


def connect(keystone_through, password, scope=None):
    conn = openstack.connect(
        auth_url=f"http://127.0.0.1:{keystone_through.interposer_port}/identity/v3",
        username="admin",
        password=password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=None,
    )
    if scope:
        conn.session.additional_headers["X-Scope"] = scope
    return conn


async def test_openstacksdk_talks_to_keystone_only_through_the_interposer(keystones, interposers):
    berlin = keystones["Berlin"]
    conn = connect(berlin, berlin.password)
    token = await asyncio.to_thread(lambda: conn.auth_token)
    assert token
    projects = await asyncio.to_thread(lambda: [p.name for p in conn.identity.projects()])
    assert "admin" in projects
    endpoint = await asyncio.to_thread(conn.session.get_endpoint, service_type="identity", interface="public")
    assert endpoint.startswith(f"http://127.0.0.1:{berlin.interposer_port}/identity")
    # Discovery documents came back rewritten: nothing points at Keystone's own port.
    version = await asyncio.to_thread(lambda: conn.session.get(endpoint, authenticated=False).json())
    assert all(str(berlin.port) not in link["href"] for link in version["version"]["links"])
    interposer = interposers["Berlin"][INTERPOSER]
    assert interposer.routes.here == "Berlin"


async def test_a_token_from_denver_keystone_through_berlin(keystones, interposers):
    denver = keystones["Denver"]
    conn = connect(keystones["Berlin"], denver.password, scope="{keystone: Denver}")
    user_id = await asyncio.to_thread(conn.session.get_user_id)
    direct = admin(denver)  # straight to Denver's Keystone, no interposer
    assert user_id == await asyncio.to_thread(direct.session.get_user_id)
    # The Berlin password does not work at Denver: two independent Keystones.
    wrong = connect(keystones["Berlin"], keystones["Berlin"].password, scope="{keystone: Denver}")
    with pytest.raises(Exception, match="401|Unauthorized|authenticate"):
        await asyncio.to_thread(wrong.session.get_user_id)
