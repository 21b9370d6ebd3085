"""Verify of the scenario oid_kolla: what the role wrote for Berlin, what the real
kolla-ansible rendered from it, and when the role runs kolla-ansible again.
Files are read with testinfra's host; the re-runs are site.yml's kolla play
(converge.yml) with one input changed."""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path

import pytest
import yaml

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge as run_converge  # noqa: E402

HOST = "oidmolkolla-berlin"
ETC = "/var/lib/oidmolkolla/etc/kolla"
RENDERED = "/var/lib/oidmolkolla/rendered"
KOLLA_RUN = "Kolla | kolla-ansible genconfig"
GLOBALS = {  # the scenario's oid_kolla_globals (inventory/host_vars)
    "kolla_base_distro": "rocky",
    "neutron_external_interface": "lo",
    "enable_haproxy": False,
    "enable_fluentd": False,
    "enable_keystone": True,
}


def converge(**extra_vars) -> dict[str, dict]:
    """Re-run site.yml's kolla play for Berlin; {task name: its result}."""
    return run_converge(extra_vars=extra_vars)[HOST]


def ran(tasks: dict[str, dict]) -> bool:
    outcome = tasks[KOLLA_RUN]
    return not outcome.get("skipped") and outcome.get("rc") == 0


def keystone_conf(host) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(host.file(f"{RENDERED}/keystone/keystone.conf").content_string)
    return parser


def test_globals_yml_is_the_operators_with_what_kolla_shares_with_the_inventory(host):
    written = host.file(f"{ETC}/globals.yml")
    assert written.mode == 0o640
    assert yaml.safe_load(written.content_string) == {
        **GLOBALS,
        "openstack_region_name": "Berlin",
        "kolla_internal_vip_address": "127.0.0.1",
        "network_interface": "lo",
        "node_config_directory": RENDERED,
    }


def test_passwords_yml_is_private_set_from_the_vault_and_complete(host):
    written = host.file(f"{ETC}/passwords.yml")
    assert written.mode == 0o600
    passwords = yaml.safe_load(written.content_string)
    assert passwords["keystone_admin_password"] == "oidmolkolla-admin"
    # kolla-genpwd filled in every other secret Kolla needs.
    assert passwords["keystone_database_password"] and passwords["database_password"]


def test_the_dcs_kolla_inventory_puts_the_host_in_kollas_groups(host):
    inventory = host.file(f"{ETC}/oid-kolla-inventory").content_string
    sections = {}
    for line in inventory.splitlines():
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        elif line.strip() and not line.startswith("#"):
            current.append(line.split()[0])
    for group in ("control", "network", "compute", "storage", "monitoring", "deployment"):
        assert HOST in sections[group], f"{HOST} not in [{group}]"
    # Kolla's own service groups, as its shipped multinode defines them.
    assert sections.get("keystone:children") == ["control"], "Kolla's service groups are missing"


def test_kolla_rendered_keystone_from_these_inputs(host):
    """genconfig's keystone.conf carries the database secret of passwords.yml and the
    internal VIP of globals.yml: Kolla read what the role wrote."""
    passwords = yaml.safe_load(host.file(f"{ETC}/passwords.yml").content_string)
    connection = keystone_conf(host).get("database", "connection")
    assert passwords["keystone_database_password"] in connection
    assert host.file(f"{RENDERED}/keystone/config.json").exists


def test_an_unchanged_converge_does_not_run_kolla_ansible(host):
    stamp = host.file(f"{ETC}/.oid-kolla-applied.yml").content_string
    tasks = converge()
    assert tasks[KOLLA_RUN].get("skipped"), "kolla-ansible ran with unchanged inputs"
    assert [name for name, outcome in tasks.items() if outcome.get("changed")] == []
    assert host.file(f"{ETC}/.oid-kolla-applied.yml").content_string == stamp


@pytest.fixture
def restore():
    """Berlin's inputs back as the scenario sets them (kolla-ansible renders them again)."""
    yield
    assert ran(converge())


def test_a_changed_global_runs_kolla_ansible_and_kolla_applies_it(host, restore):
    before = yaml.safe_load(host.file(f"{ETC}/.oid-kolla-applied.yml").content_string)["genconfig"]
    tasks = converge(oid_kolla_globals={**GLOBALS, "openstack_logging_debug": "True"})
    assert ran(tasks)
    assert tasks["Kolla | globals.yml"]["changed"]
    assert keystone_conf(host).get("DEFAULT", "debug") == "True"
    after = yaml.safe_load(host.file(f"{ETC}/.oid-kolla-applied.yml").content_string)["genconfig"]
    assert after != before, "the stamp keeps the digest of the inputs of the last successful run"


def test_a_changed_overlay_file_runs_kolla_ansible(host, restore):
    """globals.d/oid-*.yml (written by oid_catalog and oid_paste) are Kolla's inputs too."""
    path = f"{ETC}/globals.d/oid-endpoints.yml"
    original = host.file(path).content_string
    try:
        assert host.run(f"echo 'nova_api_extra_volumes: []' >> {path}").rc == 0
        assert ran(converge())
    finally:
        assert host.run(f"printf '%s' {shlex.quote(original)} > {path}").rc == 0
