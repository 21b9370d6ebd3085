"""Mutual TLS between interposers (oid/interposer/trust.py), on loopback: three
real interposers, each with its plain port and its peer port, a CA made here,
a certificate per DC, and each DC's own secret for its own services (no
secret common to DCs). Every refusal below is of something a hostile peer,
or a client posing as one, would try."""

from __future__ import annotations

import dataclasses
import datetime
import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from yarl import URL

from oid.entry import AUTH_HEADER, HOP_HEADER, ORIGIN_HEADER
from oid.interposer.app import INTERPOSER, build_app
from oid.interposer.config import ConfigError, Routes, Settings, load_settings
from oid.scope import Catalog
from tests.interposer.conftest import LOCATIONS, TOKEN, Backend, free_port
from tests.support.pki import NOW, Authority, LoopbackPeers, serve, tls_files

DAY = datetime.timedelta(days=1)
SERVERS = "/compute/v2.1/servers"


class TlsFederation:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.peers = LoopbackPeers(tmp_path / "pki", LOCATIONS)
        self.ca, self.tls = self.peers.ca, self.peers.tls
        self.secrets = {name: f"{name}-own-secret-0123456789" for name in LOCATIONS}
        self.backends = {name: Backend(name, port=free_port()) for name in LOCATIONS}
        self.ports = {name: free_port() for name in LOCATIONS}
        self.peer_ports = {name: tls.port for name, tls in self.tls.items()}
        self.catalog_file = tmp_path / "catalog.yml"
        self.runners = []
        self.apps = {}
        self.crl_file = None  # the CA's revocation list, for every interposer
        self.write_catalog()

    def write_catalog(self, peer_of=None):
        """``peer_of``: {location: the location whose peer port its 'peer' URL names}."""
        peer_of = peer_of or {}
        locations = {
            name: {
                "interposer": f"http://127.0.0.1:{self.ports[name]}",
                "peer": f"https://127.0.0.1:{self.peer_ports[peer_of.get(name, name)]}",
                "services": {"compute": self.backends[name].url, "image": self.backends[name].url, "identity": None},
            }
            for name in LOCATIONS
        }
        self.catalog_file.write_text(yaml.safe_dump({"locations": locations}))

    def settings(self, name) -> Settings:
        tls = dataclasses.replace(self.tls[name], host="127.0.0.1", port=self.peer_ports[name], crl_file=self.crl_file)
        return Settings(
            location=name,
            catalog_file=str(self.catalog_file),
            host="127.0.0.1",
            port=self.ports[name],
            federation_secret=self.secrets[name],
            peer_tls=tls,
            connect_timeout=1.0,
            read_timeout=5.0,
            backoff_initial=30.0,
        )

    async def start(self):
        for backend in self.backends.values():
            runner = web.AppRunner(backend.app())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", backend.port).start()
            self.runners.append(runner)
        for name in LOCATIONS:
            settings = self.settings(name)
            self.apps[name] = build_app(settings, Routes.load(settings))
            self.runners.append(await serve(self.apps[name], settings))  # the interposer's own listeners

    async def stop(self):
        for runner in reversed(self.runners):
            await runner.cleanup()


@pytest.fixture
async def fed(tmp_path):
    federation = TlsFederation(tmp_path)
    await federation.start()
    yield federation
    await federation.stop()


@pytest.fixture
async def revoking_fed(tmp_path):
    """A TlsFederation whose CA revoked a former certificate of Berlin (its key
    leaked, a new one was made): every interposer reads the CA's CRL."""
    federation = TlsFederation(tmp_path)
    federation.revoked = federation.ca.issue(tmp_path / "former", "Berlin")
    federation.crl_file = str(federation.ca.revocation_list(tmp_path / "crl.pem", [federation.revoked]))
    await federation.start()
    yield federation
    await federation.stop()


async def send(url, *, tls=None, server_hostname=None, headers=None, scope=None, method="GET"):
    """One request, as a client (``tls`` None) or as a peer presenting ``tls``'s certificate."""
    headers = {"X-Auth-Token": TOKEN, **(headers or {})}
    if scope is not None:
        headers["X-Scope"] = scope
    context = tls.client_context() if tls is not None else None
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method, URL(url, encoded=True), headers=headers, ssl=context or True, server_hostname=server_hostname
        ) as response:
            body = await response.read()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            return response.status, body


