"""What the role oid_catalog leaves on Berlin's control hosts and in Berlin's Keystone
(molecule verify, testinfra).

`host` is the instance, Berlin's second control host; the first, berlin-control-1,
is this machine, so its files are read here directly. Keystone is asked over its
HTTP API, as keystonemiddleware would. The tests that change something re-run the
scenario's converge playbook with one thing changed and put it back afterwards."""

from __future__ import annotations

import hashlib
import hmac
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
MASTER_PASSWORD = "oidmolcat-account-password"  # group_vars/oid_federation.yml, on the controller only
MASTER_SECRET = "oidmolcat-federation-secret-0123456789"
ACCOUNT = "oid-interposer"
CATALOG_TASK = "Catalog | The inter-DC catalog (the same on every DC), its directories, this DC's endpoints"
ACCOUNT_TASK = (
    "Catalog | The interposer's account (it validates this DC's tokens for other DCs), its role in the service project"
)


def derived(master: str, purpose: str, location: str = "Berlin") -> str:
    """A DC's own secret, as the role derives it from the controller's (filter oid_dc_secret)."""
    return hmac.new(master.encode(), f"{purpose}:{location}".encode(), hashlib.sha256).hexdigest()


PASSWORD = derived(MASTER_PASSWORD, "account")
SECRET = derived(MASTER_SECRET, "services")
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
        "Berlin": {
            "interposer": "http://10.253.1.10:8790",
            "peer": "https://10.253.1.10:8791",
            "region": "Berlin",
            "services": BERLIN_SERVICES,
        },
        "Denver": {
            "interposer": "http://10.253.1.20:8790",
            "peer": "https://10.253.1.20:8791",
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
            "peer": "https://10.253.1.30:8791",
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
    login(ACCOUNT, PASSWORD)


# ---------------------------------------------------------------- files


def test_the_catalog_names_every_dc_with_its_interposer(host):
    catalog = host.file(f"{OID}/catalog.yml")
    assert catalog.is_file and catalog.mode == 0o644 and catalog.user == "root"
    assert yaml.safe_load(catalog.content_string) == CATALOG


def test_both_control_hosts_got_the_same_files(host):
    for path in ("oid/catalog.yml", "oid/dc-secret", "oid/interposer-password", "globals.d/oid-endpoints.yml"):
        assert host.file(f"{KOLLA}/{path}").content_string == local(f"{KOLLA}/{path}").read_text(), path


def test_berlin_s_secret_is_its_own_and_readable_by_kolla_s_group_only(host):
    """Derived from the controller's secret and Berlin's name: Denver's would differ."""
    secret = host.file(f"{OID}/dc-secret")
    assert (secret.mode, secret.uid, secret.gid) == (0o640, 0, SECRETS_GID)
    assert secret.content_string == SECRET + "\n"
    assert MASTER_SECRET not in secret.content_string and SECRET != derived(MASTER_SECRET, "services", "Denver")
    on_first = local(f"{OID}/dc-secret").stat()
    assert (on_first.st_mode & 0o7777, on_first.st_uid, on_first.st_gid) == (0o640, 0, SECRETS_GID)


def test_the_interposer_s_password_is_root_s_alone(host):
    password = host.file(f"{OID}/interposer-password")
    assert (password.mode, password.uid, password.gid) == (0o600, 0, 0)
    assert password.content_string == PASSWORD + "\n"


def test_nothing_of_the_shared_secret_or_of_accounts_elsewhere_is_left(host):
    for path in ("federation-secret", "keystones.yml"):
        assert not host.file(f"{OID}/{path}").exists and not local(f"{OID}/{path}").exists()


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


def test_keystone_has_one_oid_account_berlin_s_interposer_s():
    service = admin_get("/projects", name="service")["projects"]
    assert len(service) == 1
    users = oid_users()
    assert sorted(users) == [ACCOUNT]  # none for other DCs: they validate through Berlin's interposer
    user = users[ACCOUNT]
    assert user["enabled"] and user["domain_id"] == "default"
    assert user["default_project_id"] == service[0]["id"]
    assert user["description"] == "oid: the interposer of Berlin validates tokens of this Keystone for other DCs"
    assignments = admin_get("/role_assignments", **{"user.id": user["id"], "include_names": "true"})
    assert [(a["role"]["name"], a["scope"]["project"]["name"]) for a in assignments["role_assignments"]] == [
        ("service", "service")
    ]


def test_a_role_taken_away_is_given_back_and_check_mode_only_says_so(restore):
    """The account's role removed by hand in Keystone: a check-mode run reports the
    change and gives nothing; a run gives the role back (oid.cloud.service_account:
    the user and its role in one module run)."""
    admin_token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
    user = oid_users()[ACCOUNT]
    project = admin_get("/projects", name="service")["projects"][0]
    role = admin_get("/roles", name="service")["roles"][0]
    grant = f"{KEYSTONE}/projects/{project['id']}/users/{user['id']}/roles/{role['id']}"
    requests.delete(grant, headers={"X-Auth-Token": admin_token}, timeout=30).raise_for_status()

    checked = run_converge(args=("--check",))[FIRST][ACCOUNT_TASK]
    assert checked["changed"]
    assert requests.head(grant, headers={"X-Auth-Token": admin_token}, timeout=30).status_code == 404

    assert converge()[FIRST][ACCOUNT_TASK]["changed"]
    assert requests.head(grant, headers={"X-Auth-Token": admin_token}, timeout=30).status_code == 204
    assert not converge()[FIRST][ACCOUNT_TASK]["changed"]


def test_the_account_does_what_the_interposer_does_with_it():
    """Log in with Berlin's own password and validate another user's token."""
    admin_token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
    token, body = login(ACCOUNT, PASSWORD)
    assert [role["name"] for role in body["roles"]] == ["service"]
    response = requests.get(
        f"{KEYSTONE}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": admin_token}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["token"]["user"]["name"] == "admin"


# ---------------------------------------------------------------- changes


def test_a_new_dc_changes_the_catalog_and_nothing_in_keystone(host, tmp_path, restore):
    """A fourth DC in the inventory: both hosts write the new catalog (the interposer
    reloads); Berlin's Keystone is not touched (no account per DC), and only the first
    host, which has openstacksdk, speaks to it at all."""
    assert host.run("python3 -c 'import openstack'").rc != 0  # the instance could not have
    tokyo = tmp_path / "tokyo.yml"
    tokyo.write_text(TOKYO)
    report = converge(str(tokyo))

    for name in (FIRST, INSTANCE):
        tasks = report[name]
        assert tasks[CATALOG_TASK]["changed"]
        assert "Interposer | Reload" in tasks and "Interposer | Restart" not in tasks
        changed = {task for task, outcome in tasks.items() if outcome.get("changed")}
        assert changed == {CATALOG_TASK}, changed
    assert report[INSTANCE][ACCOUNT_TASK].get("skipped")
    catalog = yaml.safe_load(host.file(f"{OID}/catalog.yml").content_string)
    assert catalog["locations"]["Tokyo"] == {
        "interposer": "http://10.253.1.40:8790",
        "peer": "https://10.253.1.40:8791",
        "region": "Tokyo",
        "services": {"identity": "http://10.253.1.40:5000"},
    }
    assert yaml.safe_load(local(f"{OID}/catalog.yml").read_text()) == catalog
    assert sorted(oid_users()) == [ACCOUNT]


def test_what_the_old_trust_model_left_goes(host, restore):
    """Upgrading from per-DC accounts and a shared secret: the other DCs' accounts in
    Berlin's Keystone (known by their description) and the old files are removed."""
    admin_token, _ = login(ADMIN[0], ADMIN[1], ADMIN[2])
    headers = {"X-Auth-Token": admin_token}
    old = {"name": "oid-denver", "domain_id": "default", "password": "old",
           "description": "oid: Denver validates tokens of this Keystone with it"}  # fmt: skip
    kept = {"name": "oid-operator", "domain_id": "default", "description": "an operator's own user"}
    for user in (old, kept):
        requests.post(f"{KEYSTONE}/users", json={"user": user}, headers=headers, timeout=30).raise_for_status()
    for path in (f"{OID}/federation-secret", f"{OID}/keystones.yml"):
        local(path).write_text("old\n")
    try:
        converge()
        assert sorted(oid_users()) == [ACCOUNT, "oid-operator"]
        assert not local(f"{OID}/federation-secret").exists() and not local(f"{OID}/keystones.yml").exists()
        # A migration stopped after the files went: the upgrade action lists the accounts again.
        requests.post(f"{KEYSTONE}/users", json={"user": old}, headers=headers, timeout=30).raise_for_status()
        converge(oid_action="upgrade")
        assert sorted(oid_users()) == [ACCOUNT, "oid-operator"]
    finally:
        operator = oid_users().get("oid-operator")
        if operator:
            requests.delete(f"{KEYSTONE}/users/{operator['id']}", headers=headers, timeout=30).raise_for_status()


def test_new_secrets_restart_the_interposer_and_rotate_its_password(host, restore_secrets):
    """New secrets on the controller: Berlin's own, derived from them, change; the
    interposer restarts and nothing else; its password reaches Keystone with
    -e oid_service_account_update_password=always (docs/identity.md; without it, set
    on creation only: the idempotence step's re-run)."""
    master_secret, master_password = "oidmolcat-another-secret-9876543210", "oidmolcat-rotated-password"

    report = converge(
        oid_federation_secret=master_secret,
        oid_service_account_password=master_password,
        oid_service_account_update_password="always",
    )

    for name in (FIRST, INSTANCE):
        tasks = report[name]
        assert "Interposer | Restart" in tasks and "Interposer | Reload" not in tasks
        changed = {task.split(" (")[0] for task, outcome in tasks.items() if outcome.get("changed")}
        expected = {"Catalog | This DC's own secret"}  # and its interposer's password, in one task
        assert changed == (expected | {"Catalog | The interposer's account"} if name == FIRST else expected), changed
    for content in (host.file(f"{OID}/dc-secret").content_string, local(f"{OID}/dc-secret").read_text()):
        assert content == derived(master_secret, "services") + "\n"
    password = derived(master_password, "account")
    assert host.file(f"{OID}/interposer-password").content_string == password + "\n"
    login(ACCOUNT, password)
    refused = requests.post(
        f"{KEYSTONE}/auth/tokens",
        json={"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": ACCOUNT, "domain": {"id": "default"}, "password": PASSWORD}}}}},
        timeout=30,
    )  # fmt: skip
    assert refused.status_code == 401
