"""The lab is a real edge: three DCs with their own OpenStack, a WAN with
latency that can be cut. Everything here goes through each DC's own APIs."""

from __future__ import annotations

import hashlib
import os
import re
import statistics
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.lab import connect, docker, oid_lab

pytestmark = pytest.mark.lab

# RTTs the lab is configured with (inventories/lab/group_vars/all.yml).
CONFIGURED_RTT_MS = {("Berlin", "Paris"): 10, ("Denver", "Paris"): 140, ("Berlin", "Denver"): 300}


def by_name(lab, name):
    return next(dc for dc in lab["dcs"] if dc.name == name)


def test_up_reports_progress_and_endpoints(lab):
    out = lab["up"].stdout
    assert re.search(r"^\s+\d+\.\ds\s+(lab_dc : )?Lab DC \| Bootstrap", out, re.M), out[-3000:]
    assert re.search(r"^lab up in \d+s: 3 DCs$", out, re.M), out[-3000:]
    for dc in lab["dcs"]:
        assert f"identity {dc.endpoint('identity')}" in out
    assert oid_lab("status").returncode == 0


def boot_cycle(dc):
    """Token, image, network, server ACTIVE (the image's bytes fetched), list, delete: one DC."""
    cloud = connect(dc)
    assert cloud.auth_token
    data = os.urandom(3 * 1024 * 1024 + 17)
    tag = f"labtest-{dc.key}-{os.getpid()}"
    image = cloud.image.create_image(
        name=tag, data=data, disk_format="raw", container_format="bare", wait=True, timeout=120
    )
    network = cloud.network.create_network(name=tag)
    cloud.network.create_subnet(network_id=network.id, ip_version=4, cidr="192.168.77.0/24", name=tag)
    flavor = cloud.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = cloud.compute.create_server(
        name=tag, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": network.id}]
    )
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=180)
    addresses = dict(server.addresses)
    listed = [item.id for item in cloud.compute.servers()]
    ports = list(cloud.network.ports(device_id=server.id))
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=120)
    left_ports = list(cloud.network.ports(device_id=server.id))
    cloud.network.delete_network(network)
    cloud.image.delete_image(image)
    return {
        "image": image.id,
        "sha512": hashlib.sha512(data).hexdigest(),
        "size": len(data),
        "listed": server.id in listed,
        "ports": ports,
        "left_ports": left_ports,
        "addresses": addresses,
    }


def test_every_dc_boots_a_server_that_fetched_its_image(lab):
    with ThreadPoolExecutor(len(lab["dcs"])) as pool:
        results = dict(zip(lab["dcs"], pool.map(boot_cycle, lab["dcs"]), strict=True))
    for dc, result in results.items():
        assert result["listed"], dc
        assert len(result["ports"]) == 1 and result["ports"][0].binding_vif_type == "ovs", dc
        assert result["left_ports"] == [], f"{dc.name}: deleting the server left its port"
        assert any(a["addr"].startswith("192.168.77.") for nets in result["addresses"].values() for a in nets)
        # The fake hypervisor downloaded every byte and checked Glance's hash.
        logs = docker("logs", f"oidlab_{dc.key}_nova_compute").stderr
        line = f"oid-lab fetched image {result['image']} for"
        fetched = [entry for entry in logs.splitlines() if line in entry]
        assert fetched, f"{dc.name}: no fetch logged for {result['image']}"
        assert f"{result['size']} bytes" in fetched[-1] and f"sha512 verified {result['sha512']}" in fetched[-1]


def test_each_dc_has_its_own_keystone(lab):
    berlin, denver = by_name(lab, "Berlin"), by_name(lab, "Denver")
    token = connect(berlin).auth_token
    assert token != connect(denver).auth_token
    # Each Nova validates tokens at its own DC's Keystone: a Berlin token works in Berlin only.
    for dc, status in ((berlin, 200), (denver, 401)):
        answer = requests.get(f"{dc.endpoint('compute')}/servers", headers={"X-Auth-Token": token}, timeout=30)
        assert answer.status_code == status, (dc.name, answer.text)
    berlin_projects = {p.name: p.id for p in connect(berlin).identity.projects()}
    denver_projects = {p.name: p.id for p in connect(denver).identity.projects()}
    assert berlin_projects["admin"] != denver_projects["admin"]


