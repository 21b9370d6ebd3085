"""prechecks.yml: what would make site.yml fail, found before it runs, with the
reason. One DC on this machine (ansible_connection local): its CA and
certificate made with tests/support/pki.py, its ports on loopback, a real
interposer where one must answer. Needs a container engine (`docker version`)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.pki import Authority
from tests.support.ports import free_port

pytestmark = pytest.mark.docker

TOP = Path(__file__).resolve().parents[2]
NOW = datetime.datetime.now(datetime.UTC)


def lab_openstack_image() -> str:
    """The lab's OpenStack image (make test builds it first): Kolla's API images here."""
    done = subprocess.run(
        [str(TOP / "images" / "lab" / "build.sh")], capture_output=True, text=True, check=True,
        env={**os.environ, "OID_TAG_ONLY": "1", "PYTHON": sys.executable},
    )  # fmt: skip
    return done.stdout.split("openstack=")[-1].strip()


# This DC's services, as an operator lists them (Kolla's usual ports; nothing answers there).
LOCAL_PORTS = {"identity": 5000, "compute": 8774, "image": 9292, "network": 9696, "placement": 8778}


@pytest.fixture(scope="module")
def api_images() -> dict[str, str]:
    image = lab_openstack_image()
    return {"nova-api": image, "glance-api": image, "neutron-server": image, "cinder-api": image}


@pytest.fixture
def dc(tmp_path, api_images):
    """Berlin alone: an inventory, the controller's PKI directory with a CA and a good
    certificate, Kolla's globals.yml of the supported release and its API images."""
    pki = tmp_path / "pki"
    authority = Authority.create(pki)
    shutil.copy(authority.ca_file, pki / "ca.pem")
    authority.issue(pki, "Berlin", not_after=NOW + datetime.timedelta(days=365))
    ports = {"oid_interposer_port": free_port(), "oid_interposer_peer_port": free_port()}
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "oid_location": "Berlin",
        "oid_internal_address": "127.0.0.1",
        "oid_pki_directory": str(pki),
        "node_config": str(tmp_path / "kolla"),
        "node_config_directory": str(tmp_path / "kolla"),
        "oid_paste_images": api_images,
        "oid_local_endpoints": {service: f"http://127.0.0.1:{port}" for service, port in LOCAL_PORTS.items()},
        **ports,
    }
    (tmp_path / "kolla").mkdir()
    (tmp_path / "kolla" / "globals.yml").write_text('---\nopenstack_release: "2026.1"\n')
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"oid_federation": {"hosts": {"berlin-control": host}}}))
    return {"inventory": inventory, "pki": pki, "authority": authority, **ports, "tmp": tmp_path}


