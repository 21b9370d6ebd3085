"""Storage across DCs on the lab (issue 21): every DC runs Cinder (its lab file
driver keeps each volume in a file of the DC's data directory), the overlay
puts oid's filters in cinder-api's pipeline and the volume service in the
catalog. Everything goes through Berlin's interposer with X-Scope.

The policy (collections/.../module_utils/policy.py): a volume made in one DC
from another DC's image is allowed (Cinder downloads the image through the
interposer, as Nova does); a volume is bound to compute for writes, so a
server of one DC cannot boot from, nor attach, a volume of another (the
hypervisor reaches only its own DC's storage)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tests.overlay.test_site import boot_through, delete_through, interposer_metric
from tests.support.federation import call, playbook, token
from tests.support.lab import connect, docker

pytestmark = pytest.mark.lab

LAB_ROOT = Path("/var/lib/oid-lab")


def volume_file(dc, volume_id: str) -> Path:
    """Where the lab's Cinder file driver keeps a volume, on this machine."""
    return LAB_ROOT / dc.key / "data" / "cinder" / "volumes" / f"volume-{volume_id}"


def wait_volume(entry, auth, scope, volume_id, wanted=("available",)) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        answer = call("GET", entry, f"/volume/v3/volumes/{volume_id}", auth, scope)
        assert answer.status_code == 200, answer.text
        volume = answer.json()["volume"]
        if volume["status"] in wanted or volume["status"].startswith("error"):
            return volume
        time.sleep(1)
    raise AssertionError(f"volume {volume_id} not {wanted} in time: {volume['status']}")


def create_volume(entry, auth, scope, **wanted) -> dict:
    created = call("POST", entry, "/volume/v3/volumes", auth, scope, json={"volume": {"size": 1, **wanted}})
    assert created.status_code == 202, created.text
    volume = wait_volume(entry, auth, scope, created.json()["volume"]["id"])
    if volume["status"] != "available":
        delete_volume(entry, auth, scope, volume["id"])  # a failed test leaves no volume behind
        raise AssertionError(f"volume {volume['id']} is {volume['status']}, not available")
    return volume


def delete_volume(entry, auth, scope, volume_id) -> None:
    call("DELETE", entry, f"/volume/v3/volumes/{volume_id}", auth, scope)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if call("GET", entry, f"/volume/v3/volumes/{volume_id}", auth, scope).status_code == 404:
            return
        time.sleep(1)


@pytest.fixture
def denver_image(federation):
    """An image only Denver's Glance has: random bytes, raw."""
    denver = connect(federation["dcs"]["Denver"])
    data = os.urandom(3 * 1024 * 1024 + 7)
    image = denver.image.create_image(
        name=f"only-in-denver-{os.getpid()}", data=data, disk_format="raw", container_format="bare",
        visibility="public", wait=True, timeout=120,
    )  # fmt: skip
    yield image, data
    denver.image.delete_image(image)


def test_a_volume_in_berlin_from_an_image_only_denver_has(federation, denver_image):
    """{cinder: Berlin, glance: Denver}: Berlin's Cinder downloads Denver's image
    through the interposers, across the WAN, and the volume holds its bytes."""
    berlin, denver = federation["dcs"]["Berlin"], federation["dcs"]["Denver"]
    image, data = denver_image
    auth = token(berlin)
    scope = "{cinder: Berlin, glance: Denver}"
    image_requests_before = interposer_metric(denver, "oid_requests_total", service="image")
    volume = create_volume(berlin, auth, scope, name="from-denver", imageRef=image.id)
    try:
        assert volume["bootable"] == "true"
        with volume_file(berlin, volume["id"]).open("rb") as stored:
            assert hashlib.sha512(stored.read(len(data))).hexdigest() == hashlib.sha512(data).hexdigest()
        assert interposer_metric(denver, "oid_requests_total", service="image") > image_requests_before
        written = [
            line
            for line in docker("logs", "oidlab_berlin_cinder_volume").stderr.splitlines()
            if f"oid-lab wrote image {image.id} into volume {volume['id']}" in line
        ]
        assert written and f"{len(data)} bytes" in written[-1], "the lab driver's log"
        # Berlin's own Glance never had the image: the bytes came from Denver's.
        assert connect(berlin).image.find_image(image.id) is None
    finally:
        delete_volume(berlin, auth, scope, volume["id"])
    assert not volume_file(berlin, volume["id"]).exists(), "a deleted volume leaves no file"


