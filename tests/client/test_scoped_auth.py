"""oid-client (client/): the scope for openstacksdk and the stock openstack CLI,
against two real Keystones, each behind a real interposer on loopback. A token
asked through Berlin's interposer with the scope `{keystone: Denver}` is Denver's,
and what is listed with it is Denver's: the scope reached the federation, on the
token request and on every request after it."""

from __future__ import annotations

import asyncio
import json
import os

import openstack
import pytest
import yaml

from tests.support.cli import openstack_cli
from tests.support.identity import admin


def cloud(keystones, name="Berlin", **auth):
    """A clouds.yaml entry entering the federation through ``name``'s interposer."""
    keystone = keystones[name]
    return {
        "auth_type": auth.pop("auth_type", "oid-password"),
        "auth": {
            "auth_url": f"http://127.0.0.1:{keystone.interposer_port}/identity/v3",
            "username": "admin",
            "password": auth.pop("password", keystone.password),
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            **auth,
        },
        "identity_api_version": 3,
    }


def project_ids(conn) -> set[str]:
    return {project.id for project in conn.identity.projects()}


async def test_the_sdk_sends_the_scope_on_the_token_request_and_after_it(keystones, interposers):
    denver = keystones["Denver"]
    conn = openstack.connect(**cloud(keystones, password=denver.password, scope="{keystone: Denver}"))
    # The token is Denver's (Berlin's Keystone knows no such password) ...
    assert await asyncio.to_thread(conn.session.get_user_id) == await asyncio.to_thread(
        admin(denver).session.get_user_id
    )
    # ... and the project list with it too: the request carried the scope.
    assert await asyncio.to_thread(project_ids, conn) == await asyncio.to_thread(project_ids, admin(denver))


async def test_a_scope_as_a_mapping_and_in_clouds_yaml(keystones, interposers, tmp_path):
    denver = keystones["Denver"]
    mapped = openstack.connect(**cloud(keystones, password=denver.password, scope={"identity": "Denver"}))
    assert await asyncio.to_thread(project_ids, mapped) == await asyncio.to_thread(project_ids, admin(denver))
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"fed": cloud(keystones, password=denver.password)}}))
    config = openstack.config.OpenStackConfig(config_files=[str(clouds)])
    region = config.get_one("fed", auth={"scope": "{keystone: Denver}"})
    conn = openstack.connection.Connection(config=region)
    assert await asyncio.to_thread(project_ids, conn) == await asyncio.to_thread(project_ids, admin(denver))


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ("{keystone: Atlantis}", "refused the scope"),
        ("{keystone: Berlin&Atlantis}", "refused the scope"),
        ("{nova: Berlin", "refused the scope"),
    ],
)
async def test_a_scope_the_federation_cannot_apply_fails_before_any_request(keystones, interposers, scope, reason):
    from oid_client.auth import ScopeError

    conn = openstack.connect(**cloud(keystones, scope=scope))
    with pytest.raises(ScopeError, match=reason):
        await asyncio.to_thread(conn.session.get_user_id)


@pytest.fixture(scope="module")
def alice(keystones):
    """One user of the same name and password, admin, in both Keystones: the
    credentials a scope over both Keystones logs in with at each."""
    for keystone in keystones.values():
        conn = admin(keystone)
        user = conn.identity.find_user("alice") or conn.identity.create_user(
            name="alice", password="alice-secret", domain_id="default"
        )
        project = conn.identity.find_project("admin")
        conn.identity.assign_project_role_to_user(project, user, conn.identity.find_role("admin"))
    return {"username": "alice", "password": "alice-secret"}


def user_names(keystone) -> set[str]:
    return {user.name for user in admin(keystone).identity.users()}


def user_ids(keystone) -> set[str]:
    return {user.id for user in admin(keystone).identity.users()}


async def test_a_user_created_under_and_of_two_keystones_is_in_both(keystones, interposers, alice):
    """{keystone: Berlin&Denver}: one login, a token of each Keystone, each branch of
    the '&' sent with its own (X-Scope-Tokens); the user is created in both."""
    conn = openstack.connect(**cloud(keystones, **alice, scope="{keystone: Berlin&Denver}"))
    name = f"bob-{os.getpid()}"
    await asyncio.to_thread(lambda: conn.identity.create_user(name=name, password="x", domain_id="default"))
    for keystone in keystones.values():
        assert name in await asyncio.to_thread(user_names, keystone), keystone.name