def rtt_ms(source, dest, count=10):
    """Median ping RTT from one DC's network namespace to another DC. The median, not
    the mean: the WAN's delays are applied by a userspace queue, and a moment of CPU
    load (the molecule lanes run beside this tier) delays a packet or two by several ms."""
    result = docker(
        "exec", f"oidlab_{source.key}_host", "ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", dest.address
    )
    times = [float(value) for value in re.findall(r"time=([\d.]+) ms", result.stdout)]
    return statistics.median(times) if times else None


def test_wan_latencies_are_the_configured_ones(lab):
    for (first, second), configured in CONFIGURED_RTT_MS.items():
        measured = rtt_ms(by_name(lab, first), by_name(lab, second))
        assert measured is not None, f"{first}-{second}: no answer"
        assert abs(measured - configured) <= 0.2 * configured + 1, f"{first}-{second}: {measured} ms, want {configured}"


def test_host_reaches_only_its_own_dc_directly(lab):
    """A DC reaches another only through the router: its default route does not exist."""
    berlin = by_name(lab, "Berlin")
    routes = docker("exec", f"oidlab_{berlin.key}_host", "ip", "route").stdout
    assert "default" not in routes
    assert "10.252.0.0/16 via 10.252.1.254" in routes


def tcp_connects(source, dest, port=5000, timeout=3.0):
    """Can the source DC open a TCP connection to the destination's Keystone? 'timeout' when dropped."""
    script = (
        "import socket,sys\n"
        f"s=socket.socket(); s.settimeout({timeout})\n"
        f"try:\n s.connect(('{dest.address}',{port})); print('ok')\n"
        "except socket.timeout: print('timeout')\n"
        "except OSError as e: print('error', e)\n"
    )
    return docker("exec", f"oidlab_{source.key}_keystone", "python3", "-c", script).stdout.strip()


def test_cut_partitions_a_link_and_heal_restores_it(lab):
    berlin, denver, paris = (by_name(lab, name) for name in ("Berlin", "Denver", "Paris"))
    assert tcp_connects(berlin, denver) == "ok"
    try:
        result = oid_lab("cut", "Berlin", "Denver")
        assert result.returncode == 0, result.stdout + result.stderr
        # Dropped, not refused: a WAN outage looks like silence.
        assert tcp_connects(berlin, denver) == "timeout"
        assert tcp_connects(denver, berlin) == "timeout"
        assert tcp_connects(berlin, paris) == "ok"
        status = oid_lab("status").stdout
        assert "Berlin-Denver: CUT" in status
    finally:
        result = oid_lab("heal", "Berlin", "Denver")
    assert result.returncode == 0, result.stdout + result.stderr
    assert tcp_connects(berlin, denver) == "ok"
    assert f"Berlin-Denver: {CONFIGURED_RTT_MS[('Berlin', 'Denver')]} ms RTT" in oid_lab("status").stdout


def test_latency_command_changes_a_link(lab):
    berlin, paris = by_name(lab, "Berlin"), by_name(lab, "Paris")
    try:
        assert oid_lab("latency", "Berlin", "Paris", "60ms").returncode == 0
        measured = rtt_ms(berlin, paris)
        assert measured is not None and abs(measured - 60) <= 13, measured
    finally:
        assert oid_lab("latency", "Berlin", "Paris", "10ms").returncode == 0


def test_bad_requests_are_refused_clearly(lab):
    result = oid_lab("cut", "Berlin", "Tokyo")
    assert result.returncode == 2 and "no DC 'Tokyo'" in result.stderr
    result = oid_lab("latency", "Berlin", "Paris", "fast")
    assert result.returncode == 2 and "bad round-trip time" in result.stderr
    result = oid_lab("up", "--dcs", "berlin")
    assert result.returncode == 2 and "bad DC name" in result.stderr