def prechecks(dc, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", str(dc["inventory"]), "prechecks.yml", *extra],
        cwd=TOP, capture_output=True, text=True, timeout=300, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip


def failed(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout[-3000:]
    return " ".join(result.stdout.split())  # the reason, whatever Ansible's line breaks


def test_a_dc_ready_for_site_yml_passes(dc):
    result = prechecks(dc)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "rotate it" not in result.stdout


@pytest.mark.parametrize(
    ("certificate", "reason"),
    [
        ({"not_before": NOW - datetime.timedelta(days=40), "not_after": NOW - datetime.timedelta(days=1)}, "from"),
        ({"names": ["denver"]}, "names DNS:denver"),
        ({"other_ca": True}, "peers accept only a certificate of the CA"),
    ],
)
def test_a_certificate_peers_would_refuse_stops_it(dc, certificate, reason):
    issuer = Authority.create(dc["tmp"] / "other", "another CA") if certificate.pop("other_ca", False) else None
    (issuer or dc["authority"]).issue(dc["pki"], "Berlin", **certificate)
    message = failed(prechecks(dc))
    assert "Berlin.crt" in message and reason in message and "site.yml --tags trust" in message, message


@pytest.mark.parametrize(
    ("crl", "reason"),
    [
        ("revoking Berlin", "Berlin.crt is revoked by"),
        ("expired", "every interposer now refuses every peer ('CRL has expired')"),
    ],
)
def test_a_revocation_list_peers_would_refuse_it_by_stops_it(dc, crl, reason):
    """The CA's CRL naming this DC's certificate, or past its next update."""
    berlin = dc["authority"].issue(dc["pki"], "Berlin", not_after=NOW + datetime.timedelta(days=365))
    if crl == "expired":
        dc["authority"].revocation_list(dc["pki"] / "crl.pem", next_update=NOW - datetime.timedelta(days=1))
    else:
        dc["authority"].revocation_list(dc["pki"] / "crl.pem", [berlin])
    message = failed(prechecks(dc))
    assert reason in message and "site.yml --tags trust" in message, message


def test_a_revocation_list_due_soon_is_said(dc):
    dc["authority"].revocation_list(dc["pki"] / "crl.pem", next_update=NOW + datetime.timedelta(days=10))
    result = prechecks(dc)
    said = " ".join(result.stdout.split())
    assert result.returncode == 0 and "within 30 days. site.yml --tags trust makes it again." in said, said[-3000:]


def test_a_certificate_expiring_soon_is_said(dc):
    dc["authority"].issue(dc["pki"], "Berlin", not_after=NOW + datetime.timedelta(days=10))
    result = prechecks(dc)
    assert result.returncode == 0 and "within 30 days: rotate it" in " ".join(result.stdout.split())


def test_the_operators_own_ca_must_be_there(dc):
    (dc["pki"] / "ca.key").unlink(missing_ok=True)
    message = failed(prechecks(dc, "-e", "oid_trust_create_ca=false"))
    assert "the operator's own" in message and "ca.key" in message, message


def test_a_missing_container_engine_stops_it(dc):
    message = failed(prechecks(dc, "-e", "oid_container_engine=no-such-engine"))
    assert "`no-such-engine version` failed" in message, message


def test_a_port_held_by_another_service_stops_it(dc):
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(dc["oid_interposer_port"]), "--bind", "127.0.0.1"],
        cwd=dc["tmp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_listening(dc["oid_interposer_port"])
        message = failed(prechecks(dc))
        assert f"127.0.0.1:{dc['oid_interposer_port']} is in use by something that is not" in message, message
        assert "answered 404" in message, message
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_peer_port_held_while_no_interposer_runs_stops_it(dc):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", dc["oid_interposer_peer_port"]))
        holder.listen()
        message = failed(prechecks(dc))
    assert "oid_interposer_peer_port" in message and "is in use" in message, message


def test_this_dcs_own_interposer_on_its_ports_is_a_rerun(dc):
    """The ports held by Berlin's own interposer (site.yml ran before): no refusal."""
    catalog = dc["tmp"] / "catalog.yml"
    catalog.write_text(yaml.safe_dump({"locations": {"Berlin": {"services": {"compute": "http://127.0.0.1:9"}}}}))
    config = dc["tmp"] / "interposer.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "location": "Berlin",
                "catalog": str(catalog),
                "listen": {"host": "127.0.0.1", "port": dc["oid_interposer_port"]},
                "federation_secret": "prechecks-test-secret-0123456789",
            }
        )
    )
    interposer = subprocess.Popen(
        [sys.executable, "-m", "oid.cli", "interposer", "serve", "--config", str(config)],
        cwd=TOP, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_listening(dc["oid_interposer_port"])
        assert requests.get(f"http://127.0.0.1:{dc['oid_interposer_port']}/healthz", timeout=5).ok
        result = prechecks(dc)
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        interposer.terminate()
        interposer.wait(timeout=30)


@pytest.fixture
def registry(dc):
    """A real registry (Debian's docker-registry, installed by make setup) on loopback."""
    port = free_port()
    config = dc["tmp"] / "registry.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(dc["tmp"] / "registry")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    command = ["timeout", "600", "docker-registry", "serve", str(config)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_registry_to_pull_the_image_from_must_answer(dc, registry):
    insecure = ("-e", "docker_registry_insecure=true")
    result = prechecks(dc, "-e", f"docker_registry={registry}", *insecure)
    assert result.returncode == 0, result.stdout[-3000:]
    nothing = f"127.0.0.1:{free_port()}"
    message = failed(prechecks(dc, "-e", f"docker_registry={nothing}", *insecure))
    assert f"pulls the interposer's image from docker_registry {nothing}, whose /v2/ does not answer" in message
    web = free_port()  # a web server, not a registry
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(web), "--bind", "127.0.0.1"],
        cwd=dc["tmp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_listening(web)
        message = failed(prechecks(dc, "-e", f"docker_registry=127.0.0.1:{web}", *insecure))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "whose /v2/ answered 404: not a registry" in message, message


def test_an_unknown_image_delivery_stops_it(dc):
    message = failed(prechecks(dc, "-e", "oid_interposer_image_delivery=ftp"))
    assert "oid_interposer_image_delivery is ftp: registry" in message, message


def test_an_api_image_missing_on_the_host_stops_it(dc, api_images):
    images = {**api_images, "nova-api": "oid/no-such-nova-api:2026.1"}
    message = failed(prechecks(dc, "-e", json.dumps({"oid_paste_images": images})))
    assert "the api-paste.ini files cannot be read from oid/no-such-nova-api:2026.1: " in message, message
    assert "No such image: oid/no-such-nova-api:2026.1" in message, message
    assert api_images["glance-api"] + ":" not in message.split("cannot be read from")[-1], "that image is fine"


def test_an_api_image_without_the_file_its_service_ships_stops_it(dc, api_images):
    """An image of another service (here the interposer's): glance-api's paste file is not in it."""
    images = {**api_images, "glance-api": "oid/interposer:latest"}
    message = failed(prechecks(dc, "-e", json.dumps({"oid_paste_images": images})))
    assert "cannot be read from oid/interposer:latest: " in message, message
    assert "/etc/glance/glance-api-paste.ini: No such file or directory" in message, message


def test_an_openstack_release_oid_does_not_know_stops_it(dc):
    (dc["tmp"] / "kolla" / "globals.yml").write_text('---\nopenstack_release: "2025.1"\n')
    message = failed(prechecks(dc))
    assert "globals.yml deploys OpenStack 2025.1; oid's filters are checked against" in message, message


def wait_listening(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {seconds} s")


@pytest.mark.parametrize(("venv", "accepted"), [(TOP / ".cache" / "venv-kolla", True), (Path("/nonexistent"), False)])
def test_kolla_ansible_of_a_supported_series_where_oid_runs_it(dc, venv, accepted):
    """The real kolla-ansible 22.2.0 of `make venvs` is one; a missing one is not."""
    inventory = yaml.safe_load(dc["inventory"].read_text())
    inventory["berlin_deployment"] = {"hosts": {"berlin-control": None}}
    dc["inventory"].write_text(yaml.safe_dump(inventory))
    result = prechecks(dc, "-e", "oid_manage_kolla=true", "-e", f"oid_kolla_venv={venv}")
    if accepted:
        assert result.returncode == 0, result.stdout[-3000:]
        return
    message = failed(result)
    assert "/nonexistent/bin/kolla-ansible on berlin-control" in message and "supports kolla-ansible 22.x" in message


@pytest.fixture
def blackhole():
    """127.0.0.3, where packets are dropped (iptables): connecting times out, as
    across a cut WAN link."""
    rule = ["OUTPUT", "-d", "127.0.0.3", "-p", "tcp", "-j", "DROP"]
    subprocess.run(["iptables", "-A", *rule], check=True)
    try:
        yield "127.0.0.3"
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


def with_other_dcs(dc, others: dict) -> None:
    inventory = yaml.safe_load(dc["inventory"].read_text())
    for name, address in others.items():
        inventory["oid_federation"]["hosts"][f"{name.lower()}-control"] = {
            "oid_location": name,
            "oid_internal_address": address,
        }
    dc["inventory"].write_text(yaml.safe_dump(inventory))


def test_other_dcs_cut_off_are_named_and_none_reached_stops_it(dc, blackhole):
    # Denver answers (nothing listens on its peer port yet: refused, the path works); Paris is cut off.
    with_other_dcs(dc, {"Denver": "127.0.0.1", "Paris": blackhole})
    result = prechecks(dc, "--limit", "berlin-control", "-e", "oid_interposer_precheck_timeout=1")
    assert result.returncode == 0, result.stdout[-3000:]
    said = " ".join(result.stdout.split())
    assert "1 DCs not reached from berlin-control: Paris (no answer within 1 s)" in said, said
    # Both cut off: this host's own WAN is the problem.
    with_other_dcs(dc, {"Denver": blackhole})
    message = failed(prechecks(dc, "--limit", "berlin-control", "-e", "oid_interposer_precheck_timeout=1"))
    assert "berlin-control reaches no other DC's peer port (2 tried" in message, message
    assert "Paris (no answer within 1 s)" in message and "oid_interposer_peer_port" in message, message


def test_a_dc_with_cinder_and_its_endpoint_passes(dc):
    """cinder-api's shipped api-paste.ini is read from its image (here the lab's)."""
    endpoints = {service: f"http://127.0.0.1:{port}" for service, port in {**LOCAL_PORTS, "volume": 8776}.items()}
    result = prechecks(dc, "-e", json.dumps({"enable_cinder": True, "oid_local_endpoints": endpoints}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_cinder_without_its_endpoint_stops_it(dc):
    """Kolla deploys Cinder here (enable_cinder), but the interposer would not know where it is."""
    message = failed(prechecks(dc, "-e", "enable_cinder=true"))
    wanted = "Berlin runs cinder-api (Kolla's enable_* and <service>_services), but oid_local_endpoints has no volume"
    assert wanted in message, message


def test_no_local_endpoints_stops_it(dc):
    inventory = yaml.safe_load(dc["inventory"].read_text())
    del inventory["oid_federation"]["hosts"]["berlin-control"]["oid_local_endpoints"]
    dc["inventory"].write_text(yaml.safe_dump(inventory))
    message = failed(prechecks(dc))
    assert "oid_local_endpoints is not set for berlin-control" in message, message
