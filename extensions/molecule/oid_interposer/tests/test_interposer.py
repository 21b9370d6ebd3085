"""What the role oid_interposer leaves on its host (molecule verify, testinfra).

`host` is the scenario's instance, the DC's control host: commands run in it,
as an operator's would on a Kolla node (its Docker client drives the machine's
Docker). The handler tests re-run the scenario's converge playbook with one
variable changed and watch what the role does to the running container."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge as run_converge  # noqa: E402

CONTAINER = "oidmol_oid_interposer"
INSTANCE = "oidmol_host"
ADDRESS = "10.253.0.10"
CONFIG = "/var/lib/oidmol/etc/kolla/oid-interposer"
OID = "/var/lib/oidmol/etc/kolla/oid"
MOUNTED = "/etc/oid-interposer"  # CONFIG, in the container


def get(host, path: str, headers: dict | None = None, timeout: float = 60) -> str:
    """GET on the interposer from the host (curl in the instance), retried while it starts."""
    args = " ".join(f"-H '{k}: {v}'" for k, v in (headers or {}).items())
    deadline = time.monotonic() + timeout
    while True:
        result = host.run(f"curl -sf --max-time 5 {args} http://{ADDRESS}:8790{path}")
        if result.rc == 0 or time.monotonic() > deadline:
            assert result.rc == 0, f"GET {path}: curl exit {result.rc} {result.stderr}"
            return result.stdout
        time.sleep(0.5)


def state(host) -> dict:
    return host.docker(CONTAINER).inspect()["State"]


def wait_healthy(host, timeout: float = 90) -> str:
    """Docker's own verdict from the role's healthcheck (first probe after its interval)."""
    deadline = time.monotonic() + timeout
    status = state(host)["Health"]["Status"]
    while status != "healthy" and time.monotonic() < deadline:
        time.sleep(1)
        status = state(host)["Health"]["Status"]
    return status


def converge(host, **extra_vars) -> dict:
    """Re-run the scenario's converge with extra variables; {task or handler name: its result on the host}.

    The image stays the running one (the role's build command prints its tag), so that the
    variables are the only change even if the checkout's sources moved since converge."""
    extra_vars.setdefault("oid_interposer_build_command", f"echo {host.docker(CONTAINER).inspect()['Config']['Image']}")
    return run_converge(extra_vars=extra_vars)[INSTANCE]


@pytest.fixture
def restore(host):
    """Put the scenario back in its converged state after a test that changed it."""
    yield
    converge(host)


def test_container_runs_healthy_with_the_role_s_definition(host):
    container = host.docker(CONTAINER)
    assert container.is_running
    assert wait_healthy(host) == "healthy"
    info = container.inspect()
    # The image the role built locally (images/interposer/build.sh), running the interposer.
    assert info["Config"]["Image"].startswith("oid/interposer:")
    assert [info["Path"], *info["Args"]] == ["oid", "interposer", "serve", "--config", f"{MOUNTED}/interposer.yml"]
    assert "http://127.0.0.1:8790/healthz" in " ".join(info["Config"]["Healthcheck"]["Test"])
    assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # In the host's network namespace, as Kolla's containers use the host's network.
    assert info["HostConfig"]["NetworkMode"] == f"container:{host.docker(INSTANCE).inspect()['Id']}"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/etc/oid-interposer"]["Source"] == CONFIG
    assert mounts["/etc/oid"]["Source"] == OID
    assert not mounts["/etc/oid-interposer"]["RW"] and not mounts["/etc/oid"]["RW"]


def test_healthz_answers_with_the_location(host):
    assert json.loads(get(host, "/healthz")) == {"status": "ok", "location": "Berlin", "down": []}


def test_routes_to_the_local_service_of_the_catalog(host):
    assert get(host, "/compute/whoami") == "compute of Berlin\n"


def test_configuration_files_in_place(host):
    directory = host.file(CONFIG)
    assert directory.is_directory and directory.mode == 0o755 and directory.user == "root"
    config = host.file(f"{CONFIG}/interposer.yml")
    assert config.is_file and config.mode == 0o644 and config.user == "root"
    settings = yaml.safe_load(config.content_string)
    expected = {  # from the host's variables and the overlay's shared defaults (group_vars/all/oid.yml)
        "location": "Berlin",
        "catalog": "/etc/oid/catalog.yml",
        "federation_secret_file": "/etc/oid/dc-secret",
        "listen": {"host": "0.0.0.0", "port": 8790},
        "peer_listen": {"host": "0.0.0.0", "port": 8791},
        "tls": {
            "ca_file": "/etc/oid/tls/ca.pem",
            "cert_file": "/etc/oid/tls/dc.crt",
            "key_file": "/etc/oid/tls/dc.key",
            "crl_file": "/etc/oid/tls/crl.pem",  # the CA's revocation list, made with the CA
        },
        "keystone_account": {
            "auth_url": "http://10.253.0.10:5000/v3",
            "username": "oid-interposer",
            "password_file": "/etc/oid/interposer-password",
            "project_name": "service",
        },
        "connect_timeout": 2.0,
        "read_timeout": 600,
        "max_hops": 4,
        "fanout_deadline": 30,
    }
    assert {key: settings.get(key) for key in expected} == expected
    # The container reads the same file, read-only, and the interposer accepts it with the catalog.
    inside = host.run(f"docker exec {CONTAINER} cat {MOUNTED}/interposer.yml")
    assert inside.rc == 0 and inside.stdout == config.content_string
    checked = host.run(f"docker exec {CONTAINER} oid interposer check-config --config {MOUNTED}/interposer.yml")
    assert checked.rc == 0 and checked.stdout.strip() == "ok: Berlin in a federation of Berlin, Denver", checked.stderr
    assert host.run(f"docker exec {CONTAINER} touch /etc/oid-interposer/x").rc != 0
    catalog = yaml.safe_load(host.file(f"{OID}/catalog.yml").content_string)
    assert sorted(catalog["locations"]) == ["Berlin", "Denver"]


def test_the_peer_port_takes_the_federation_s_certificates_only(host):
    """oid_trust's files in place (the key root's alone), and the deployed interposer's
    peer port: TLS with a certificate naming Berlin, refused without a client's."""
    tls = f"{OID}/tls"
    assert (host.file(f"{tls}/dc.key").mode, host.file(f"{tls}/dc.key").user) == (0o600, "root")
    assert host.file(f"{tls}/ca.pem").mode == host.file(f"{tls}/dc.crt").mode == 0o644
    curl = f"curl -s --max-time 5 --cacert {tls}/ca.pem --resolve berlin:8791:{ADDRESS} https://berlin:8791/healthz"
    deadline = time.monotonic() + 60
    while (answer := host.run(f"{curl} --cert {tls}/dc.crt --key {tls}/dc.key")).rc != 0:
        assert time.monotonic() < deadline, answer.stderr
        time.sleep(0.5)
    assert json.loads(answer.stdout)["location"] == "Berlin"
    assert host.run(curl).rc != 0  # no client certificate: no answer


def test_a_catalog_change_reloads_without_a_restart(host, restore):
    started = state(host)["StartedAt"]
    assert json.loads(get(host, "/oid/v1/scope"))["locations"] == ["Berlin", "Denver"]

    tasks = converge(host, oidmol_locations=["Berlin", "Denver", "Paris"])

    assert tasks["Converge | The inter-DC catalog (as oid_catalog writes it)"]["changed"]
    assert tasks["Interposer | Reload"]["changed"]
    assert "Interposer | Restart" not in tasks
    assert state(host)["StartedAt"] == started  # the same process...
    scope = json.loads(get(host, "/oid/v1/scope", {"X-Scope": "{nova: *}"}))
    assert scope["locations"] == ["Berlin", "Denver", "Paris"]  # ... serves the new catalog
    assert scope["scope"]["compute"] == "Berlin&Denver&Paris"
    logs = host.run(f"docker logs {CONTAINER}").stderr
    assert "catalog reloaded: 3 locations" in logs


def test_a_configuration_change_restarts(host, restore):
    started = state(host)["StartedAt"]

    tasks = converge(host, oid_interposer_max_hops=7)

    assert tasks["Interposer | Configuration"]["changed"]
    assert not tasks["Interposer | Container (Docker)"]["changed"]  # the same container...
    assert tasks["Interposer | Restart"]["changed"]
    assert "Interposer | Reload" not in tasks
    after = state(host)
    assert after["Running"] and after["StartedAt"] != started  # ... started anew
    config = yaml.safe_load(host.file(f"{CONFIG}/interposer.yml").content_string)
    assert config["max_hops"] == 7
    assert json.loads(get(host, "/healthz"))["location"] == "Berlin"
    assert wait_healthy(host) == "healthy"
