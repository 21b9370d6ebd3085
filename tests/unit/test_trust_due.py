"""roles/oid_trust's oid_trust_due lookup: the DCs whose key or certificate the
role must make again. The role runs for real (community.crypto makes the CA,
the keys and the certificates, on this machine as on a controller); a converged
run then names no DC, so that it runs no module for them, and every way a DC's
files can be wrong names that DC, which the next run mends. The role runs four
times (about 30 s): the spoiled files are copies, or one DC each."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.pki import DAY, NOW, Authority

TOP = Path(__file__).resolve().parents[2]
LOOKUP = TOP / "roles" / "oid_trust" / "lookup_plugins" / "oid_trust_due.py"
LOCATIONS = ["Berlin", "Paris"]


def lookup_module():
    spec = importlib.util.spec_from_file_location("oid_trust_due", LOOKUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def due(pki: Path, locations=LOCATIONS) -> list:
    return lookup_module().LookupModule().run([locations], pki_directory=str(pki), ca_certificate=str(pki / "ca.pem"))


def run_role(tmp_path: Path, locations=LOCATIONS) -> dict:
    """The role's deploy over local DCs (a host each); the play's JSON result."""
    pki = tmp_path / "pki"
    hosts = {
        location.lower(): {"oid_location": location, "oid_config_directory": str(tmp_path / location)}
        for location in locations
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    play = {
        "hosts": "all",
        "gather_facts": False,
        "vars": {
            "oid_action_tasks": "deploy",
            "oid_pki_directory": str(pki),
            "oid_trust_crl": str(pki / "crl.pem"),
            "ansible_connection": "local",
            "ansible_python_interpreter": str(TOP / ".venv" / "bin" / "python"),
        },
        "roles": [str(TOP / "roles" / "oid_trust")],
        "handlers": [{"name": "files", "listen": "oid interposer files changed", "ansible.builtin.meta": "noop"}],
    }
    (tmp_path / "play.yml").write_text(yaml.safe_dump([play]))
    completed = subprocess.run(
        [
            str(TOP / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            str(tmp_path / "hosts.yml"),
            str(tmp_path / "play.yml"),
        ],
        cwd=TOP,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return json.loads(completed.stdout)


def task_result(run: dict, name: str) -> dict:
    for task in run["plays"][0]["tasks"]:
        if task["task"]["name"].endswith(" : " + name):
            return next(iter(task["hosts"].values()))
    raise AssertionError(f"no task {name}")


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("trust")
    run_role(tmp_path)
    return tmp_path


def test_a_converged_run_names_no_dc_and_runs_no_certificate_module(converged):
    assert due(converged / "pki") == []
    again = run_role(converged)
    assert task_result(again, "Trust | Their keys").get("skipped")
    assert task_result(again, "Trust | Their certificates, signed by the federation's CA").get("skipped")


def copy_of(converged: Path, tmp_path: Path) -> Path:
    """The converged files, to spoil (modes kept)."""
    shutil.copytree(converged / "pki", tmp_path / "pki")
    return tmp_path / "pki"


# Each way a DC's files can be wrong, done to a DC of its own.
SPOILS = {
    "certificate missing": lambda pki, dc: (pki / f"{dc}.crt").unlink(),
    "key missing": lambda pki, dc: (pki / f"{dc}.key").unlink(),
    "key readable by others": lambda pki, dc: os.chmod(pki / f"{dc}.key", 0o644),
    "certificate's mode": lambda pki, dc: os.chmod(pki / f"{dc}.crt", 0o600),
    "another DC's certificate": lambda pki, dc: (pki / f"{dc}.crt").write_bytes((pki / "Berlin.crt").read_bytes()),
    "not a certificate": lambda pki, dc: (pki / f"{dc}.crt").write_text("not a certificate\n"),
}


def test_each_spoiled_dc_is_due_and_the_next_run_mends_them(tmp_path):
    spoiled = [f"Spoiled{index}" for index in range(len(SPOILS))]
    locations = ["Berlin", *spoiled]
    run_role(tmp_path, locations)
    pki = tmp_path / "pki"
    for spoil, location in zip(SPOILS.values(), spoiled, strict=True):
        spoil(pki, location)
    assert dict(zip(SPOILS, [dc in due(pki, locations) for dc in spoiled], strict=True)) == dict.fromkeys(SPOILS, True)
    assert "Berlin" not in due(pki, locations)
    made = task_result(run_role(tmp_path, locations), "Trust | Their certificates, signed by the federation's CA")
    assert [item["item"]["item"] for item in made["results"]] == spoiled
    assert due(pki, locations) == []


def signed(key_pem: bytes, ca_key, ca_cert, common_name: str, dns: str) -> bytes:
    """A certificate of that key, as the role's would be but for its issuer or names."""
    public_key = serialization.load_pem_private_key(key_pem, password=None).public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_a_certificate_of_another_ca_or_naming_another_dc_is_due(converged, tmp_path):
    pki = copy_of(converged, tmp_path)
    key = (pki / "Paris.key").read_bytes()
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    other = Authority.create(tmp_path / "other", name=ca_cert.subject.rfc4514_string()[3:])
    cases = [
        (ca_key, ca_cert, "Paris", "paris", []),  # as the role makes it: not due
        (other.key, other.cert, "Paris", "paris", ["Paris"]),  # the same CA's name, another CA's key
        (ca_key, ca_cert, "Paris", "elsewhere", ["Paris"]),
        (ca_key, ca_cert, "Berlin", "paris", ["Paris"]),
    ]
    for signer_key, signer_cert, common_name, dns, expected in cases:
        (pki / "Paris.crt").write_bytes(signed(key, signer_key, signer_cert, common_name, dns))
        assert due(pki) == expected, (common_name, dns)


def test_a_new_ca_names_every_dc(converged, tmp_path):
    pki = copy_of(converged, tmp_path)
    (pki / "ca.pem").write_bytes(Authority.create(tmp_path / "new").ca_file.read_bytes())
    assert due(pki) == LOCATIONS
