"""What the role oid_catalog leaves on Berlin's control hosts and in Berlin's Keystone
(molecule verify, testinfra).

`host` is the instance, Berlin's second control host; the first, berlin-control-1,
is this machine, so its files are read here directly. Keystone is asked over its
HTTP API, as keystonemiddleware would. The tests that change something re-run the
scenario's converge playbook with one thing changed and put it back afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
import yaml

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge as run_converge  # noqa: E402

testinfra_hosts = ["ansible://oidmolcat_berlin"]  # Denver and Paris are inventory hosts only

FIRST = "berlin-control-1"  # this machine
INSTANCE = "oidmolcat_berlin"
KOLLA = "/var/lib/oidmolcat/etc/kolla"  # on both hosts (Kolla's layout: inventory/hosts.yml)
OID = f"{KOLLA}/oid"
KEYSTONE = "http://10.253.1.10:5000/v3"
ADMIN = ("admin", "oidmolcat-admin", "admin")
PASSWORD = "oidmolcat-account-password"  # group_vars/oid_federation.yml
SECRET = "oidmolcat-federation-secret-0123456789"
SECRETS_GID = 42400  # group_vars/all/oid.yml: oid_secrets_group, Kolla's group "kolla"

BERLIN_SERVICES = {
    "identity": "http://10.253.1.10:5000",
    "compute": "http://10.253.1.10:8774",
    "image": "http://10.253.1.10:9292",
    "network": "http://10.253.1.10:9696",
    "placement": "http://10.253.1.10:8778",
}
CATALOG = {
    "locations": {
        "Berlin": {"interposer": "http://10.253.1.10:8790", "region": "Berlin", "services": BERLIN_SERVICES},
        "Denver": {
            "interposer": "http://10.253.1.20:8790",
            "region": "denver-1",
            "connect_timeout": 5.0,
            "services": {
                "identity": "http://10.253.1.20:5000",
                "compute": "http://10.253.1.20:8774",
                "image": "http://10.253.1.20:9292",
            },
        },
        "Paris": {
            "interposer": "http://10.253.1.30:8790",
            "region": "Paris",
            "services": {"identity": "http://10.253.1.30:5000", "image": "http://10.253.1.30:9292"},
        },
    }
}


# A fourth DC, in a second inventory source given to the re-run.
TOKYO = """
all:
  children:
    oid_federation:
      children:
        tokyo:
          hosts:
            tokyo-control:
              oid_location: Tokyo
              oid_internal_address: 10.253.1.40
              oid_local_endpoints: {identity: "http://10.253.1.40:5000"}
"""


def account(interposer: str, region: str) -> dict:
    """Berlin's account at another DC's Keystone, reached through that DC's interposer."""
    return {
        "auth_url": f"{interposer}/identity/v3",
        "username": "oid-berlin",
        "password": PASSWORD,
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "interface": "internal",
        "region_name": region,
    }


# ---------------------------------------------------------------- helpers


def local(path: str) -> Path:
    """A file of berlin-control-1 (this machine)."""
    return Path(path)


def login(user: str, password: str, project: str = "service") -> tuple[str, dict]:
    """A project-scoped token from Berlin's Keystone: (token, its body)."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
            },
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }
    }
    response = requests.post(f"{KEYSTONE}/auth/tokens", json=body, timeout=30)
    assert response.status_code == 201, f"{user}: {response.status_code} {response.text}"
    return response.headers["X-Subject-Token"], response.json()["token"]


def admin_get(path: str, **params) -> dict:
    token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
    response = requests.get(f"{KEYSTONE}{path}", params=params, headers={"X-Auth-Token": token}, timeout=30)
    response.raise_for_status()
    return response.json()


def oid_users() -> dict[str, dict]:
    return {user["name"]: user for user in admin_get("/users")["users"] if user["name"].startswith("oid-")}


def converge(extra_inventory: str | None = None, **extra_vars) -> dict[str, dict[str, dict]]:
    """Re-run the scenario's converge; {host: {task or handler name: its result there}}."""
    return run_converge(extra_vars=extra_vars, extra_inventory=extra_inventory)


