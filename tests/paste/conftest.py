"""Two real Keystones (Berlin, Denver), each with its own DC's account only, and
their DCs' interposers (mutual TLS) through which the filters validate the other
Keystone's tokens; the files the overlay would place on the API hosts are the
interposers' catalog and each DC's own secret (tests/support/relay.py)."""

from __future__ import annotations

import pytest

from tests.support import keystone as ks
from tests.support.relay import Relay, RelayThread, own_accounts


@pytest.fixture(scope="session")
def dcs(tmp_path_factory):
    if ks.available() is not None:
        pytest.skip(ks.available())
    workdir = tmp_path_factory.mktemp("paste")
    started = {}
    try:
        for name in ("Berlin", "Denver"):
            started[name] = ks.Keystone(workdir, name).start()
        own_accounts(started)
        yield workdir, started
    finally:
        for keystone in started.values():
            keystone.stop()


@pytest.fixture(scope="session")
def interposers(dcs, tmp_path_factory):
    """Berlin's and Denver's interposers, for the synchronous tests of this suite."""
    with RelayThread(Relay(tmp_path_factory.mktemp("interposers"), dcs[1])) as relay:
        yield relay