def peer_url(fed, name, path=SERVERS):
    return f"https://127.0.0.1:{fed.peer_ports[name]}{path}"


def last_seen(backend):
    return backend.seen[-1]["headers"] if backend.seen else None


async def test_and_across_dcs_goes_over_mutual_tls_and_no_secret_leaves_its_dc(fed):
    status, body = await send(f"http://127.0.0.1:{fed.ports['Berlin']}{SERVERS}", scope="{nova: Berlin&Denver}")
    assert status == 200, body
    assert {server["oid_location"] for server in body["servers"]} == {"Berlin", "Denver"}
    denver = last_seen(fed.backends["Denver"])
    # Denver's service hears from Denver's interposer: Denver's own secret, and the
    # origin its peer's certificate named; Berlin's secret never crossed the WAN.
    assert denver[AUTH_HEADER] == fed.secrets["Denver"]
    assert denver[ORIGIN_HEADER] == "Berlin"
    assert fed.secrets["Berlin"] not in json.dumps(fed.backends["Denver"].seen)


async def test_a_peer_gets_no_secret_and_no_claim_of_origin(fed):
    """What crosses the WAN, seen by a stand-in for Denver holding Denver's
    certificate: the hop count, and neither Berlin's secret nor an origin
    header (Denver knows Berlin by its certificate)."""
    seen = []

    async def servers(request):
        seen.append(dict(request.headers))
        return web.json_response({"servers": []})

    app = web.Application()
    app.router.add_get(SERVERS, servers)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=fed.tls["Denver"].server_context()).start()
    fed.peer_ports["Denver"] = port
    fed.write_catalog()
    await fed.apps["Berlin"][INTERPOSER].reload()
    try:
        status, body = await send(f"http://127.0.0.1:{fed.ports['Berlin']}{SERVERS}", scope="{nova: Denver}")
    finally:
        await runner.cleanup()
    assert status == 200, body
    assert seen[0][HOP_HEADER] == "1"
    assert AUTH_HEADER not in seen[0] and ORIGIN_HEADER not in seen[0], seen[0]


async def test_a_peer_is_the_location_its_certificate_names(fed):
    """Paris, with its own certificate, at Denver's peer port: a peer, known as Paris."""
    status, body = await send(
        peer_url(fed, "Denver"), tls=fed.tls["Paris"], server_hostname="denver", scope='{"compute":"Denver"}'
    )
    assert status == 200, body
    assert last_seen(fed.backends["Denver"])[ORIGIN_HEADER] == "Paris"


async def test_a_certificate_claiming_another_dcs_origin_is_refused(fed):
    status, body = await send(
        peer_url(fed, "Denver"),
        tls=fed.tls["Paris"],
        server_hostname="denver",
        headers={ORIGIN_HEADER: "Berlin"},
        scope='{"compute":"Denver"}',
    )
    assert status == 403
    assert "its certificate names Paris" in body["error"]["message"]
    assert "'Berlin'" in body["error"]["message"]
    assert not fed.backends["Denver"].seen


def refusals(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "oid.interposer.trust"]


async def test_a_forged_certificate_is_refused(fed, tmp_path, caplog):
    """A certificate naming Berlin, signed by a CA that is not the federation's:
    the handshake fails (a peer that is refused learns nothing), and the refusing
    interposer logs why."""
    forger = Authority.create(tmp_path / "forged", name="not the federation")
    forged = dataclasses.replace(forger.issue(tmp_path / "forged", "Berlin"), ca_file=str(fed.ca.ca_file))
    with pytest.raises(aiohttp.ClientConnectorError):
        await send(peer_url(fed, "Denver"), tls=forged, server_hostname="denver", scope='{"compute":"Denver"}')
    assert refusals(caplog) == ["peer refused: its certificate: unable to get local issuer certificate"]
    assert not fed.backends["Denver"].seen


