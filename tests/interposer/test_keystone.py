"""A real Keystone reached through the interposer with openstacksdk."""

from __future__ import annotations

import asyncio

import openstack
import pytest

from oid.interposer.app import INTERPOSER
from tests.support.identity import admin


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


async def test_the_proof_of_concepts_token_request_replayed(keystones, interposers):
    """Its clients sent the whole scope in X-Scope on the token request too (no token
    yet, so no suffix), every service filled with the default region: the identity
    it names issues the token."""
    denver = keystones["Denver"]
    scope = '{"compute": "Berlin", "identity": "Denver", "image": "Berlin", "network": "Berlin", "placement": "Berlin"}'
    conn = connect(keystones["Berlin"], denver.password, scope=scope)
    assert await asyncio.to_thread(conn.session.get_user_id) == await asyncio.to_thread(
        admin(denver).session.get_user_id
    )


async def test_a_denver_tokens_catalog_through_berlin_points_at_berlin(keystones, interposers):
    """Denver's Keystone lists Denver's interposer for its services (as the overlay
    registers them); the same token asked for through Berlin lists Berlin's, so that
    the client keeps entering the federation where it did (its scope decides the rest)."""
    berlin, denver = keystones["Berlin"], keystones["Denver"]
    direct = admin(denver)
    denver_compute = f"http://127.0.0.1:{denver.interposer_port}/compute/v2.1"
    service = await asyncio.to_thread(lambda: direct.identity.create_service(name="nova", type="compute"))
    try:
        await asyncio.to_thread(
            lambda: direct.identity.create_endpoint(service_id=service.id, interface="public", url=denver_compute)
        )
        conn = connect(berlin, denver.password, scope="{keystone: Denver}")
        catalog = await asyncio.to_thread(lambda: conn.session.auth.get_access(conn.session).service_catalog.catalog)
        urls = {entry["type"]: {e["url"] for e in entry["endpoints"]} for entry in catalog}
        assert urls["compute"] == {f"http://127.0.0.1:{berlin.interposer_port}/compute/v2.1"}, urls
        assert all(url.startswith(f"http://127.0.0.1:{berlin.interposer_port}/identity") for url in urls["identity"])
    finally:
        await asyncio.to_thread(direct.identity.delete_service, service)


async def test_a_token_asked_for_at_a_scoped_url_lists_every_service_there(keystones, interposers):
    """A client that cannot send X-Scope (docs/cli.md: gophercloud, Terraform) is
    given the entry's URL with the scope in its path as its auth URL: the token's
    catalog then lists every service at that same scoped URL, so that each
    request it makes carries the scope. Berlin's Keystone lists Berlin's
    interposer (as the overlay registers it), which becomes the scoped URL."""
    berlin = keystones["Berlin"]
    direct = admin(berlin)
    scoped = f"http://127.0.0.1:{berlin.interposer_port}/scope/glance:Denver"
    service = await asyncio.to_thread(lambda: direct.identity.create_service(name="glance", type="image"))
    try:
        await asyncio.to_thread(
            lambda: direct.identity.create_endpoint(
                service_id=service.id, interface="public", url=f"http://127.0.0.1:{berlin.interposer_port}/image"
            )
        )
        conn = openstack.connect(
            auth_url=scoped + "/identity/v3",
            username="admin",
            password=berlin.password,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
        )
        catalog = await asyncio.to_thread(lambda: conn.session.auth.get_access(conn.session).service_catalog.catalog)
        urls = {entry["type"]: {e["url"] for e in entry["endpoints"]} for entry in catalog}
        assert urls["image"] == {scoped + "/image"}, urls
        assert all(url.startswith(scoped + "/identity") for url in urls["identity"]), urls
        # Without a scope in the path, the catalog is Keystone's own.
        plain = connect(berlin, berlin.password)
        catalog = await asyncio.to_thread(lambda: plain.session.auth.get_access(plain.session).service_catalog.catalog)
        urls = {entry["type"]: {e["url"] for e in entry["endpoints"]} for entry in catalog}
        assert urls["image"] == {f"http://127.0.0.1:{berlin.interposer_port}/image"}, urls
    finally:
        await asyncio.to_thread(direct.identity.delete_service, service)
