"""A fake hypervisor that still moves the image's bytes.

Nova's FakeDriver boots nothing and reads nothing. The lab needs "image from
another DC" to be real, so before the fake spawn this driver downloads the
image through Nova's own image API (Glance, found in the service catalog
with the user's token, exactly as the libvirt driver fetches it), hashes
every byte, compares the hash with the one Glance recorded, and discards the
data. A mismatch fails the boot. One log line per fetch says what moved.
"""

from __future__ import annotations

import hashlib
import time

from nova import exception
from nova.image import glance
from nova.virt import fake
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class HashingSink:
    """A file-like object for Nova's download(): hashes, counts, keeps nothing."""

    def __init__(self, hash_algorithm: str | None):
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.multihash = hashlib.new(hash_algorithm) if hash_algorithm else None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        if self.multihash is not None:
            self.multihash.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        pass


class GlanceFetchingDriver(fake.FakeDriver):
    """FakeDriver whose spawn first fetches and verifies the image from Glance."""

    def spawn(self, context, instance, image_meta, *args, **kwargs):
        if image_meta.obj_attr_is_set("id") and image_meta.id:
            self.fetch_image(context, instance, image_meta.id)
        return super().spawn(context, instance, image_meta, *args, **kwargs)

    def fetch_image(self, context, instance, image_id: str) -> None:
        api = glance.API()
        image = api.get(context, image_id)
        algorithm = image.get("os_hash_algo") or image.get("properties", {}).get("os_hash_algo")
        expected = image.get("os_hash_value") or image.get("properties", {}).get("os_hash_value")
        sink = HashingSink(algorithm if expected else None)
        started = time.monotonic()
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
