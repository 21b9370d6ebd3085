"""A federation's CA and its DCs' certificates, made with `cryptography` for the
tests (the overlay makes the real ones with community.crypto)."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from yarl import URL

from oid.interposer.app import listeners
from oid.interposer.config import Settings
from oid.interposer.trust import PeerTLS, certificate_name
from tests.support.ports import free_port

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@dataclass
class Authority:
    """A CA: its key, its certificate and where its PEM lies."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    ca_file: Path

    @classmethod
    def create(cls, directory: Path, name: str = "oid federation CA") -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        ca_file = directory / f"{name.replace(' ', '-')}.pem"
        ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, ca_file)

    def issue(self, directory: Path, location: str, *, names=None, not_before=None, not_after=None) -> PeerTLS:
        """A DC's key and certificate (SAN: its location's certificate name, or
        ``names``), for client and server use; the PeerTLS that uses them."""
        key = ec.generate_private_key(ec.SECP256R1())
        dns = [x509.DNSName(name) for name in (names or [certificate_name(location)])]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, location)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - DAY)
            .not_valid_after(not_after or NOW + 30 * DAY)
            .add_extension(x509.SubjectAlternativeName(dns), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = directory / f"{location}.crt", directory / f"{location}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return PeerTLS(str(self.ca_file), str(cert_file), str(key_file))

    def revocation_list(self, path: Path, revoked=(), *, next_update=None, signer=None) -> Path:
        """The CA's CRL at ``path``, revoking the certificates of the PeerTLS in
        ``revoked``; ``signer``: another Authority signs it instead (a CRL that is
        not this CA's)."""
        signer = signer or self
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(signer.cert.subject)
            .last_update(NOW - DAY)
            .next_update(next_update or NOW + 30 * DAY)
        )
        for tls in revoked:
            serial = x509.load_pem_x509_certificate(Path(tls.cert_file).read_bytes()).serial_number
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - DAY).build()
            )
        path.write_bytes(builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        return path


TLS_KEYS = ("ca_file", "cert_file", "key_file", "crl_file")


def tls_files(tls: PeerTLS) -> dict:
    """The ``tls`` section of an interposer's configuration file for ``tls``'s files."""
    return {key: getattr(tls, key) for key in TLS_KEYS if getattr(tls, key)}


class LoopbackPeers:
    """A federation's mutual TLS on loopback: a CA made here, and for each DC a
    certificate naming it and a peer port (interposers know each other by
    their certificates only; oid/interposer/trust.py)."""

    def __init__(self, directory: Path, names=()):
        self.directory = directory
        self.ca = Authority.create(directory)
        self.tls: dict[str, PeerTLS] = {}
        for name in names:
            self.add(name)

    def add(self, name: str) -> PeerTLS:
        issued = self.ca.issue(self.directory, name)
        self.tls[name] = dataclasses.replace(issued, host="127.0.0.1", port=free_port())
        return self.tls[name]

    def url(self, name: str) -> str:
        """The 'peer' URL of ``name`` in the catalog."""
        return f"https://127.0.0.1:{self.tls[name].port}"

    def files(self, name: str) -> dict:
        """``tls`` and ``peer_listen`` of ``name``'s interposer configuration file."""
        tls = self.tls[name]
        return {"tls": tls_files(tls), "peer_listen": {"host": tls.host, "port": tls.port}}

    async def send(self, sender: str, receiver: str, method: str, path: str, headers=None, **kwargs):
        """A request to ``receiver``'s peer port as the interposer of ``sender``
        (its certificate): (status, headers, body bytes)."""
        url = URL(self.url(receiver) + path, encoded=True)
        context = self.tls[sender].client_context()
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method, url, headers=headers or {}, ssl=context, server_hostname=certificate_name(receiver), **kwargs
            ) as response:
                return response.status, response.headers, await response.read()


async def serve(app: web.Application, settings: Settings) -> web.AppRunner:
    """An interposer's application on its own listeners (the plain port, and the
    peer port with mutual TLS), as `oid interposer serve` runs it."""
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    for site in listeners(runner, settings):
        await site.start()
    return runner
