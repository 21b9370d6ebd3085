"""Revoking a DC's certificate on the lab, as docs/operations.md tells an
operator to ("Rotating secrets and certificates"): the certificate goes into
<oid_pki_directory>/revoked/, site.yml --tags trust makes the CA's revocation
list again and gives it to the DC, whose interposer then refuses that
certificate at its peer port, with the reason in its log."""

from __future__ import annotations

import os
import socket
import ssl
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.federation import interposer, site
from tests.support.lab import docker
from tests.support.pki import Authority

pytestmark = pytest.mark.lab

PKI = Path("/var/lib/oid-lab/pki")  # oid_pki_directory on the lab (inventories/lab/group_vars/oid_lab.yml)
BERLIN_ONLY = ("--limit", "berlin-control,localhost")


def issue_by_the_lab_ca(directory: Path, location: str) -> tuple[Path, Path]:
    """A certificate naming ``location``, signed by the lab's federation CA, as
    a DC's former one would be (its key kept by whoever took it)."""
    lab_ca = Authority(
        key=serialization.load_pem_private_key((PKI / "ca.key").read_bytes(), password=None),
        cert=x509.load_pem_x509_certificate((PKI / "ca.pem").read_bytes()),
        ca_file=PKI / "ca.pem",
    )
    issued = lab_ca.issue(directory, location)
    return Path(issued.cert_file), Path(issued.key_file)


def healthz_as_a_peer(dc, cert_file: Path, key_file: Path) -> str:
    """GET /healthz at the DC's peer port with that certificate: the status line."""
    context = ssl.create_default_context(cafile=str(PKI / "ca.pem"))
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # as interposers speak: a refusal comes in the handshake
    context.load_cert_chain(str(cert_file), str(key_file))
    with socket.create_connection((dc.address, 8791), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=dc.name.lower()) as tls:
            tls.sendall(f"GET /healthz HTTP/1.1\r\nHost: {dc.name.lower()}\r\nConnection: close\r\n\r\n".encode())
            return tls.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_a_revoked_certificate_is_refused_by_the_dc_that_got_the_crl(federation, tmp_path):
    berlin = federation["dcs"]["Berlin"]
    cert_file, key_file = issue_by_the_lab_ca(tmp_path, "Paris")
    assert healthz_as_a_peer(berlin, cert_file, key_file) == "HTTP/1.1 200 OK"  # a valid certificate of the CA
    revoked = PKI / "revoked" / f"test-{os.getpid()}.crt"
    revoked.parent.mkdir(exist_ok=True)
    revoked.write_bytes(cert_file.read_bytes())
    try:
        since = str(int(time.time()) - 1)
        made = site("--tags", "trust", *BERLIN_ONLY)
        assert made.returncode == 0, made.stdout[-5000:] + made.stderr[-3000:]
        crl = x509.load_pem_x509_crl((PKI / "crl.pem").read_bytes())
        serial = x509.load_pem_x509_certificate(cert_file.read_bytes()).serial_number
        assert crl.get_revoked_certificate_by_serial_number(serial) is not None
        assert (berlin_tls := Path("/var/lib/oid-lab") / berlin.key / "etc/kolla/oid/tls/crl.pem").read_bytes() == (
            PKI / "crl.pem"
        ).read_bytes(), berlin_tls
        wait_healthy([berlin])  # restarted with the new CRL
        with pytest.raises(ssl.SSLError):  # the handshake dropped; the reason is in the log
            healthz_as_a_peer(berlin, cert_file, key_file)
        logs = docker("logs", "--since", since, "oidlab_berlin_oid_interposer")
        assert "peer refused: its certificate: certificate revoked" in logs.stdout + logs.stderr
    finally:
        # Every DC gets the CRL again, as it was: the next runs of site.yml change nothing.
        revoked.unlink()
        restored = site("--tags", "trust")
        assert restored.returncode == 0, restored.stdout[-5000:] + restored.stderr[-3000:]
        wait_healthy(federation["dcs"].values())  # they restarted with it


def wait_healthy(dcs, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    for dc in dcs:
        while True:
            try:
                if requests.get(f"{interposer(dc)}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"{dc.name}'s interposer is not healthy again"
            time.sleep(1)
