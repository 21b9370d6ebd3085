"""Two real Keystones (Berlin, Denver) with oid's service accounts, and the
files the overlay would place on Berlin's API hosts (catalog, secret, accounts)."""

from __future__ import annotations

import pytest
import yaml

from tests.support import keystone as ks
from tests.support.identity import SECRET, SERVICE_PASSWORD, service_account


@pytest.fixture(scope="session")
def dcs(tmp_path_factory):
    if ks.available() is not None:
        pytest.skip(ks.available())
    workdir = tmp_path_factory.mktemp("paste")
    started = {}
    try:
        for name in ("Berlin", "Denver"):
            started[name] = ks.Keystone(workdir, name).start()
        service_account(started["Berlin"], "oid-berlin")  # Berlin's own services at Berlin
        service_account(started["Denver"], "oid-berlin")  # Berlin's account at Denver
        services = ["keystone", "nova", "glance", "neutron"]
        catalog = {
            "locations": {
                "Berlin": {"interposer": "http://10.0.1.10:8790", "services": services},
                "Denver": {"interposer": "http://10.0.2.10:8790", "services": services},
                "Paris": {"interposer": "http://10.0.3.10:8790", "services": services},
            }
        }
        (workdir / "catalog.yml").write_text(yaml.safe_dump(catalog))
        (workdir / "secret").write_text(SECRET)
        # Paris is in the catalog but Berlin has no account there: its tokens are refused.
        accounts = {
            "Denver": {
                "auth_url": f"{started['Denver'].url}/v3",
                "username": "oid-berlin",
                "password": SERVICE_PASSWORD,
            }
        }
        (workdir / "keystones.yml").write_text(yaml.safe_dump(accounts))
        yield workdir, started
    finally:
        for keystone in started.values():
            keystone.stop()
