"""Adding a DC: the lab grows a fourth DC, `site.yml` runs again, and every
DC's catalog knows it, without restarting what the change does not concern.
Runs after every other module of tests/overlay but the removal (conftest.py orders
them): it changes the lab."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.federation import call, site, token
from tests.support.lab import oid_lab, started_at

pytestmark = pytest.mark.lab


def test_a_fourth_dc_is_federated_by_a_rerun(federation):
    berlin = federation["dcs"]["Berlin"]
    untouched = ["oidlab_berlin_oid_interposer", "oidlab_berlin_keystone", "oidlab_berlin_nova_compute"]
    before = {name: started_at(name) for name in untouched}
    grown = oid_lab("up", "--dcs", "Berlin,Denver,Paris,Tokyo")
    assert grown.returncode == 0, grown.stdout[-4000:] + grown.stderr[-2000:]
    again = site()
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    # Berlin's interposer re-read the catalog (SIGHUP) instead of restarting.
    assert {name: started_at(name) for name in untouched} == before
    answer = call("GET", berlin, "/compute/v2.1/servers", token(berlin), "{nova: Berlin&Tokyo}")
    assert answer.status_code == 200, answer.text
    tokyo = "http://10.252.4.10:8790"
    assert requests.get(f"{tokyo}/healthz", timeout=10).json()["location"] == "Tokyo"
    # Tokyo's filters accept a Berlin token: Berlin's Keystone has Tokyo's account.
    answer = requests.get(
        f"{tokyo}/compute/v2.1/servers",
        headers={"X-Auth-Token": token(berlin), "X-Scope": "{keystone: Berlin, nova: Tokyo}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    refused = call("GET", berlin, "/compute/v2.1/servers", token(berlin), "{nova: Atlantis}")
    assert refused.status_code == 400 and "Tokyo" in json.dumps(refused.json())
