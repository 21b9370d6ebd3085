#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volume
short_description: Create or delete volumes (Cinder) at every location of a scope
version_added: 0.2.0
author: oid developers (@oid-cloud)
description:
  - "Create, or delete, a volume by name at every location the scope's C(volume) expression names. A volume
    may be made from an image of another DC (C({cinder: Berlin, glance: Denver|Paris}): Berlin's Cinder
    downloads the image through the interposer)."
  - The image is looked up by name or id at the locations of the scope's C(image) expression, in order;
    the snapshot, the source volume and the volume type where the volume is made (their ids differ per DC).
  - A volume is local to its DC; a server of another DC cannot attach it or boot from it (the interposer
    refuses, with the reason).
  - An existing volume is not re-made when its source differs; C(size) only grows it (Cinder's extend), and
    C(description) and C(metadata) are kept up to date.
options:
  name:
    description:
      - Name of the volume; volumes are matched by name at each location.
    type: str
    required: true
  state:
    description:
      - Whether the volume should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  size:
    description:
      - Size in GiB. Required to create a volume, except from a snapshot or a volume (their size by default).
      - A larger size than an existing volume's extends it; a smaller one is refused.
    type: int
  image:
    description:
      - Name or id of an image to copy into the volume, looked up where the scope's C(image) expression says.
    type: str
  snapshot:
    description:
      - Name or id of a snapshot to make the volume from, looked up where the volume is made.
    type: str
  volume:
    description:
      - Name or id of a volume to clone, looked up where the volume is made.
    type: str
  volume_type:
    description:
      - Name or id of the volume type, at the location where the volume is made.
    type: str
  availability_zone:
    description:
      - Availability zone of the volume.
    type: str
  description:
    description:
      - Free text describing the volume.
    type: str
  metadata:
    description:
      - Metadata of the volume; the keys given are kept to these values.
    type: dict
  is_bootable:
    description:
      - Whether the volume is marked bootable.
    type: bool
    aliases: [bootable]
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, creates or deletes nothing.
  diff_mode:
    support: full
    description: Returns the volume per location before and after.
"""

EXAMPLES = r"""
- name: A volume in Berlin with Denver's image (or Paris's, when Denver is cut off)
  oid.cloud.volume:
    cloud: berlin
    scope: "{cinder: Berlin, glance: Denver|Paris}"
    name: data
    size: 1
    image: debian-12

- name: One in Berlin and one in Denver
  oid.cloud.volume:
    cloud: berlin
    scope: "{cinder: Berlin&Denver}"
    name: scratch
    size: 10

- name: Gone everywhere
  oid.cloud.volume:
    cloud: berlin
    scope: "{cinder: *}"
    name: scratch
    state: absent
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the volume is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module created, changed or deleted the volume at this location.
      type: bool
    resource:
      description: The volume at this location, as the block storage API details it.
      type: dict
  sample:
    Berlin: {present: true, changed: true, resource: {id: 2b7c..., name: data, size: 1, status: available}}
image:
  description: Where the image was found, and its id there (when a volume was made from an image).
  returned: when a volume was made from an image
  type: dict
  sample: {location: Denver, id: 9f3e...}
diff:
  description: The volume per location before and after.
  returned: always
  type: dict
