"""A Cinder volume driver that keeps each volume in a file of the DC's host.

The lab's containers have no block devices, no LVM and no iSCSI target, so
no shipped driver fits. This one still does the work Cinder asks of a
driver, with real bytes:

- a volume is a sparse file of its size under ``oid_lab_volume_directory``;
- a volume from an image gets the bytes Cinder downloaded from Glance, with
  the user's token, through the DC's catalog (so, under oid, through the
  interposer and across the WAN when the scope puts Glance elsewhere);
  Cinder verified them and ran ``qemu-img info`` on them before this driver
  is called, and this driver hashes what it writes;
- a snapshot, a clone and a volume from a snapshot copy the bytes;
- a volume uploaded to an image sends its bytes to Glance;
- an attachment's connection names the file: the lab's fake hypervisor,
  which mounts the same directory (as a hypervisor sees its host's LVM
  volumes), writes into it, so that what an attached server wrote can be
  read back.
"""

from __future__ import annotations

import hashlib
import os
import time

from cinder import exception
from cinder.image import image_utils
from cinder.volume import driver
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

file_opts = [
    cfg.StrOpt(
        "oid_lab_volume_directory",
        default="/var/lib/cinder/volumes",
        help="Where the lab's file driver keeps one file per volume and snapshot.",
    ),
]

GiB = 1024**3
CHUNK = 1024 * 1024
# The connection type Nova's fake hypervisor understands (oid_lab.nova_fake).
DRIVER_VOLUME_TYPE = "oid_lab_file"


def copy_sparse(source: str, dest: str) -> None:
    """Copy ``source`` to ``dest`` keeping its holes: a 1 GiB volume with 3 MiB
    written costs 3 MiB, not a gigabyte of zeros."""
    size = os.path.getsize(source)
    with open(source, "rb") as src, open(dest, "wb") as dst:
        dst.truncate(size)
        offset = 0
        while offset < size:
            try:
                offset = os.lseek(src.fileno(), offset, os.SEEK_DATA)
            except OSError:  # ENXIO: nothing but a hole up to the end
                break
            end = os.lseek(src.fileno(), offset, os.SEEK_HOLE)
            src.seek(offset)
            dst.seek(offset)
            while offset < end:
                chunk = src.read(min(CHUNK, end - offset))
                dst.write(chunk)
                offset += len(chunk)