async def test_an_expired_certificate_is_refused(fed, tmp_path, caplog):
    expired = fed.ca.issue(tmp_path / "expired", "Berlin", not_before=NOW - 20 * DAY, not_after=NOW - DAY)
    with pytest.raises(aiohttp.ClientConnectorError):
        await send(peer_url(fed, "Denver"), tls=expired, server_hostname="denver", scope='{"compute":"Denver"}')
    assert refusals(caplog) == ["peer refused: its certificate: certificate has expired"]
    assert not fed.backends["Denver"].seen


async def test_a_revoked_certificate_is_refused(revoking_fed, caplog):
    """Berlin's former certificate, which the CA revoked, is refused by the peer
    port with the reason; its new one goes through."""
    fed = revoking_fed
    with pytest.raises(aiohttp.ClientConnectorError):
        await send(peer_url(fed, "Denver"), tls=fed.revoked, server_hostname="denver", scope='{"compute":"Denver"}')
    assert refusals(caplog) == ["peer refused: its certificate: certificate revoked"]
    assert not fed.backends["Denver"].seen
    current = dataclasses.replace(fed.tls["Berlin"], crl_file=fed.crl_file)
    status, body = await send(
        peer_url(fed, "Denver"), tls=current, server_hostname="denver", scope='{"compute":"Denver"}'
    )
    assert status == 200, body
    assert last_seen(fed.backends["Denver"])[ORIGIN_HEADER] == "Berlin"


def test_a_peer_answering_with_a_revoked_certificate_is_refused(tmp_path):
    """The CRL checks the answering side too: an interposer whose own certificate
    is revoked fails the handshake it makes with itself (which is how it finds
    out at start, below), on the side that checks the server's certificate first."""
    peers = LoopbackPeers(tmp_path / "pki", ["Berlin"])
    crl = peers.ca.revocation_list(tmp_path / "crl.pem", [peers.tls["Berlin"]])
    revoked = dataclasses.replace(peers.tls["Berlin"], crl_file=str(crl))
    with pytest.raises(ValueError, match="refused by itself: its certificate: certificate revoked"):
        revoked.check_own_certificate("Berlin")
    dataclasses.replace(peers.tls["Berlin"]).check_own_certificate("Berlin")  # without the CRL: accepted


async def test_no_certificate_at_the_peer_port_is_refused(fed, caplog):
    """TLS without a client certificate, then plain HTTP: neither gets in."""
    context = ssl.create_default_context(cafile=str(fed.ca.ca_file))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):  # TLS 1.3: the refusal comes after the request
            async with session.get(peer_url(fed, "Denver"), ssl=context, server_hostname="denver") as response:
                await response.read()
    with pytest.raises(aiohttp.ClientError):
        await send(f"http://127.0.0.1:{fed.peer_ports['Denver']}{SERVERS}")
    # (aiohttp's client tries a GET again once on a connection closed at once)
    assert set(refusals(caplog)) == {
        "peer refused: TLS: PEER_DID_NOT_RETURN_A_CERTIFICATE",
        "peer refused: TLS: HTTP_REQUEST",  # plain HTTP where TLS was due
    }
    assert not fed.backends["Denver"].seen


async def test_a_plain_http_peer_is_a_client(fed):
    """At the plain port, even Denver's own secret and a claimed origin make no peer:
    the scope is normalized as a client's, the origin is Denver, the hop count 1."""
    headers = {AUTH_HEADER: fed.secrets["Denver"], ORIGIN_HEADER: "Paris", HOP_HEADER: "3"}
    status, body = await send(f"http://127.0.0.1:{fed.ports['Denver']}{SERVERS}", headers=headers)
    assert status == 200, body
    seen = last_seen(fed.backends["Denver"])
    assert seen[ORIGIN_HEADER] == "Denver"
    assert seen[HOP_HEADER] == "1"


async def test_a_certificate_of_no_catalog_location_is_refused(fed, tmp_path):
    """Signed by the federation's CA, naming a DC the catalog no longer has."""
    gone = fed.ca.issue(tmp_path / "gone", "Tokyo")
    status, body = await send(peer_url(fed, "Denver"), tls=gone, server_hostname="denver")
    assert status == 403
    assert "names no single location of the catalog" in body["error"]["message"]
    assert not fed.backends["Denver"].seen