"""

import time

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import (
    ImageFromScope,
    LocationError,
    ScopedResourceModule,
)

# Cinder's states a volume is settled in; an "error" one fails the module.
SETTLED = ("available", "in-use")


class VolumeModule(ImageFromScope, ScopedResourceModule):
    service = "volume"
    # Snapshots, source volumes and volume types are looked up where the volume is made.
    references_per_location = True
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        size=dict(type="int"),
        image=dict(),
        snapshot=dict(),
        volume=dict(),
        volume_type=dict(),
        availability_zone=dict(),
        description=dict(),
        metadata=dict(type="dict"),
        is_bootable=dict(type="bool", aliases=["bootable"]),
    )
    module_kwargs = dict(mutually_exclusive=[("image", "snapshot", "volume")])

    def find(self, conn):
        return conn.block_storage.find_volume(self.params["name"], ignore_missing=True, details=True)

    def updates(self, resource):
        changes = {}
        if self.params["size"] is not None and self.params["size"] != resource.size:
            if self.params["size"] < resource.size:
                raise LocationError(
                    "volume %s is %d GiB: a volume cannot shrink to %d GiB"
                    % (resource.id, resource.size, self.params["size"])
                )
            changes["size"] = self.params["size"]
        if self.params["description"] is not None and self.params["description"] != resource.description:
            changes["description"] = self.params["description"]
        wanted = self.params["metadata"] or {}
        current = resource.metadata or {}
        if any(current.get(key) != str(value) for key, value in wanted.items()):
            changes["metadata"] = dict((key, str(value)) for key, value in wanted.items())
        bootable = self.params["is_bootable"]
        if bootable is not None and bootable != _is_bootable(resource):
            changes["is_bootable"] = bootable
        return changes

    def update(self, conn, resource, changes):
        proxy = conn.block_storage
        if "size" in changes:
            proxy.extend_volume(resource, changes["size"])
            if self.params["wait"]:
                self.wait_extended(conn, resource, changes["size"])
        if "description" in changes:
            proxy.update_volume(resource, description=changes["description"])
        if "metadata" in changes:
            proxy.set_volume_metadata(resource, **changes["metadata"])
        if "is_bootable" in changes:
            proxy.set_volume_bootable_status(resource, changes["is_bootable"])
        return proxy.get_volume(resource)

    def create(self, conn):
        proxy = conn.block_storage
        attributes = dict(name=self.params["name"])
        if self.params["image"]:
            image_location, image_id = self.image_at()
            self.results["image"] = dict(location=image_location, id=image_id)
            attributes["image_id"] = image_id
        if self.params["snapshot"]:
            attributes["snapshot_id"] = proxy.find_snapshot(self.params["snapshot"], ignore_missing=False).id
        if self.params["volume"]:
            attributes["source_volume_id"] = proxy.find_volume(self.params["volume"], ignore_missing=False).id
        if self.params["volume_type"]:
            attributes["volume_type"] = proxy.find_type(self.params["volume_type"], ignore_missing=False).name
        if self.params["size"] is None and not (self.params["snapshot"] or self.params["volume"]):
            raise LocationError("size is required to create volume %r" % self.params["name"])
        optional = dict(
            size=self.params["size"],
            availability_zone=self.params["availability_zone"],
            description=self.params["description"],
            metadata=self.params["metadata"] and dict((k, str(v)) for k, v in self.params["metadata"].items()),
        )
        attributes.update((key, value) for key, value in optional.items() if value is not None)
        volume = proxy.create_volume(**attributes)
        if self.params["wait"]:
            volume = self.wait_settled(conn, volume)
        if self.params["is_bootable"] is not None and self.params["is_bootable"] != _is_bootable(volume):
            proxy.set_volume_bootable_status(volume, self.params["is_bootable"])
            volume = proxy.get_volume(volume)
        return volume

    def wait_settled(self, conn, volume):
        try:
            return conn.block_storage.wait_for_status(
                volume, status="available", failures=["error", "error_extending"], wait=self.params["timeout"]
            )
        except Exception as exc:
            raise LocationError("volume %s did not become available: %s" % (volume.id, exc)) from exc

    def wait_extended(self, conn, volume, size):
        """Cinder extends in the background: the volume is available before and after."""
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            current = conn.block_storage.get_volume(volume)
            if current.size == size and current.status == "available":
                return current
            if current.status.startswith("error") or time.monotonic() > deadline:
                raise LocationError("volume %s was not extended to %d GiB: %s" % (volume.id, size, current.status))
            time.sleep(1)

    def delete(self, conn, resource):
        conn.block_storage.delete_volume(resource)
        if self.params["wait"]:
            conn.block_storage.wait_for_delete(resource, wait=self.params["timeout"])


def _is_bootable(volume):
    # Cinder answers "true"/"false" strings; openstacksdk turns them into booleans.
    return str(volume.is_bootable).lower() == "true"


def main():
    VolumeModule()()


if __name__ == "__main__":
    main()