class FileDriver(driver.VolumeDriver):
    """One file per volume, in a directory of the DC's host."""

    VERSION = "1.0.0"
    # Not a driver of Cinder's tree: no third-party CI to name.
    CI_WIKI_NAME = "oid-lab"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(file_opts)
        self.directory = self.configuration.oid_lab_volume_directory

    # Setup and stats -------------------------------------------------------

    def do_setup(self, context):
        os.makedirs(self.directory, exist_ok=True)

    def check_for_setup_error(self):
        if not os.access(self.directory, os.W_OK):
            raise exception.VolumeBackendAPIException(data=f"{self.directory} is not writable")

    def _update_volume_stats(self):
        disk = os.statvfs(self.directory)
        backend = self.configuration.safe_get("volume_backend_name") or self.__class__.__name__
        self._stats = {
            "volume_backend_name": backend,
            "vendor_name": "oid lab",
            "driver_version": self.VERSION,
            "storage_protocol": DRIVER_VOLUME_TYPE,
            "total_capacity_gb": disk.f_blocks * disk.f_frsize // GiB,
            "free_capacity_gb": disk.f_bavail * disk.f_frsize // GiB,
            "reserved_percentage": 0,
            "thin_provisioning_support": True,
            "max_over_subscription_ratio": 20.0,
            "multiattach": False,
        }

    # Paths -----------------------------------------------------------------

    def path_of(self, name: str) -> str:
        path = os.path.join(self.directory, name)
        if os.path.dirname(path) != self.directory:  # a name is Cinder's, but still
            raise exception.InvalidInput(reason=f"bad volume name {name!r}")
        return path

    def volume_path(self, volume) -> str:
        return self.path_of(volume.name)

    # Volumes and snapshots -------------------------------------------------

    def create_volume(self, volume):
        with open(self.volume_path(volume), "xb") as handle:
            handle.truncate(volume.size * GiB)

    def delete_volume(self, volume):
        self._remove(self.volume_path(volume))

    def extend_volume(self, volume, new_size):
        os.truncate(self.volume_path(volume), new_size * GiB)

    def create_snapshot(self, snapshot):
        copy_sparse(self.volume_path(snapshot.volume), self.path_of(snapshot.name))

    def delete_snapshot(self, snapshot):
        self._remove(self.path_of(snapshot.name))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._copy_to(self.path_of(snapshot.name), volume)

    def create_cloned_volume(self, volume, src_vref):
        self._copy_to(self.volume_path(src_vref), volume)

    def _copy_to(self, source: str, volume) -> None:
        dest = self.volume_path(volume)
        copy_sparse(source, dest)
        if os.path.getsize(dest) < volume.size * GiB:
            os.truncate(dest, volume.size * GiB)

    @staticmethod
    def _remove(path: str) -> None:
        try:
            os.remove(path)
        except FileNotFoundError:
            LOG.info("oid-lab %s was already gone", path)

    # Images ----------------------------------------------------------------

    def copy_image_to_volume(self, context, volume, image_service, image_id, disable_sparse=False):
        """Write the image's bytes into the volume.

        Cinder's flow has already downloaded the image from Glance into a
        temporary file and checked it (format, backing file); it is reused.
        Without it (another caller), the image is downloaded here."""
        started = time.monotonic()
        fetched = image_utils.TemporaryImages.for_image_service(image_service).get(context, image_id)
        if fetched is not None:
            written, digest = self._write_from_file(fetched, volume)
        else:
            written, digest = self._write_from_glance(context, image_service, image_id, volume)
        LOG.info(
            "oid-lab wrote image %(image)s into volume %(volume)s: %(size)d bytes in %(seconds).3fs, sha512 %(digest)s",
            {"image": image_id, "volume": volume.id, "size": written, "seconds": time.monotonic() - started,
             "digest": digest},
        )  # fmt: skip

    def _write_from_file(self, source: str, volume) -> tuple[int, str]:
        with open(source, "rb") as src:
            return self._write(iter(lambda: src.read(CHUNK), b""), volume)

    def _write_from_glance(self, context, image_service, image_id, volume) -> tuple[int, str]:
        temporary = self.volume_path(volume) + ".download"
        try:
            with open(temporary, "wb") as sink:
                image_service.download(context, image_id, sink)
            return self._write_from_file(temporary, volume)
        finally:
            self._remove(temporary)

    def _write(self, chunks, volume) -> tuple[int, str]:
        limit = volume.size * GiB
        digest = hashlib.sha512()
        written = 0
        with open(self.volume_path(volume), "r+b") as dst:
            for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise exception.ImageTooBig(image_id="", reason=f"more than the volume's {volume.size} GiB")
                digest.update(chunk)
                dst.write(chunk)
        return written, digest.hexdigest()

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        """Send the volume's bytes to Glance, as they are: the lab converts nothing."""
        if image_meta.get("disk_format") not in (None, "raw"):
            raise exception.ImageUnacceptable(
                image_id=image_meta["id"], reason="the lab's file driver uploads raw images only"
            )
        with open(self.volume_path(volume), "rb") as source:
            image_service.update(context, image_meta["id"], {}, source)

    # Attachments -----------------------------------------------------------

    def ensure_export(self, context, volume):
        pass

    def create_export(self, context, volume, connector):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        return {
            "driver_volume_type": DRIVER_VOLUME_TYPE,
            "data": {"device_path": self.volume_path(volume), "volume_id": volume.id},
        }

    def terminate_connection(self, volume, connector, **kwargs):
        pass