async def test_a_peer_answering_with_another_dcs_certificate_is_refused(fed):
    """Berlin's catalog sends Denver's requests to Paris's peer port (a hijacked
    address): Paris's certificate does not name Denver, nothing is sent."""
    fed.write_catalog(peer_of={"Denver": "Paris"})
    await fed.apps["Berlin"][INTERPOSER].reload()
    status, body = await send(f"http://127.0.0.1:{fed.ports['Berlin']}{SERVERS}", scope="{nova: Denver}")
    assert status == 502
    assert "Denver did not answer: its certificate was refused" in body["error"]["message"]
    assert "denver" in body["error"]["message"].lower()
    assert not fed.backends["Paris"].seen


def test_tls_and_peer_listen_go_together(tmp_path, fed_files):
    config = tmp_path / "interposer.yml"
    config.write_text(yaml.safe_dump({**fed_files, "tls": fed_files["tls"], "peer_listen": None}))
    with pytest.raises(ConfigError, match="go together"):
        load_settings(str(config))


def test_a_catalog_without_peer_urls_is_refused_with_tls(tmp_path, fed_files):
    catalog = yaml.safe_load((tmp_path / "catalog.yml").read_text())
    del catalog["locations"]["Denver"]["peer"]
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(catalog))
    config = tmp_path / "interposer.yml"
    config.write_text(yaml.safe_dump(fed_files))
    with pytest.raises(ConfigError, match="'Denver' has no 'peer' URL"):
        Routes.load(load_settings(str(config)))


