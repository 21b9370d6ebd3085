"""Kolla's monitoring watching the interposers (roles/oid_interposer, monitoring.yml):
the scrape targets and the Grafana dashboard site.yml wrote in each lab DC's
Kolla override directories, read by a real Prometheus (Debian's package) as
Kolla's would merge them. After traffic across the federation with one WAN
link cut, every panel's query returns data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.lab import CLOUDS, oid_lab
from tests.support.ports import free_port

pytestmark = pytest.mark.lab

LAB_ROOT = Path("/var/lib/oid-lab")


def overrides(dc) -> Path:
    """The DC's node_custom_config (inventories/lab/group_vars/all.yml)."""
    return LAB_ROOT / dc.key / "etc" / "kolla" / "config"


def merged(extra_files: list[Path]) -> dict:
    """Kolla's prometheus.yml for the test, with the files of prometheus.yml.d merged
    as Kolla merges them (lists extended); scraped every second."""
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": []}
    for path in extra_files:
        for key, value in yaml.safe_load(path.read_text()).items():
            config[key] = config.get(key, []) + value if isinstance(value, list) else value
    return config


@pytest.fixture
def prometheus(federation, tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "no prometheus: `make setup` installs Debian's package"
    files = sorted(
        path
        for dc in federation["dcs"].values()
        for path in (overrides(dc) / "prometheus" / "prometheus.yml.d").glob("*oid*.yml")
    )
    assert len(files) == len(federation["dcs"]), files  # one per interposer host
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(merged(files)))
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: requests.get(url + "/-/ready", timeout=2).status_code == 200, "Prometheus ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def token(cloud: str) -> tuple[str, str]:
    """(the DC's interposer, a token of its Keystone), from the lab's clouds.yaml."""
    auth = yaml.safe_load(CLOUDS.read_text())["clouds"][cloud]["auth"]
    user = {"name": auth["username"], "password": auth["password"], "domain": {"name": "Default"}}
    body = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }
    answer = requests.post(auth["auth_url"] + "/auth/tokens", json=body, timeout=60)
    answer.raise_for_status()
    return auth["auth_url"].removesuffix("/identity/v3"), answer.headers["X-Subject-Token"]


def query(prometheus: str, expr: str) -> list:
    answer = requests.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def test_every_panel_of_the_dashboard_has_data_from_the_interposers(federation, prometheus):
    dcs = federation["dcs"]
    dashboard = json.loads((overrides(dcs["Berlin"]) / "grafana" / "dashboards" / "oid-federation.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 9, exprs

    def every_target_up():
        targets = requests.get(prometheus + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return len(targets) == len(dcs) and all(target["health"] == "up" for target in targets)

    until(every_target_up, "every interposer scraped")
    entry, berlin_token = token("oid-berlin")
    servers = entry + "/compute/v2.1/servers"
    headers = {"X-Auth-Token": berlin_token, "X-Scope": "{nova: *}"}
    for _ in range(3):  # the federation whole: '&' over every DC
        assert requests.get(servers, headers=headers, timeout=120).status_code == 200
    try:
        assert oid_lab("cut", "Berlin", "Paris").returncode == 0
        strict = requests.get(servers, headers=headers, timeout=120)
        assert strict.status_code == 502, strict.text[:500]  # an error per service, a failure per link
        reachable = requests.get(servers, headers={**headers, "Prefer": "oid-reachable"}, timeout=120)
        assert reachable.status_code == 200 and "Paris" in reachable.headers["X-Oid-Missing"]
        # The breaker's back-off ends and the prober finds the link still cut.
        until(lambda: query(prometheus, "oid_probes_total"), "a background probe", seconds=90)
        time.sleep(3)  # two more scrapes of everything: rate() needs two samples
        empty = [expr for expr in exprs if not query(prometheus, expr)]
        assert not empty, f"panels with no data: {empty}"
        [breaker] = query(prometheus, 'max by (location, service) (oid_breaker_state{oid_dc="Berlin"})')
        assert breaker["metric"] == {"location": "Paris", "service": "compute"}, breaker
    finally:
        assert oid_lab("heal", "Berlin", "Paris").returncode == 0
