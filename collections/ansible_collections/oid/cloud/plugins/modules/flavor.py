#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flavor
short_description: Manage compute (Nova) flavors at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Create, update or delete a flavor, by name, at every location the scope's C(compute) expression names.
    Every DC has its own Nova, hence its own flavors.
  - Like M(openstack.cloud.compute_flavor), a flavor whose size (C(ram), C(vcpus), C(disk), C(ephemeral),
    C(swap)) or C(is_public) differs is deleted and created again with the same id; C(description) and
    C(extra_specs) are updated in place.
options:
  name:
    description:
      - Name of the flavor; flavors are matched by name at each location.
    type: str
    required: true
  state:
    description:
      - Whether the flavor should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  ram:
    description:
      - Memory in MiB. Required to create a flavor.
    type: int
  vcpus:
    description:
      - Number of virtual CPUs. Required to create a flavor.
    type: int
  disk:
    description:
      - Root disk in GiB.
    type: int
    default: 0
  ephemeral:
    description:
      - Ephemeral disk in GiB.
    type: int
    default: 0
  swap:
    description:
      - Swap in MiB.
    type: int
    default: 0
  is_public:
    description:
      - Whether every project may use the flavor.
    type: bool
    default: true
  id:
    description:
      - The flavor's id, the same at every location; by default Nova generates one per location.
    type: str
    aliases: [flavorid]
  description:
    description:
      - Free text describing the flavor.
    type: str
  extra_specs:
    description:
      - Extra specs to set on the flavor (keys not listed are left alone).
    type: dict
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the flavor per location before and after.
"""

EXAMPLES = r"""
- name: m1.tiny in every DC
  oid.cloud.flavor:
    cloud: berlin
    scope: "{nova: *}"
    name: m1.tiny
    ram: 512
    vcpus: 1
    disk: 1

- name: Gone from Denver and Paris
  oid.cloud.flavor:
    cloud: berlin
    scope: "{nova: Denver&Paris}"
    name: m1.tiny
    state: absent
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the flavor is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module changed the flavor at this location.
      type: bool
    resource:
      description: The flavor at this location, as the compute API returns it.
      type: dict
  sample:
    Berlin: {present: true, changed: false, resource: {id: 1, name: m1.tiny, ram: 512, vcpus: 1, disk: 1}}
diff:
  description: The flavor per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import ScopedResourceModule

# What Nova cannot change on an existing flavor: a difference means a new flavor.
SIZE_ATTRIBUTES = ("ram", "vcpus", "disk", "ephemeral", "swap", "is_public")


def current_value(flavor, key):
    value = getattr(flavor, key, None)
    # Nova shows no swap as "" in some microversions.
    return 0 if key == "swap" and value == "" else value


class FlavorModule(ScopedResourceModule):
    service = "compute"
    mutable = SIZE_ATTRIBUTES + ("description",)
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        ram=dict(type="int"),
        vcpus=dict(type="int"),
        disk=dict(type="int", default=0),
        ephemeral=dict(type="int", default=0),
        swap=dict(type="int", default=0),
        is_public=dict(type="bool", default=True),
        id=dict(aliases=["flavorid"]),
        description=dict(),
        extra_specs=dict(type="dict"),
    )
    module_kwargs = dict(required_if=[("state", "present", ("ram", "vcpus"))])

    def find(self, conn):
        return conn.compute.find_flavor(self.params["name"], ignore_missing=True, get_extra_specs=True)

    def updates(self, resource):
        changes = dict((key, value) for key, value in self.wanted().items() if current_value(resource, key) != value)
        extra = self.params["extra_specs"] or {}
        current = resource.extra_specs or {}
        if any(current.get(key) != str(value) for key, value in extra.items()):
            changes["extra_specs"] = extra
        return changes

    def create(self, conn, flavor_id=None):
        flavor_id = flavor_id or self.params["id"] or "auto"
        flavor = conn.compute.create_flavor(name=self.params["name"], id=flavor_id, **self.wanted())
        if self.params["extra_specs"]:
            conn.compute.create_flavor_extra_specs(flavor, self.extra_specs())
        return self.find(conn)

    def update(self, conn, resource, changes):
        if any(key in changes for key in SIZE_ATTRIBUTES):
            # Same id again, so that what refers to it by id still finds it.
            conn.compute.delete_flavor(resource)
            return self.create(conn, flavor_id=resource.id)
        if "description" in changes:
            conn.compute.update_flavor(resource, description=changes["description"])
        if "extra_specs" in changes:
            conn.compute.create_flavor_extra_specs(resource, self.extra_specs())
        return self.find(conn)

    def extra_specs(self):
        return dict((key, str(value)) for key, value in self.params["extra_specs"].items())

    def delete(self, conn, resource):
        conn.compute.delete_flavor(resource)


def main():
    FlavorModule()()


if __name__ == "__main__":
    main()
