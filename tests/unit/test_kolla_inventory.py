"""roles/oid_kolla's filters: one DC's Kolla inventory from the federation's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

TOP = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    "kolla_inventory", TOP / "roles" / "oid_kolla" / "filter_plugins" / "kolla_inventory.py"
)
kolla_inventory = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(kolla_inventory)

# The shape of kolla-ansible's ansible/inventory/multinode: host groups first, then service groups.
SHIPPED = """\
# These initial groups are the only groups required to be modified.
[control]
control01
control02

[network]
network01

[compute]
compute01

[deployment]
localhost       ansible_connection=local

[baremetal:children]
control
network
compute

# comment kept out
[nova-api:children]
control

[nova-compute:children]
compute
"""


def parsed(text: str, tmp_path: Path) -> InventoryManager:
    path = tmp_path / "inventory"
    path.write_text(text)
    return InventoryManager(loader=DataLoader(), sources=[str(path)])


def test_the_dcs_hosts_replace_kollas_examples(tmp_path):
    members = {"control": ["ber-ctl"], "network": ["ber-ctl"], "compute": ["ber-cmp1", "ber-cmp2"], "deployment": []}
    text = kolla_inventory.oid_kolla_inventory(SHIPPED, members, {"ber-ctl": {"ansible_host": "192.0.2.11"}})
    inventory = parsed(text, tmp_path)
    assert [h.name for h in inventory.groups["nova-api"].get_hosts()] == ["ber-ctl"]
    assert [h.name for h in inventory.groups["nova-compute"].get_hosts()] == ["ber-cmp1", "ber-cmp2"]
    assert "control01" not in text and "localhost" not in text
    assert inventory.get_host("ber-ctl").vars["ansible_host"] == "192.0.2.11"


def test_host_variables_survive_spaces_and_types(tmp_path):
    variables = {"ber-ctl": {"ansible_ssh_private_key_file": "/keys/my key", "ansible_port": 2222}}
    text = kolla_inventory.oid_kolla_inventory(SHIPPED, {"control": ["ber-ctl"]}, variables)
    host = parsed(text, tmp_path).get_host("ber-ctl")
    assert host.vars["ansible_ssh_private_key_file"] == "/keys/my key"
    assert host.vars["ansible_port"] == 2222


def test_a_group_kolla_does_not_have_is_refused():
    with pytest.raises(AnsibleFilterError, match="no group storage"):
        kolla_inventory.oid_kolla_inventory(SHIPPED, {"control": ["a"], "storage": ["a"]}, {})


def test_members_come_from_the_dcs_prefixed_groups():
    groups = {"berlin_control": ["b1"], "berlin_compute": ["b2"], "paris_control": ["p1"]}
    members = kolla_inventory.oid_kolla_members(groups, "berlin_", ["control", "compute", "storage"])
    assert members == {"control": ["b1"], "compute": ["b2"], "storage": []}


def test_disagreeing_shared_globals():
    shared = {"openstack_region_name": "Berlin", "network_interface": "eno1", "kolla_internal_vip_address": ""}
    chosen = {"openstack_region_name": "Berlin", "network_interface": "eth9", "kolla_internal_vip_address": "x"}
    assert kolla_inventory.oid_kolla_disagreeing(shared, chosen) == ["network_interface"]