@pytest.fixture
def restore():
    """Put the scenario back in its converged state after a test that changed it."""
    yield
    converge()


@pytest.fixture
def restore_secrets():
    yield
    converge(oid_service_account_update_password="always")  # the scenario's password back in Keystone
    login("oid-denver", PASSWORD)


# ---------------------------------------------------------------- files


def test_the_catalog_names_every_dc_with_its_interposer(host):
    catalog = host.file(f"{OID}/catalog.yml")
    assert catalog.is_file and catalog.mode == 0o644 and catalog.user == "root"
    assert yaml.safe_load(catalog.content_string) == CATALOG


def test_both_control_hosts_got_the_same_files(host):
    for path in ("oid/catalog.yml", "oid/keystones.yml", "oid/federation-secret", "globals.d/oid-endpoints.yml"):
        assert host.file(f"{KOLLA}/{path}").content_string == local(f"{KOLLA}/{path}").read_text(), path


def test_the_federation_secret_is_readable_by_kolla_s_group_only(host):
    secret = host.file(f"{OID}/federation-secret")
    assert (secret.mode, secret.uid, secret.gid) == (0o640, 0, SECRETS_GID)
    assert secret.content_string == SECRET + "\n"
    on_first = local(f"{OID}/federation-secret").stat()
    assert (on_first.st_mode & 0o7777, on_first.st_uid, on_first.st_gid) == (0o640, 0, SECRETS_GID)


def test_the_accounts_file_names_berlin_s_account_at_every_other_keystone(host):
    accounts = host.file(f"{OID}/keystones.yml")
    assert (accounts.mode, accounts.uid, accounts.gid) == (0o640, 0, SECRETS_GID)
    assert yaml.safe_load(accounts.content_string) == {
        "Denver": account("http://10.253.1.20:8790", "denver-1"),
        "Paris": account("http://10.253.1.30:8790", "Paris"),
    }


def test_kolla_s_endpoints_are_berlin_s_interposer(host):
    endpoints = host.file(f"{KOLLA}/globals.d/oid-endpoints.yml")
    assert endpoints.mode == 0o644
    interposer = "http://10.253.1.10:8790"
    expected = {}
    for kolla, path in (
        ("nova", "compute/v2.1"),
        ("glance", "image"),
        ("neutron", "network"),
        ("placement", "placement"),
    ):
        expected[f"{kolla}_internal_endpoint"] = expected[f"{kolla}_public_endpoint"] = f"{interposer}/{path}"
    assert yaml.safe_load(endpoints.content_string) == expected


# ---------------------------------------------------------------- Keystone


def test_keystone_has_an_account_for_every_other_dc_with_the_service_role():
    service = admin_get("/projects", name="service")["projects"]
    assert len(service) == 1
    users = oid_users()
    assert sorted(users) == ["oid-denver", "oid-paris"]  # none for Berlin in its own Keystone
    for name, user in users.items():
        dc = name.removeprefix("oid-").capitalize()
        assert user["enabled"] and user["domain_id"] == "default"
        assert user["default_project_id"] == service[0]["id"]
        assert user["description"] == f"oid: {dc} validates tokens of this Keystone with it"
        assignments = admin_get("/role_assignments", **{"user.id": user["id"], "include_names": "true"})
        assert [(a["role"]["name"], a["scope"]["project"]["name"]) for a in assignments["role_assignments"]] == [
            ("service", "service")
        ]


def test_an_account_does_what_keystonemiddleware_does_with_it():
    """Log in with the federation's password and validate another user's token."""
    admin_token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
    for name in ("oid-denver", "oid-paris"):
        token, body = login(name, PASSWORD)
        assert [role["name"] for role in body["roles"]] == ["service"]
        response = requests.get(
            f"{KEYSTONE}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": admin_token}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["token"]["user"]["name"] == "admin"