def test_and_creates_and_lists_volumes_in_both(federation):
    """'&' for volumes: one create makes a volume in each DC (the answer is the
    first one, every location's outcome in its header), one list shows both with
    their location; '|' reads one and creates one; each is deleted at its own location."""
    berlin = federation["dcs"]["Berlin"]
    auth = token(berlin)
    both = "{cinder: Berlin&Denver}"
    name = f"and-{os.getpid()}"
    created = call("POST", berlin, "/volume/v3/volumes", auth, both, json={"volume": {"size": 1, "name": name}})
    assert created.status_code == 202, created.text
    assert created.headers["X-Oid-Location"] == "Berlin&Denver", dict(created.headers)
    listed = call("GET", berlin, "/volume/v3/volumes", auth, both)
    assert listed.status_code == 200, listed.text
    made = {entry["oid_location"]: entry["id"] for entry in listed.json()["volumes"] if entry["name"] == name}
    try:
        assert set(made) == {"Berlin", "Denver"}, listed.text
        assert created.json()["volume"]["id"] == made["Berlin"]
        for location, volume_id in made.items():
            assert wait_volume(berlin, auth, f"{{cinder: {location}}}", volume_id)["status"] == "available"
            assert volume_file(federation["dcs"][location], volume_id).exists()
        # '|' reads one of them: Berlin's answers first.
        either = call("GET", berlin, f"/volume/v3/volumes/{made['Berlin']}", auth, "{cinder: Berlin|Denver}")
        assert either.status_code == 200 and either.json()["volume"]["id"] == made["Berlin"], either.text
        # '|' creates at the first that answers: Paris.
        one = call("POST", berlin, "/volume/v3/volumes", auth, "{cinder: Paris|Denver}",
                   json={"volume": {"size": 1, "name": name}})  # fmt: skip
        assert one.status_code == 202 and one.headers["X-Oid-Location"] == "Paris", one.text
        made["Paris"] = one.json()["volume"]["id"]
        assert wait_volume(berlin, auth, "{cinder: Paris}", made["Paris"])["status"] == "available"
    finally:
        for location, volume_id in made.items():
            delete_volume(berlin, auth, f"{{cinder: {location}}}", volume_id)


def test_a_server_writes_to_its_own_dcs_volume_and_cannot_take_another_dcs(federation):
    """A Berlin volume attached to a Berlin server: Nova and Cinder's attachment API,
    and the fake hypervisor writes into the volume's file. A Denver volume, to
    the same server or as the disk a Berlin server boots from: refused at the
    entry, with the reason, before Nova sees it."""
    berlin = federation["dcs"]["Berlin"]
    auth = token(berlin)
    here = "{nova: Berlin}"
    cloud = connect(berlin)
    image = cloud.image.create_image(
        name="attach-image", data=b"a" * 65536, disk_format="raw", container_format="bare", wait=True
    )
    server_id, network_id = boot_through(berlin, auth, here, image.id, "attach")
    volume = create_volume(berlin, auth, here, name="attach-here")
    denver_volume = create_volume(berlin, auth, "{cinder: Denver}", name="attach-there")
    try:
        attach = {"volumeAttachment": {"volumeId": volume["id"]}}
        attached = call("POST", berlin, f"/compute/v2.1/servers/{server_id}/os-volume_attachments", auth, here,
                        json=attach)  # fmt: skip
        assert attached.status_code == 200, attached.text
        assert wait_volume(berlin, auth, here, volume["id"], ("in-use",))["status"] == "in-use"
        with volume_file(berlin, volume["id"]).open("rb") as stored:
            stored.seek(-4096, os.SEEK_END)
            record = stored.read().rstrip(b"\0").decode()
        assert record.startswith(f"oid-lab attached volume {volume['id']} to {server_id}"), record

        elsewhere = "{nova: Berlin, cinder: Denver}"
        attach = {"volumeAttachment": {"volumeId": denver_volume["id"]}}
        refused = call("POST", berlin, f"/compute/v2.1/servers/{server_id}/os-volume_attachments", auth, elsewhere,
                       json=attach)  # fmt: skip
        assert refused.status_code == 400, refused.text
        assert "a volume of another DC cannot be attached" in refused.text
        boot = {
            "name": "bfv",
            "flavorRef": "1",
            "block_device_mapping_v2": [
                {"boot_index": 0, "uuid": denver_volume["id"], "source_type": "volume", "destination_type": "volume"}
            ],
        }
        refused = call("POST", berlin, "/compute/v2.1/servers", auth, elsewhere, json={"server": boot})
        assert refused.status_code == 400 and "volume at Denver" in refused.text, refused.text
        assert wait_volume(berlin, auth, "{cinder: Denver}", denver_volume["id"])["attachments"] == []
    finally:
        delete_through(berlin, auth, here, server_id, network_id)
        wait_volume(berlin, auth, here, volume["id"])
        delete_volume(berlin, auth, here, volume["id"])
        delete_volume(berlin, auth, "{cinder: Denver}", denver_volume["id"])
        cloud.image.delete_image(image)


