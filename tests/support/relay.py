"""DCs' interposers on loopback, as the overlay runs them for token validation:
mutual TLS between them, each with its own secret (the one its DC's API
services hold) and its own account at its own Keystone only
(oid/interposer/validation.py, docs/identity.md). A token of another DC's
Keystone is validated there, through this DC's interposer and that DC's.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import yaml

from oid.interposer.app import build_app
from oid.interposer.config import Routes, Settings
from tests.support import keystone as ks
from tests.support.identity import SERVICE_PASSWORD, own_secret, service_account
from tests.support.pki import LoopbackPeers, serve


def account_name(name: str) -> str:
    return f"oid-{name.lower()}"


def own_accounts(keystones) -> None:
    """Each DC's interposer account at its own Keystone, as oid_catalog makes it."""
    for name, keystone in keystones.items():
        service_account(keystone, account_name(name))


def own_account(name: str, keystone) -> dict:
    """The interposer's ``keystone_account`` setting for that account."""
    return {
        "auth_url": f"{keystone.url}/v3",
        "username": account_name(name),
        "password": SERVICE_PASSWORD,
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }


class Relay:
    """The interposers of the DCs of ``keystones`` ({name: tests.support.keystone.Keystone}),
    each in front of its DC's Keystone; their catalog is ``catalog_file``.
    Their accounts are made by ``own_accounts`` beforehand."""

    def __init__(self, workdir: Path, keystones):
        self.workdir = workdir
        self.keystones = keystones
        self.tls = LoopbackPeers(workdir / "pki", keystones).tls
        self.ports = {name: ks.free_port() for name in keystones}
        self.peer_ports = {name: tls.port for name, tls in self.tls.items()}
        self.runners, self.apps = [], {}
        self.catalog_file = workdir / "catalog.yml"
        self.catalog_file.write_text(yaml.safe_dump(self.catalog()))

    def catalog(self) -> dict:
        services = {"compute": None, "image": None, "network": None, "placement": None}
        return {
            "locations": {
                name: {
                    "interposer": self.url(name),
                    "peer": f"https://127.0.0.1:{self.peer_ports[name]}",
                    "services": {**services, "identity": keystone.url},
                }
                for name, keystone in self.keystones.items()
            }
        }

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def secret_file(self, name: str) -> Path:
        """The DC's secret as its API services' filters read it."""
        path = self.workdir / f"{name.lower()}-secret"
        path.write_text(own_secret(name))
        return path

    def settings(self, name: str, **overrides) -> Settings:
        return Settings(
            location=name,
            catalog_file=str(self.catalog_file),
            host="127.0.0.1",
            port=self.ports[name],
            federation_secret=own_secret(name),
            peer_tls=self.tls[name],
            keystone_account=own_account(name, self.keystones[name]),
            **overrides,
        )

    async def start(self, **overrides) -> Relay:
        for name in self.keystones:
            settings = self.settings(name, **overrides)
            self.apps[name] = build_app(settings, Routes.load(settings))
            self.runners.append(await serve(self.apps[name], settings))
        return self

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        self.runners = []


class RelayThread:
    """A Relay on an event loop of its own, in a thread: for synchronous tests
    (WSGI pipelines called directly, services in subprocesses)."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="oid-relay", daemon=True)

    def __enter__(self) -> Relay:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.relay.start(), self.loop).result(timeout=60)
        return self.relay

    def __exit__(self, *exc) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.relay.stop(), self.loop).result(timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()