# ---------------------------------------------------------------- changes


def test_a_new_dc_gets_an_account_from_the_first_host_only(host, tmp_path, restore):
    """A fourth DC in the inventory: both hosts write the new catalog (the interposer
    reloads), and only the first host, which has openstacksdk, speaks to Keystone."""
    assert host.run("python3 -c 'import openstack'").rc != 0  # the instance could not have
    tokyo = tmp_path / "tokyo.yml"
    tokyo.write_text(TOKYO)
    try:
        report = converge(str(tokyo))

        for name in (FIRST, INSTANCE):
            tasks = report[name]
            assert tasks["Catalog | The inter-DC catalog (the same on every DC)"]["changed"]
            assert "Interposer | Reload" in tasks and "Interposer | Restart" not in tasks
        assert report[FIRST]["Catalog | Service accounts oid-<dc>"]["changed"]
        assert report[INSTANCE]["Catalog | Service accounts oid-<dc>"].get("skipped")
        assert report[INSTANCE]["Catalog | Their role (service, in the service project)"].get("skipped")
        catalog = yaml.safe_load(host.file(f"{OID}/catalog.yml").content_string)
        assert catalog["locations"]["Tokyo"] == {
            "interposer": "http://10.253.1.40:8790",
            "region": "Tokyo",
            "services": {"identity": "http://10.253.1.40:5000"},
        }
        assert yaml.safe_load(local(f"{OID}/catalog.yml").read_text()) == catalog
        assert sorted(yaml.safe_load(host.file(f"{OID}/keystones.yml").content_string)) == ["Denver", "Paris", "Tokyo"]
        assert sorted(oid_users()) == ["oid-denver", "oid-paris", "oid-tokyo"]
        login("oid-tokyo", PASSWORD)
    finally:
        # The role never removes an account: a DC that leaves the inventory keeps its
        # account in the others' Keystones until an operator deletes it
        # (docs/operations.md), as here.
        tokyo_user = oid_users().get("oid-tokyo")
        if tokyo_user:
            admin_token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
            requests.delete(
                f"{KEYSTONE}/users/{tokyo_user['id']}", headers={"X-Auth-Token": admin_token}, timeout=30
            ).raise_for_status()


def test_new_secrets_restart_the_interposer_and_rotate_the_accounts_password(host, restore_secrets):
    """A new federation secret restarts the interposer and nothing else; a new accounts'
    password reaches Keystone with -e oid_service_account_update_password=always
    (docs/identity.md; without it, set on creation only: the idempotence step's re-run)."""
    secret, password = "oidmolcat-another-secret-9876543210", "oidmolcat-rotated-password"

    report = converge(
        oid_federation_secret=secret,
        oid_service_account_password=password,
        oid_service_account_update_password="always",
    )

    for name in (FIRST, INSTANCE):
        tasks = report[name]
        assert "Interposer | Restart" in tasks and "Interposer | Reload" not in tasks
        changed = {task.split(" (")[0] for task, outcome in tasks.items() if outcome.get("changed")}
        expected = {"Catalog | The federation secret", "Catalog | This DC's accounts at the other Keystones"}
        assert changed == (expected | {"Catalog | Service accounts oid-<dc>"} if name == FIRST else expected)
    for content in (
        host.file(f"{OID}/federation-secret").content_string,
        local(f"{OID}/federation-secret").read_text(),
    ):
        assert content == secret + "\n"
    assert {
        entry["password"] for entry in yaml.safe_load(host.file(f"{OID}/keystones.yml").content_string).values()
    } == {password}
    login("oid-denver", password)
    login("oid-paris", password)
    refused = requests.post(
        f"{KEYSTONE}/auth/tokens",
        json={"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "oid-denver", "domain": {"id": "default"}, "password": PASSWORD}}}}},
        timeout=30,
    )  # fmt: skip
    assert refused.status_code == 401
