"""A 1 GiB image through Berlin's interposer, on the lab (issue: "The interposer
holds under bad clients and faults"): uploaded under `{glance: Denver|Paris}`
(held, then sent to the first alternative that takes it) and under
`{glance: Berlin&Denver}` (held, then sent to both), then read back from each DC
that stored it, directly from its Glance, with its hash equal to the file's.

Marked `large`: a GiB crosses the lab's WAN (Berlin-Denver, 300 ms RTT) several
times, so it is not part of `make test`; `make test-large` runs it on a
federated lab (docs/interposer.md has its last output). The lab's random loss
(0.1% per link) is set to none while it runs and restored after: at 300 ms RTT
that loss caps one TCP flow at a few hundred KB/s, an hour or more per GiB, and
what is tested here is the interposer's bytes, not TCP's recovery."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest
import requests
import yaml

from tests.support.federation import call, interposer, token
from tests.support.lab import TOP

pytestmark = [pytest.mark.lab, pytest.mark.large]

SIZE = 1 << 30
BLOCK = 1 << 20
TRANSFER_TIMEOUT = 3600  # seconds without a byte, at most: a GiB held, then sent across the WAN
LAB_LOSS_PERCENT = yaml.safe_load((TOP / "inventories/lab/group_vars/all.yml").read_text())["lab_wan_loss_percent"]


@pytest.fixture(scope="module")
def federated(lab):
    dcs = {dc.name: dc for dc in lab["dcs"]}
    for dc in dcs.values():
        try:
            requests.get(f"{interposer(dc)}/healthz", timeout=10).raise_for_status()
        except requests.RequestException as exc:
            pytest.fail(f"{dc.name} has no interposer: run site.yml on the lab first ({exc})")
    return dcs


def wan_loss(percent: float) -> None:
    """The lab's WAN with ``percent`` random loss per link (its other state, cuts and
    latencies, kept): the WAN playbook re-rendered with that one value."""
    applied = subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/lab", "playbooks/lab/wan.yml",
         "-e", json.dumps({"lab_wan_loss_percent": percent})],
        cwd=TOP, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-2000:]


@pytest.fixture(scope="module")
def lossless_wan(federated):
    wan_loss(0)
    yield
    wan_loss(LAB_LOSS_PERCENT)


@pytest.fixture(scope="module")
def gigabyte(tmp_path_factory):
    """A file of 1 GiB of random bytes and its SHA-512 (Glance's default os_hash_algo)."""
    path = tmp_path_factory.mktemp("large") / "gigabyte.raw"
    digest = hashlib.sha512()
    with path.open("wb") as out:
        for _ in range(SIZE // BLOCK):
            block = os.urandom(BLOCK)
            digest.update(block)
            out.write(block)
    return path, digest.hexdigest()


def downloaded_sha512(dc, auth, image_id) -> tuple[int, str]:
    """The image's bytes as the DC's own Glance serves them (not through any interposer)."""
    digest, size = hashlib.sha512(), 0
    url = f"{dc.endpoint('image')}/v2/images/{image_id}/file"
    with requests.get(url, headers={"X-Auth-Token": auth}, stream=True, timeout=TRANSFER_TIMEOUT) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_content(BLOCK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def upload(berlin, auth, scope, path) -> tuple[str, list[str], float]:
    """An image record and its bytes under ``scope``; the id is chosen here, so
    that under '&' every location's record has the same one."""
    image_id = str(uuid.uuid4())
    record = {"id": image_id, "name": f"gigabyte-{image_id[:8]}", "disk_format": "raw", "container_format": "bare"}
    created = call("POST", berlin, "/image/v2/images", auth, scope, json=record)
    assert created.status_code == 201, created.text
    started = time.monotonic()
    with path.open("rb") as body:
        stored = requests.put(
            f"{interposer(berlin)}/image/v2/images/{image_id}/file",
            data=body,
            headers={"X-Auth-Token": auth, "X-Scope": scope, "Content-Type": "application/octet-stream"},
            timeout=TRANSFER_TIMEOUT,
        )
    assert stored.status_code == 204, stored.text
    return image_id, stored.headers["X-Oid-Location"].split("&"), time.monotonic() - started


def check_everywhere(federated, auth_of, image_id, locations, sha512):
    for name in locations:
        dc = federated[name]
        auth = auth_of(dc)
        record = requests.get(
            f"{dc.endpoint('image')}/v2/images/{image_id}", headers={"X-Auth-Token": auth}, timeout=60
        )
        assert record.status_code == 200, f"{name}: {record.text}"
        assert record.json()["status"] == "active" and record.json()["size"] == SIZE, record.json()
        assert record.json()["os_hash_value"] == sha512, f"{name}: Glance's own hash differs"
        assert downloaded_sha512(dc, auth, image_id) == (SIZE, sha512), f"{name}: the bytes read back differ"


def delete(berlin, auth, scope, image_id):
    call("DELETE", berlin, f"/image/v2/images/{image_id}", auth, scope)


@pytest.mark.parametrize(
    ("scope", "stored_at"),
    [("{glance: Denver|Paris}", {"Denver"}), ("{glance: Berlin&Denver}", {"Berlin", "Denver"})],
)
def test_a_gigabyte_reaches_every_location_byte_for_byte(federated, lossless_wan, gigabyte, scope, stored_at):
    path, sha512 = gigabyte
    berlin = federated["Berlin"]
    auth = token(berlin)
    tokens = {}

    def auth_of(dc):  # each DC's own admin, to read its Glance directly
        return tokens.setdefault(dc.name, token(dc))

    image_id, locations, seconds = upload(berlin, auth, scope, path)
    try:
        assert set(locations) == stored_at, locations
        check_everywhere(federated, auth_of, image_id, stored_at, sha512)
        print(f"\n{scope}: 1 GiB stored at {', '.join(sorted(stored_at))} in {seconds:.0f} s, sha512 {sha512[:16]}...")
    finally:
        delete(berlin, auth, scope, image_id)
