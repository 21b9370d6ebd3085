#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: network
short_description: Manage networks of the network (Neutron) service at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Create, update or delete a network, by name, at every location the scope's C(network) expression names.
  - A network is local to its DC (the policy of the interposer refuses a server in one DC on a network of
    another); C(Berlin&Denver) makes a network of the same name in each.
options:
  name:
    description:
      - Name of the network; networks are matched by name at each location.
    type: str
    required: true
  state:
    description:
      - Whether the network should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  shared:
    description:
      - Whether every project may use the network.
    type: bool
  external:
    description:
      - Whether the network is an external network (router gateways).
    type: bool
  admin_state_up:
    description:
      - Whether the network is up.
    type: bool
  mtu:
    description:
      - MTU of the network.
    type: int
  port_security_enabled:
    description:
      - Whether ports of the network get port security by default.
    type: bool
  description:
    description:
      - Free text describing the network.
    type: str
  provider_network_type:
    description:
      - Provider network type (C(flat), C(vlan), C(geneve), ...); set at creation only.
    type: str
  provider_physical_network:
    description:
      - Physical network of a C(flat) or C(vlan) network; set at creation only.
    type: str
  provider_segmentation_id:
    description:
      - VLAN or tunnel id; set at creation only.
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
    description: Returns the network per location before and after.
"""

EXAMPLES = r"""
- name: A private network in Berlin and in Denver
  oid.cloud.network:
    cloud: berlin
    scope: "{neutron: Berlin&Denver}"
    name: private
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the network is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module changed the network at this location.
      type: bool
    resource:
      description: The network at this location, as the network API returns it.
      type: dict
  sample:
    Berlin: {present: true, changed: true, resource: {id: 5c1e..., name: private, status: ACTIVE}}
diff:
  description: The network per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import ScopedResourceModule

# Module option -> attribute of openstacksdk's Network.
ATTRIBUTES = dict(
    shared="is_shared",
    external="is_router_external",
    admin_state_up="is_admin_state_up",
    mtu="mtu",
    port_security_enabled="is_port_security_enabled",
    description="description",
)
CREATION_ONLY = dict(
    provider_network_type="provider_network_type",
    provider_physical_network="provider_physical_network",
    provider_segmentation_id="provider_segmentation_id",
)


class NetworkModule(ScopedResourceModule):
    service = "network"
    mutable = tuple(ATTRIBUTES)
    attribute_names = ATTRIBUTES
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        shared=dict(type="bool"),
        external=dict(type="bool"),
        admin_state_up=dict(type="bool"),
        mtu=dict(type="int"),
        port_security_enabled=dict(type="bool"),
        description=dict(),
        provider_network_type=dict(),
        provider_physical_network=dict(),
        provider_segmentation_id=dict(type="int"),
    )

    def find(self, conn):
        return conn.network.find_network(self.params["name"], ignore_missing=True)

    def create(self, conn):
        provider = dict(
            (attribute, self.params[option])
            for option, attribute in CREATION_ONLY.items()
            if self.params[option] is not None
        )
        return conn.network.create_network(name=self.params["name"], **dict(self.wanted(), **provider))

    def update(self, conn, resource, changes):
        return conn.network.update_network(resource, **changes)

    def delete(self, conn, resource):
        conn.network.delete_network(resource)


def main():
    NetworkModule()()


if __name__ == "__main__":
    main()
