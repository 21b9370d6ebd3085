"""Two real Keystones (Berlin, Denver), each behind a real interposer on loopback:
the smallest federation in which a token's Keystone is chosen by the scope.
Fixtures, imported by the conftest.py of the suites that use them."""

from __future__ import annotations

import pytest
import yaml

from oid.interposer.app import build_app
from oid.interposer.config import Routes, Settings
from oid.scope import Catalog
from tests.support import keystone as ks
from tests.support.pki import LoopbackPeers, serve


@pytest.fixture(scope="module")
def keystones(tmp_path_factory):
    if ks.available() is not None:
        pytest.skip(str(ks.available()))
    workdir = tmp_path_factory.mktemp("keystones")
    ports = {name: ks.free_port() for name in ("Berlin", "Denver")}
    started = {}
    try:
        for name, port in ports.items():
            # Each Keystone's catalog registers its own DC's interposer, as the overlay does.
            started[name] = ks.Keystone(workdir, name, public_url=f"http://127.0.0.1:{port}/identity").start()
            started[name].interposer_port = port
        yield started
    finally:
        for keystone in started.values():
            keystone.stop()


@pytest.fixture
async def interposers(keystones, tmp_path):
    # Each DC offers the usual services (a scope may name them, as the proof of
    # concept's clients always do); only Keystone runs here. The interposers
    # know each other by their certificates (mutual TLS on their peer ports).
    services = {"compute": None, "image": None, "network": None, "placement": None}
    peers = LoopbackPeers(tmp_path / "pki", keystones)
    catalog = {
        "locations": {
            name: {
                "interposer": f"http://127.0.0.1:{k.interposer_port}",
                "peer": peers.url(name),
                "services": {**services, "identity": k.url},
            }
            for name, k in keystones.items()
        }
    }
    catalog_file = tmp_path / "catalog.yml"
    catalog_file.write_text(yaml.safe_dump(catalog))
    apps, runners = {}, []
    for name, keystone in keystones.items():
        settings = Settings(
            name,
            str(catalog_file),
            host="127.0.0.1",
            port=keystone.interposer_port,
            federation_secret=f"{name}-own-secret-0123456789",
            peer_tls=peers.tls[name],
        )
        apps[name] = build_app(settings, Routes(Catalog.from_file(str(catalog_file)), name))
        runners.append(await serve(apps[name], settings))
    yield apps
    for runner in runners:
        await runner.cleanup()
