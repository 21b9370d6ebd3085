"""A fake hypervisor that still moves the image's bytes, and a volume's.

Nova's FakeDriver boots nothing and reads nothing. The lab needs "image from
another DC" to be real, so before the fake spawn this driver downloads the
image through Nova's own image API (Glance, found in the service catalog
with the user's token, exactly as the libvirt driver fetches it), hashes
every byte, compares the hash with the one Glance recorded, and keeps the
bytes as the server's disk (``<instances_path>/<uuid>/disk``). A mismatch
fails the boot. One log line per fetch says what moved.

A snapshot uploads that disk to Glance (``nova.image.glance.API().update``,
as the libvirt driver does), so it leaves an active image with the server's
bytes, in the Glance the user's scope names.

A volume attached (or booted from) through the lab's Cinder file driver
(``oid_lab.cinder_file``) is a file this hypervisor sees at the same path, as
a hypervisor sees its host's volumes: it writes a record of the attachment
into the volume's last 4 KiB, which a test reads back from the volume.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time

from nova import exception
from nova.compute import task_states
from nova.image import glance
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# What the lab's Cinder driver names its connections (oid_lab.cinder_file).
FILE_VOLUME_TYPE = "oid_lab_file"
RECORD_BYTES = 4096


class HashingSink:
    """A file-like object for Nova's download(): hashes, counts, writes to ``disk``."""

    def __init__(self, hash_algorithm: str | None, disk):
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.multihash = hashlib.new(hash_algorithm) if hash_algorithm else None
        self.size = 0
        self.disk = disk

    def write(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        if self.multihash is not None:
            self.multihash.update(chunk)
        self.size += len(chunk)
        self.disk.write(chunk)

    def close(self) -> None:
        pass


def instance_directory(instance) -> str:
    return os.path.join(CONF.instances_path, instance.uuid)


def disk_path(instance) -> str:
    return os.path.join(instance_directory(instance), "disk")


class GlanceFetchingDriver(fake.FakeDriverWithoutFakeNodes):
    """FakeDriver whose spawn first fetches and verifies the image from Glance.

    Its one node has a stable identity (Nova's compute_id, under /var/lib/nova,
    which the lab keeps on the host as Kolla keeps it in a volume): FakeDriver's
    own node uuids are new at every start, so a restarted nova-compute found its
    node taken by its former self and refused to start."""

    def spawn(self, context, instance, image_meta, injected_files, admin_password, allocations,
              network_info=None, block_device_info=None, *args, **kwargs):  # fmt: skip
        # A server booted from a volume has no image of its own to fetch.
        if instance.image_ref and image_meta.obj_attr_is_set("id") and image_meta.id:
            self.fetch_image(context, instance, image_meta.id)
        for mapping in (block_device_info or {}).get("block_device_mapping") or []:
            self.write_attach_record(mapping.get("connection_info"), instance, mapping.get("mount_device"))
        return super().spawn(context, instance, image_meta, injected_files, admin_password, allocations,
                             network_info, block_device_info, *args, **kwargs)  # fmt: skip

    def destroy(self, context, instance, network_info, block_device_info=None, destroy_disks=True, **kwargs):
        if destroy_disks:
            shutil.rmtree(instance_directory(instance), ignore_errors=True)
        return super().destroy(context, instance, network_info, block_device_info, destroy_disks, **kwargs)

    def attach_volume(self, context, connection_info, instance, mountpoint, *args, **kwargs):
        self.write_attach_record(connection_info, instance, mountpoint)
        return super().attach_volume(context, connection_info, instance, mountpoint, *args, **kwargs)

    def write_attach_record(self, connection_info, instance, mountpoint) -> None:
        """What the server "writes" to a volume of the lab's Cinder: one line at its end."""
        if not connection_info or connection_info.get("driver_volume_type") != FILE_VOLUME_TYPE:
            return
        path = connection_info["data"]["device_path"]
        volume_id = connection_info["data"].get("volume_id")
        record = f"oid-lab attached volume {volume_id} to {instance.uuid} at {mountpoint}\n"
        with open(path, "r+b") as volume:
            volume.seek(max(0, os.path.getsize(path) - RECORD_BYTES))
            volume.write(record.encode().ljust(RECORD_BYTES, b"\0")[:RECORD_BYTES])
        LOG.info("oid-lab wrote to %(path)s: %(record)s", {"path": path, "record": record.strip()})

    def snapshot(self, context, instance, image_id, update_task_state):
        """Upload the server's disk to the snapshot image, as the libvirt driver does."""
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        api = glance.API()
        snapshot = api.get(context, image_id)
        metadata = {
            "name": snapshot["name"],
            "disk_format": "raw",
            "container_format": "bare",
            "properties": {"image_location": "snapshot", "image_state": "available", "owner_id": instance.project_id},
        }
        update_task_state(task_state=task_states.IMAGE_UPLOADING, expected_state=task_states.IMAGE_PENDING_UPLOAD)
        started = time.monotonic()
        with open(disk_path(instance), "rb") as disk:
            api.update(context, image_id, metadata, disk)
        LOG.info(
            "oid-lab uploaded snapshot %(image)s of %(instance)s: %(size)d bytes in %(seconds).3fs",
            {"image": image_id, "instance": instance.uuid, "size": os.path.getsize(disk_path(instance)),
             "seconds": time.monotonic() - started},
        )  # fmt: skip

    def fetch_image(self, context, instance, image_id: str) -> None:
        api = glance.API()
        image = api.get(context, image_id)
        algorithm = image.get("os_hash_algo") or image.get("properties", {}).get("os_hash_algo")
        expected = image.get("os_hash_value") or image.get("properties", {}).get("os_hash_value")
        os.makedirs(instance_directory(instance), exist_ok=True)
        started = time.monotonic()
        with open(disk_path(instance), "wb") as disk:
            sink = HashingSink(algorithm if expected else None, disk)
            api.download(context, image_id, data=sink)
        seconds = time.monotonic() - started
        if image.get("checksum") and sink.md5.hexdigest() != image["checksum"]:
            self.refuse(instance, image_id, "md5", image["checksum"], sink.md5.hexdigest())
        if expected and sink.multihash.hexdigest() != expected:
            self.refuse(instance, image_id, algorithm, expected, sink.multihash.hexdigest())
        LOG.info(
            "oid-lab fetched image %(image)s for %(instance)s: %(size)d bytes in %(seconds).3fs, "
            "%(algorithm)s verified %(digest)s",
            {"image": image_id, "instance": instance.uuid, "size": sink.size, "seconds": seconds,
             "algorithm": algorithm or "md5",
             "digest": (sink.multihash or sink.md5).hexdigest()},
        )  # fmt: skip

    @staticmethod
    def refuse(instance, image_id: str, algorithm: str, expected: str, actual: str):
        LOG.error("oid-lab image %s: %s mismatch, expected %s, got %s", image_id, algorithm, expected, actual)
        raise exception.ImageUnacceptable(
            image_id=image_id, reason=f"{algorithm} of the downloaded bytes is {actual}, Glance says {expected}"
        )
