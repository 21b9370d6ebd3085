"""The lab after site.yml (molecule verify, testinfra): each DC's files and
interposer, then the federation through Berlin's interposer with the plain
HTTP API and X-Scope. tests/overlay goes further (a cross-DC boot, a fourth DC).

`host` is each DC's control host of inventories/lab (a local connection: the
lab's DCs are containers on this machine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
import yaml

from oid.lab import inventory

HOSTS = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "inventories" / "lab" / "hosts.yml"
DCS = {dc.key: dc for dc in inventory.read(HOSTS)}
NAMES = sorted(dc.name for dc in DCS.values())
ADMIN = {"name": "admin", "domain": {"name": "Default"}, "password": "oid-lab-admin"}  # inventories/lab/group_vars


def dc_of(host) -> inventory.DC:
    return DCS[host.backend.get_hostname().removesuffix("-control")]


def interposer(dc: inventory.DC) -> str:
    return f"http://{dc.address}:8790"


def auth_body() -> dict:
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": ADMIN}}, "scope": scope}}


@pytest.fixture(scope="module")
def berlin() -> inventory.DC:
    return DCS["berlin"]


@pytest.fixture(scope="module")
def berlin_token(berlin) -> requests.Response:
    answer = requests.post(f"{berlin.endpoint('identity')}/auth/tokens", json=auth_body(), timeout=30)
    assert answer.status_code == 201, answer.text
    return answer


def test_each_dc_runs_its_interposer_healthy(host):
    dc = dc_of(host)
    container = host.docker(f"oidlab_{dc.key}_oid_interposer")
    assert container.is_running
    assert container.inspect()["State"]["Health"]["Status"] == "healthy"
    health = requests.get(f"{interposer(dc)}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["location"] == dc.name


def test_each_dc_has_the_overlay_s_files(host):
    dc = dc_of(host)
    kolla = f"/var/lib/oid-lab/{dc.key}/etc/kolla"
    catalog = host.file(f"{kolla}/oid/catalog.yml")
    assert catalog.mode == 0o644
    assert sorted(yaml.safe_load(catalog.content_string)["locations"]) == NAMES
    endpoints = yaml.safe_load(host.file(f"{kolla}/globals.d/oid-endpoints.yml").content_string)
    assert endpoints["nova_internal_endpoint"] == f"{interposer(dc)}/compute/v2.1"
    assert endpoints["glance_internal_endpoint"] == f"{interposer(dc)}/image"
    interposer_config = yaml.safe_load(host.file(f"{kolla}/oid-interposer/interposer.yml").content_string)
    assert interposer_config["location"] == dc.name


def test_dcs_trust_each_other_by_certificate_and_have_no_account_elsewhere(host):
    """Mutual TLS between the interposers (roles/oid_trust), and in each DC's Keystone
    one oid account: its own interposer's (docs/identity.md)."""
    dc = dc_of(host)
    kolla = f"/var/lib/oid-lab/{dc.key}/etc/kolla"
    config = yaml.safe_load(host.file(f"{kolla}/oid-interposer/interposer.yml").content_string)
    assert config["peer_listen"]["port"] == 8791 and config["tls"]["key_file"] == "/etc/oid/tls/dc.key"
    catalog = yaml.safe_load(host.file(f"{kolla}/oid/catalog.yml").content_string)
    assert catalog["locations"][dc.name]["peer"] == f"https://10.252.{dc.index}.10:8791"
    token = requests.post(f"{interposer(dc)}/identity/v3/auth/tokens", json=auth_body(), timeout=30)
    assert token.status_code == 201, token.text
    users = requests.get(
        f"{interposer(dc)}/identity/v3/users",
        headers={"X-Auth-Token": token.headers["X-Subject-Token"]},
        timeout=30,
    ).json()["users"]
    assert sorted(u["name"] for u in users if (u.get("description") or "").startswith("oid: ")) == ["oid-interposer"]


def test_berlin_s_keystone_registers_its_interposer(berlin_token, berlin):
    catalog = {entry["type"]: entry["endpoints"] for entry in berlin_token.json()["token"]["catalog"]}
    internal = {e["url"] for e in catalog["compute"] if e["interface"] == "internal"}
    assert internal == {f"{interposer(berlin)}/compute/v2.1"}


def test_berlin_s_interposer_knows_every_dc(berlin):
    answer = requests.get(f"{interposer(berlin)}/oid/v1/scope", headers={"X-Scope": "{nova: *}"}, timeout=10)
    assert answer.json()["locations"] == NAMES
    assert answer.json()["scope"]["compute"] == "&".join(NAMES)


def test_a_berlin_token_lists_the_flavors_of_every_dc(berlin, berlin_token):
    # Every other DC's nova-api validates Berlin's token at Berlin's Keystone, through
    # its interposer and Berlin's (mutual TLS): no DC has an account at another's Keystone.
    headers = {"X-Auth-Token": berlin_token.headers["X-Subject-Token"], "X-Scope": "{nova: *}"}
    answer = requests.get(f"{interposer(berlin)}/compute/v2.1/flavors", headers=headers, timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Oid-Outcomes"] == ",".join(f"{name}=ok" for name in NAMES)
    assert {flavor["oid_location"] for flavor in answer.json()["flavors"]} == set(NAMES)


def test_a_denver_token_is_used_in_berlin_with_its_scope(berlin):
    issued = requests.post(
        f"{interposer(berlin)}/identity/v3/auth/tokens", json=auth_body(), headers={"X-Scope": "{keystone: Denver}"},
        timeout=30,
    )  # fmt: skip
    assert issued.status_code == 201 and issued.headers["X-Oid-Location"] == "Denver"
    denver_token = issued.headers["X-Subject-Token"]
    servers = f"{interposer(berlin)}/compute/v2.1/servers"
    assert requests.get(servers, headers={"X-Auth-Token": denver_token}, timeout=60).status_code == 401
    scoped = {"X-Auth-Token": denver_token, "X-Scope": "{keystone: Denver, nova: Berlin}"}
    assert requests.get(servers, headers=scoped, timeout=60).status_code == 200
