#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image
short_description: Manage images of the image (Glance) service at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Create, update or delete an image, by name, at every location the scope's C(image) expression names.
  - With C(Berlin&Denver) the image is made present (or absent) in both; only the locations where it is
    missing (or present) are changed, and the result reports each location.
  - With C(Denver|Paris), present in any alternative is enough; when it is nowhere, the interposer creates it
    at the first alternative that answers.
options:
  name:
    description:
      - Name of the image. Images are matched by name at each location (ids differ per DC).
    type: str
    required: true
  state:
    description:
      - Whether the image should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  filename:
    description:
      - Path of the image file to upload where the image is created.
      - Required to create an image.
    type: path
  disk_format:
    description:
      - Disk format of the image; cannot change once created.
    type: str
    default: qcow2
  container_format:
    description:
      - Container format of the image; cannot change once created.
    type: str
    default: bare
  visibility:
    description:
      - Who can see the image.
    type: str
    choices: [public, private, shared, community]
  min_disk:
    description:
      - Minimum disk size in GiB to boot the image.
    type: int
  min_ram:
    description:
      - Minimum RAM in MiB to boot the image.
    type: int
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the image per location before and after.
"""

EXAMPLES = r"""
- name: The same image in Berlin and Denver
  oid.cloud.image:
    cloud: berlin
    scope: "{glance: Berlin&Denver}"
    name: debian-12
    filename: debian-12.qcow2
    disk_format: qcow2
    visibility: public

- name: Gone from every DC
  oid.cloud.image:
    cloud: berlin
    scope: "{glance: *}"
    name: debian-12
    state: absent
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the image is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module changed the image at this location.
      type: bool
    resource:
      description: The image at this location, as the image API returns it.
      type: dict
  sample:
    Berlin: {present: true, changed: false, resource: {id: 1b1c..., name: debian-12, status: active}}
    Denver: {present: true, changed: true, resource: {id: 9f3e..., name: debian-12, status: active}}
diff:
  description: The image per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import ScopedResourceModule


class ImageModule(ScopedResourceModule):
    service = "image"
    mutable = ("visibility", "min_disk", "min_ram")
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        filename=dict(type="path"),
        disk_format=dict(default="qcow2"),
        container_format=dict(default="bare"),
        visibility=dict(choices=["public", "private", "shared", "community"]),
        min_disk=dict(type="int"),
        min_ram=dict(type="int"),
    )

    def find(self, conn):
        return conn.image.find_image(self.params["name"], ignore_missing=True)

    def create(self, conn):
        if not self.params["filename"]:
            raise ValueError("filename is required to create the image")
        return conn.image.create_image(
            name=self.params["name"],
            filename=self.params["filename"],
            disk_format=self.params["disk_format"],
            container_format=self.params["container_format"],
            wait=self.params["wait"],
            timeout=self.params["timeout"],
            allow_duplicates=True,
            validate_checksum=True,
            use_import=False,
            **self.wanted(),
        )

    def update(self, conn, resource, changes):
        return conn.image.update_image(resource, **changes)

    def delete(self, conn, resource):
        conn.image.delete_image(resource)


def main():
    ImageModule()()


if __name__ == "__main__":
    main()