def test_an_interposer_with_other_dcs_and_no_certificate_does_not_start(tmp_path, fed_files):
    """No shared secret, no other way to be a peer: without 'tls' an interposer
    whose catalog has other DCs refuses to start (and to reload into one)."""
    config = tmp_path / "interposer.yml"
    without_tls = {key: value for key, value in fed_files.items() if key not in ("tls", "peer_listen")}
    config.write_text(yaml.safe_dump(without_tls))
    settings = load_settings(str(config))
    with pytest.raises(ConfigError, match=r"other DCs \(Denver, Paris\) and this interposer has no 'tls'"):
        Routes.load(settings)
    catalog = Routes(Catalog.from_file(settings.catalog_file), "Berlin")
    with pytest.raises(ConfigError, match="mutual TLS only"):
        build_app(settings, catalog)
    checked = subprocess.run(
        [sys.executable, "-m", "oid.cli", "interposer", "check-config", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode != 0 and "mutual TLS only" in checked.stderr, checked.stdout + checked.stderr
    # A catalog of this DC alone has no peers: no certificate needed.
    catalog_data = yaml.safe_load((tmp_path / "catalog.yml").read_text())
    catalog_data["locations"] = {"Berlin": catalog_data["locations"]["Berlin"]}
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(catalog_data))
    assert Routes.load(settings).catalog.names == ["Berlin"]


def test_an_unreadable_key_is_an_error_at_start(tmp_path, fed_files):
    (tmp_path / "pki" / "Berlin.key").write_text("not a key")
    config = tmp_path / "interposer.yml"
    config.write_text(yaml.safe_dump(fed_files))
    with pytest.raises(ConfigError, match="cannot use the TLS files"):
        load_settings(str(config))


def test_a_crl_file_holding_a_certificate_is_an_error_at_start(tmp_path, fed_files):
    """OpenSSL reads certificates and CRLs from the same file: a certificate in
    the CRL file would be trusted as a CA. Only CRLs are accepted there."""
    config = tmp_path / "interposer.yml"
    config.write_text(
        yaml.safe_dump({**fed_files, "tls": {**fed_files["tls"], "crl_file": fed_files["tls"]["cert_file"]}})
    )
    with pytest.raises(ConfigError, match=r"is not a CRL: it holds CERTIFICATE \(only X509 CRL blocks"):
        load_settings(str(config))
    # A CRL followed by a certificate in CRLF lines (which OpenSSL reads all the same).
    federation = TlsFederation(tmp_path / "own")
    mixed = tmp_path / "mixed.pem"
    crl = federation.ca.revocation_list(tmp_path / "crl.pem").read_bytes()
    mixed.write_bytes(crl + Path(fed_files["tls"]["cert_file"]).read_bytes().replace(b"\n", b"\r\n"))
    config.write_text(yaml.safe_dump({**fed_files, "tls": {**fed_files["tls"], "crl_file": str(mixed)}}))
    with pytest.raises(ConfigError, match=r"is not a CRL: it holds CERTIFICATE, X509 CRL"):
        load_settings(str(config))


@pytest.mark.parametrize(
    ("crl", "reason"),
    [
        ("revoking", "certificate revoked"),
        ("expired", "CRL has expired"),
        ("another CA's", "unable to get certificate CRL"),
    ],
)
def test_a_certificate_its_peers_would_refuse_is_logged_at_start(tmp_path, caplog, crl, reason):
    """Revoked, or checked against a CRL past its next update or not the CA's:
    every peer would refuse this DC. The interposer says so when it starts (and
    still serves its own DC, whose clients and services go through it)."""
    federation = TlsFederation(tmp_path / "own")
    berlin, ca, files = federation.tls["Berlin"], federation.ca, berlin_files(federation)
    crl_file = tmp_path / "crl.pem"
    if crl == "revoking":
        ca.revocation_list(crl_file, [berlin])
    elif crl == "expired":
        ca.revocation_list(crl_file, next_update=NOW - DAY)
    else:
        ca.revocation_list(crl_file, signer=Authority.create(tmp_path / "other", name="another CA"))
    config = tmp_path / "own" / "interposer.yml"
    config.write_text(yaml.safe_dump({**files, "tls": {**files["tls"], "crl_file": str(crl_file)}}))
    settings = load_settings(str(config))
    assert settings.peer_tls.crl_file == str(crl_file)
    assert refusals(caplog) == [
        f"other DCs will refuse this one: refused by itself: its certificate: {reason}"
        " (site.yml --tags trust makes a new certificate)"
    ]


@pytest.fixture
def fed_files(tmp_path):
    """Berlin's configuration file's keys, with the files of a TlsFederation (not started)."""
    return berlin_files(TlsFederation(tmp_path))


def berlin_files(federation) -> dict:
    tls = federation.tls["Berlin"]
    return {
        "location": "Berlin",
        "catalog": "catalog.yml",
        "federation_secret": federation.secrets["Berlin"],
        "tls": tls_files(tls),
        "peer_listen": {"host": "127.0.0.1", "port": federation.peer_ports["Berlin"]},
    }


def test_the_served_interposer_completes_every_handshake_at_once(fed_files, tmp_path):
    """`oid interposer serve` (uvloop, as in its container) at its peer port: a
    client whose ClientHello arrives at once gets its handshake done at once, every
    time, and a refused one is logged. (Handshakes done with start_tls stalled
    under uvloop when the first bytes came early: every connection from a DC 10 ms
    away timed out on the lab, none in the in-process tests above.)"""
    config = tmp_path / "interposer.yml"
    listen = {"host": "127.0.0.1", "port": free_port()}
    config.write_text(yaml.safe_dump({**fed_files, "listen": listen}))
    process = subprocess.Popen(
        [sys.executable, "-m", "oid.cli", "interposer", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = fed_files["peer_listen"]["port"]
    try:
        files = fed_files["tls"]
        context = ssl.create_default_context(cafile=files["ca_file"])
        context.load_cert_chain(
            files["cert_file"].replace("Berlin", "Paris"), files["key_file"].replace("Berlin", "Paris")
        )
        deadline = time.monotonic() + 30
        while True:  # the process's start
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()[-2000:]
                time.sleep(0.1)
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="berlin") as secured:  # the ClientHello at once
                    secured.sendall(b"GET /healthz HTTP/1.1\r\nHost: berlin\r\nConnection: close\r\n\r\n")
                    assert secured.recv(15) == b"HTTP/1.1 200 OK"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")  # plain HTTP at the peer port
            raw.recv(100)
    finally:
        process.terminate()
        logs = process.communicate(timeout=30)[1].decode()
    assert "peer refused: TLS: HTTP_REQUEST" in logs, logs[-2000:]
