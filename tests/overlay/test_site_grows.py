"""Adding a DC: the lab grows a fourth DC, `site.yml` runs again, and every
DC's catalog knows it, without restarting any OpenStack service of the others
(their filters and interposers re-read the catalog by themselves).
Runs after every other module of tests/overlay but the removal (conftest.py orders
them): it changes the lab."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.federation import ADMIN_PASSWORD, call, site, token
from tests.support.lab import oid_lab, started_at

pytestmark = pytest.mark.lab


def test_a_fourth_dc_is_federated_by_a_rerun(federation):
    berlin = federation["dcs"]["Berlin"]
    untouched = [
        f"oidlab_{dc}_{service}"
        for dc in ("berlin", "denver")
        for service in (
            "oid_interposer",
            "keystone",
            "nova_api",
            "glance_api",
            "neutron_server",
            "nova_compute",
            "cinder_api",
            "cinder_volume",
        )
    ]
    before = {name: started_at(name) for name in untouched}
    grown = oid_lab("up", "--dcs", "Berlin,Denver,Paris,Tokyo")
    assert grown.returncode == 0, grown.stdout[-4000:] + grown.stderr[-2000:]
    again = site()
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    # The interposers re-read the catalog (SIGHUP), the filters by themselves: no restart.
    assert {name: started_at(name) for name in untouched} == before
    answer = call("GET", berlin, "/compute/v2.1/servers", token(berlin), "{nova: Berlin&Tokyo}")
    assert answer.status_code == 200, answer.text
    tokyo = "http://10.252.4.10:8790"
    assert requests.get(f"{tokyo}/healthz", timeout=10).json()["location"] == "Tokyo"
    # Tokyo's filters accept a Berlin token: validated at Berlin's Keystone through
    # Tokyo's and Berlin's interposers (mutual TLS), with no account of Tokyo there.
    answer = requests.get(
        f"{tokyo}/compute/v2.1/servers",
        headers={"X-Auth-Token": token(berlin), "X-Scope": "{keystone: Berlin, nova: Tokyo}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    # Berlin's running nova-api accepts a token of Tokyo's Keystone: its filters
    # read the new catalog without a restart.
    answer = call("GET", berlin, "/compute/v2.1/servers", tokyo_token(tokyo), "{keystone: Tokyo, nova: Berlin}")
    assert answer.status_code == 200, answer.text
    refused = call("GET", berlin, "/compute/v2.1/servers", token(berlin), "{nova: Atlantis}")
    assert refused.status_code == 400 and "Tokyo" in json.dumps(refused.json())
    # Adding Tokyo made no account anywhere: each Keystone has its own interposer's, no more.
    for interposer in ("http://10.252.1.10:8790", tokyo):
        assert oid_accounts(interposer) == ["oid-interposer"], interposer


def tokyo_token(tokyo: str) -> str:
    """A token of the admin of the Keystone behind an interposer (Tokyo is not in the fixture's DCs)."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}},
            },
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }
    answer = requests.post(f"{tokyo}/identity/v3/auth/tokens", json=body, timeout=60)
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"]


def oid_accounts(interposer: str) -> list[str]:
    """The users oid made in a DC's Keystone (their description starts with "oid: ")."""
    admin = {"X-Auth-Token": tokyo_token(interposer)}
    users = requests.get(f"{interposer}/identity/v3/users", headers=admin, timeout=60).json()["users"]
    return sorted(user["name"] for user in users if (user.get("description") or "").startswith("oid: "))