def test_volume_modules_on_the_lab(federation, denver_image, tmp_path):
    """oid.cloud.volume and volume_info through Berlin's interposer: check mode, a
    volume in Berlin from Denver's image under '|', the re-run unchanged, an extend,
    '&' in one list, absent everywhere."""
    berlin = federation["dcs"]["Berlin"]
    image, data = denver_image
    name = f"oid-volume-{os.getpid()}"
    volume = {"name": name, "size": 1, "image": image.name, "scope": "{cinder: Berlin, glance: Denver|Paris}"}
    try:
        out = playbook(tmp_path, [{"oid.cloud.volume": volume, "check_mode": True, "register": "check"}], "check")
        assert out["check"]["changed"] and out["check"]["locations"]["Berlin"]["present"] is False
        assert connect(berlin).block_storage.find_volume(name) is None, "check mode made a volume"

        tasks = [
            {"oid.cloud.volume": volume, "register": "made"},
            {"oid.cloud.volume": volume, "register": "again"},
            {"oid.cloud.volume": {**volume, "size": 2}, "register": "grown"},
        ]
        out = playbook(tmp_path, tasks, "made")
        made = out["made"]["locations"]["Berlin"]["resource"]
        assert out["made"]["image"] == {"location": "Denver", "id": image.id}
        assert made["status"] == "available" and made["size"] == 1
        with volume_file(berlin, made["id"]).open("rb") as stored:
            assert stored.read(len(data)) == data, "the volume holds Denver's image"
        assert not out["again"]["changed"], out["again"]
        assert out["grown"]["changed"] and out["grown"]["locations"]["Berlin"]["resource"]["size"] == 2
        assert volume_file(berlin, made["id"]).stat().st_size == 2 * 1024**3

        both = {"name": name, "size": 2, "scope": "{cinder: Berlin&Denver}"}
        tasks = [
            {"oid.cloud.volume": both, "register": "both"},
            {"oid.cloud.volume_info": {"name": name, "scope": "{cinder: Berlin&Denver}"}, "register": "listed"},
        ]
        out = playbook(tmp_path, tasks, "both")
        assert out["both"]["locations"]["Denver"]["changed"] and not out["both"]["locations"]["Berlin"]["changed"]
        assert sorted(entry["location"] for entry in out["listed"]["volumes"]) == ["Berlin", "Denver"]
    finally:
        gone = {"name": name, "state": "absent", "scope": "{cinder: *}"}
        out = playbook(tmp_path, [{"oid.cloud.volume": gone, "register": "gone"}], "gone")
    assert out["gone"]["changed"]
    for dc in federation["dcs"].values():
        assert connect(dc).block_storage.find_volume(name) is None


def wait_image(entry, auth, scope, image_id) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        image = call("GET", entry, f"/image/v2/images/{image_id}", auth, scope).json()
        if image.get("status") in ("active", "killed", "deleted"):
            return image
        time.sleep(1)
    raise AssertionError(f"image {image_id} not active in time: {image.get('status')}")


def test_a_server_snapshot_goes_to_the_glance_the_scope_names(federation):
    """{nova: Berlin, glance: Denver}: a snapshot of a Berlin server is an image of
    Denver's Glance, active, with the server's bytes (the fake hypervisor uploads
    its disk through the interposers)."""
    berlin = federation["dcs"]["Berlin"]
    auth = token(berlin)
    cloud = connect(berlin)
    data = os.urandom(1024 * 1024 + 11)
    image = cloud.image.create_image(
        name="snapshot-source", data=data, disk_format="raw", container_format="bare", wait=True
    )
    here = "{nova: Berlin}"
    server_id, network_id = boot_through(berlin, auth, here, image.id, "snapshot")
    snapshot_id = None
    try:
        scope = "{nova: Berlin, glance: Denver}"
        action = {"createImage": {"name": f"snapshot-{os.getpid()}"}}
        answer = call(
            "POST",
            berlin,
            f"/compute/v2.1/servers/{server_id}/action",
            auth,
            scope,
            json=action,
            headers={"OpenStack-API-Version": "compute 2.45"},
        )  # its answer names the image
        assert answer.status_code == 202, answer.text
        snapshot_id = answer.json()["image_id"]
        snapshot = wait_image(berlin, auth, "{glance: Denver}", snapshot_id)
        assert snapshot["status"] == "active", snapshot
        assert snapshot["os_hash_value"] == hashlib.sha512(data).hexdigest(), "the server's bytes"
        assert connect(berlin).image.find_image(snapshot_id) is None, "not in Berlin's Glance"
        assert connect(federation["dcs"]["Denver"]).image.find_image(snapshot_id) is not None
    finally:
        if snapshot_id:
            call("DELETE", berlin, f"/image/v2/images/{snapshot_id}", auth, "{glance: Denver}")
        delete_through(berlin, auth, here, server_id, network_id)
        cloud.image.delete_image(image)