async def test_a_scope_sent_straight_to_a_keystone_is_an_error(keystones, interposers):
    from oid_client.auth import ScopeError

    direct = cloud(keystones, scope="{keystone: Denver}")
    direct["auth"]["auth_url"] = f"{keystones['Berlin'].url}/v3"  # Keystone itself: no interposer
    conn = openstack.connect(**direct)
    with pytest.raises(ScopeError, match="not a DC's interposer"):
        await asyncio.to_thread(conn.session.get_user_id)


# -- the stock openstack CLI ------------------------------------------------------


@pytest.fixture
def clouds_file(keystones, tmp_path):
    denver = keystones["Denver"]
    clouds = {
        "fed": cloud(keystones, password=denver.password),
        "stock": {**cloud(keystones, password=denver.password), "auth_type": "password"},
    }
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


async def run_cli(*args, **kwargs):
    return await asyncio.to_thread(openstack_cli, *args, **kwargs)


async def test_os_scope_with_the_talks_braces(keystones, interposers, clouds_file):
    listed = await run_cli(
        clouds_file, "--os-cloud", "fed", "--os-scope", "{keystone: Denver}", "project", "list", "-f", "json"
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    ids = {project["ID"] for project in json.loads(listed.stdout)}
    assert ids == await asyncio.to_thread(project_ids, admin(keystones["Denver"]))


async def test_os_scope_from_the_environment(keystones, interposers, clouds_file):
    listed = await run_cli(
        clouds_file, "project", "list", "-f", "json", env={"OS_CLOUD": "fed", "OS_SCOPE": "{keystone: Denver}"}
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert {p["ID"] for p in json.loads(listed.stdout)} == await asyncio.to_thread(
        project_ids, admin(keystones["Denver"])
    )


async def test_a_scope_with_an_auth_type_that_takes_none_fails_loudly(keystones, interposers, clouds_file):
    """Stock `password` knows no scope: the CLI stops, naming it, instead of running
    the command at the entry's DC."""
    refused = await run_cli(clouds_file, "--os-cloud", "stock", "--os-scope", "{keystone: Denver}", "project", "list")
    assert refused.returncode != 0 and "scope" in refused.stderr, refused.stderr[-2000:]


async def test_the_talks_user_create_in_two_keystones(keystones, interposers, alice, tmp_path):
    """The talk: `openstack user create Alice --os-scope '{keystone: Berlin&Denver}'`."""
    clouds = tmp_path / "alice.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"fed": cloud(keystones, **alice)}}))
    name = f"Carol-{os.getpid()}"
    made = await run_cli(
        clouds,
        "--os-cloud",
        "fed",
        "--os-scope",
        "{keystone: Berlin&Denver}",
        "user",
        "create",
        name,
        "--password",
        "x",
    )
    assert made.returncode == 0, made.stderr[-3000:]
    for keystone in keystones.values():
        assert name in await asyncio.to_thread(user_names, keystone), keystone.name


async def test_a_refused_scope_stops_the_cli_with_the_reason(keystones, interposers, clouds_file):
    refused = await run_cli(clouds_file, "--os-cloud", "fed", "--os-scope", "{keystone: Atlantis}", "project", "list")
    assert refused.returncode != 0
    assert "refused the scope" in refused.stderr and "Atlantis" in refused.stderr, refused.stderr[-2000:]


async def test_oid_user_list_shows_each_users_keystone(keystones, interposers, alice, tmp_path):
    """`openstack oid user list` (oid-client's command group): the stock listing
    loses each item's oid_location; this one shows it, right for every row."""
    clouds = tmp_path / "alice.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"fed": cloud(keystones, **alice)}}))
    for scope, locations in (("{keystone: Berlin&Denver}", {"Berlin", "Denver"}), ("{keystone: Denver}", {"Denver"})):
        listed = await run_cli(clouds, "--os-cloud", "fed", "--os-scope", scope, "oid", "user", "list", "-f", "json")
        assert listed.returncode == 0, listed.stderr[-3000:]
        rows = json.loads(listed.stdout)
        assert {row["Location"] for row in rows} == locations, rows
        for name in locations:
            ids = await asyncio.to_thread(user_ids, keystones[name])
            assert {row["ID"] for row in rows if row["Location"] == name} == ids, name
