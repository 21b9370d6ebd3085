#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volume_snapshot
short_description: Create or delete volume snapshots (Cinder) at every location of a scope
version_added: 0.2.0
author: oid developers (@oid-cloud)
description:
  - Create, or delete, a snapshot by name at every location the scope's C(volume) expression names, of the
    volume of that name at the same location (a snapshot stays in its volume's DC).
  - An existing snapshot is kept as it is; only C(description) and C(metadata) are kept up to date.
options:
  name:
    description:
      - Name of the snapshot; snapshots are matched by name at each location.
    type: str
    required: true
    aliases: [display_name]
  state:
    description:
      - Whether the snapshot should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  volume:
    description:
      - Name or id of the volume to snapshot, looked up at each location. Required to create a snapshot.
    type: str
  force:
    description:
      - Snapshot a volume that is attached to a server (C(in-use)).
    type: bool
    default: false
  description:
    description:
      - Free text describing the snapshot.
    type: str
    aliases: [display_description]
  metadata:
    description:
      - Metadata of the snapshot; the keys given are kept to these values.
    type: dict
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, creates or deletes nothing.
  diff_mode:
    support: full
    description: Returns the snapshot per location before and after.
"""

EXAMPLES = r"""
- name: A snapshot of "data" in Berlin and in Denver, each of its own DC's volume
  oid.cloud.volume_snapshot:
    cloud: berlin
    scope: "{cinder: Berlin&Denver}"
    name: data-before-upgrade
    volume: data
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the snapshot is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module created, changed or deleted the snapshot at this location.
      type: bool
    resource:
      description: The snapshot at this location, as the block storage API details it.
      type: dict
  sample:
    Berlin: {present: true, changed: true, resource: {id: 8a1d..., name: data-before-upgrade, status: available}}
diff:
  description: The snapshot per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import LocationError, ScopedResourceModule


class VolumeSnapshotModule(ScopedResourceModule):
    service = "volume"
    # The volume is looked up where the snapshot is made.
    references_per_location = True
    mutable = ("description",)
    argument_spec = dict(
        name=dict(required=True, aliases=["display_name"]),
        state=dict(default="present", choices=["present", "absent"]),
        volume=dict(),
        force=dict(type="bool", default=False),
        description=dict(aliases=["display_description"]),
        metadata=dict(type="dict"),
    )
    module_kwargs = dict(required_if=[("state", "present", ("volume",))])

    def find(self, conn):
        return conn.block_storage.find_snapshot(self.params["name"], ignore_missing=True, details=True)

    def updates(self, resource):
        changes = super(VolumeSnapshotModule, self).updates(resource)
        wanted = self.params["metadata"] or {}
        current = resource.metadata or {}
        if any(current.get(key) != str(value) for key, value in wanted.items()):
            changes["metadata"] = dict((key, str(value)) for key, value in wanted.items())
        return changes

    def update(self, conn, resource, changes):
        proxy = conn.block_storage
        if "description" in changes:
            proxy.update_snapshot(resource, description=changes["description"])
        if "metadata" in changes:
            proxy.set_snapshot_metadata(resource, **changes["metadata"])
        return proxy.get_snapshot(resource)

    def create(self, conn):
        proxy = conn.block_storage
        volume = proxy.find_volume(self.params["volume"], ignore_missing=False)
        attributes = dict(name=self.params["name"], volume_id=volume.id, is_forced=self.params["force"])
        if self.params["description"] is not None:
            attributes["description"] = self.params["description"]
        if self.params["metadata"]:
            attributes["metadata"] = dict((k, str(v)) for k, v in self.params["metadata"].items())
        snapshot = proxy.create_snapshot(**attributes)
        if not self.params["wait"]:
            return snapshot
        try:
            return proxy.wait_for_status(snapshot, status="available", failures=["error"], wait=self.params["timeout"])
        except Exception as exc:
            raise LocationError("snapshot %s did not become available: %s" % (snapshot.id, exc)) from exc

    def delete(self, conn, resource):
        conn.block_storage.delete_snapshot(resource)
        if self.params["wait"]:
            conn.block_storage.wait_for_delete(resource, wait=self.params["timeout"])


def main():
    VolumeSnapshotModule()()


if __name__ == "__main__":
    main()