def test_boot_from_volume_attach_and_snapshot_modules(federation, denver_image, tmp_path):
    """oid.cloud.server with boot_from_volume (Berlin's Cinder makes the boot
    volume from Denver's image), server_volume (attach, re-run unchanged, a
    Denver volume refused, detach), volume_snapshot (made, re-run unchanged, gone)."""
    berlin = federation["dcs"]["Berlin"]
    image, data = denver_image
    name = f"oid-bfv-{os.getpid()}"
    here = "{nova: Berlin}"
    cloud = connect(berlin)
    network = cloud.network.create_network(name=name)
    cloud.network.create_subnet(network_id=network.id, ip_version=4, cidr="192.168.93.0/24")
    server = {"name": name, "image": image.name, "flavor": "m1.tiny", "network": name, "boot_from_volume": True,
              "volume_size": 1, "terminate_volume": True, "scope": "{nova: Berlin, glance: Denver}"}  # fmt: skip
    data_volume = {"name": f"{name}-data", "size": 1, "scope": here}
    attach = {"server": name, "volume": f"{name}-data", "scope": here}
    snapshot = {"name": f"{name}-snap", "volume": f"{name}-data", "force": True, "scope": here}
    try:
        tasks = [
            {"oid.cloud.server": server, "register": "booted"},
            {"oid.cloud.volume": data_volume, "register": "volume"},
            {"oid.cloud.server_volume": attach, "check_mode": True, "register": "check"},
            {"oid.cloud.server_volume": attach, "register": "attached"},
            {"oid.cloud.server_volume": attach, "register": "again"},
            {"oid.cloud.volume_snapshot": snapshot, "register": "snapped"},
            {"oid.cloud.volume_snapshot": snapshot, "register": "snapped_again"},
            {"oid.cloud.volume": {"name": f"{name}-copy", "snapshot": f"{name}-snap", "scope": here},
             "register": "copy"},
            {"oid.cloud.volume": {**data_volume, "scope": "{cinder: Denver}"}, "register": "denver_volume"},
            {"oid.cloud.server_volume": {**attach, "scope": "{nova: Berlin, cinder: Denver}"}, "register": "there",
             "ignore_errors": True},
        ]  # fmt: skip
        out = playbook(tmp_path, tasks, "bfv")
        booted = out["booted"]["locations"]["Berlin"]["resource"]
        assert booted["status"] == "ACTIVE" and out["booted"]["image"]["location"] == "Denver"
        root = booted["attached_volumes"][0]["id"]
        with volume_file(berlin, root).open("rb") as stored:
            assert stored.read(len(data)) == data, "the boot volume holds Denver's image"
            stored.seek(-4096, os.SEEK_END)
            assert f"to {booted['id']}" in stored.read().decode(errors="replace"), "the hypervisor's record"
        assert out["check"]["changed"] and out["attached"]["changed"], "check mode attached nothing"
        assert out["attached"]["changed"] and out["attached"]["locations"]["Berlin"]["volume"]["status"] == "in-use"
        assert not out["again"]["changed"]
        assert out["snapped"]["changed"] and not out["snapped_again"]["changed"]
        assert out["snapped"]["locations"]["Berlin"]["resource"]["status"] == "available"
        assert out["there"]["failed"] and "a volume of another DC cannot be attached" in out["there"]["msg"]
        # The volume from the snapshot has the attached volume's bytes: the hypervisor's record.
        attached_id = out["attached"]["locations"]["Berlin"]["volume"]["id"]
        with volume_file(berlin, out["copy"]["locations"]["Berlin"]["resource"]["id"]).open("rb") as copied:
            copied.seek(-4096, os.SEEK_END)
            assert f"attached volume {attached_id} to {booted['id']}" in copied.read().decode(errors="replace")
    finally:
        tasks = [
            {"oid.cloud.volume_snapshot": {**snapshot, "state": "absent"}, "register": "snap_gone"},
            {"oid.cloud.server_volume": {**attach, "state": "absent"}, "register": "detached", "ignore_errors": True},
            {"oid.cloud.server": {"name": name, "state": "absent", "scope": here}, "register": "server_gone"},
            {"oid.cloud.volume": {"name": f"{name}-copy", "state": "absent", "scope": here}, "register": "copy_gone"},
            {"oid.cloud.volume": {**data_volume, "state": "absent", "scope": "{cinder: Berlin&Denver}"},
             "register": "volume_gone"},
        ]  # fmt: skip
        out = playbook(tmp_path, tasks, "cleanup")
        cloud.network.delete_network(network)
    assert out["snap_gone"]["changed"] and out["detached"]["changed"], out
    assert cloud.block_storage.find_volume(root, ignore_missing=True) is None, "terminate_volume: the root went"
