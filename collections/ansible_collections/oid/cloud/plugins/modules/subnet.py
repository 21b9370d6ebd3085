#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: subnet
short_description: Manage subnets of the network (Neutron) service at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Create, update or delete a subnet, by name within its network, at every location the scope's
    C(network) expression names. The network is looked up by name or id at each location (its id differs
    per DC).
  - With C(Berlin|Denver), a missing subnet is created at the first alternative that answered.
options:
  name:
    description:
      - Name of the subnet.
    type: str
    required: true
  network:
    description:
      - Name or id of the network the subnet belongs to.
    type: str
    required: true
    aliases: [network_name]
  state:
    description:
      - Whether the subnet should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  cidr:
    description:
      - The subnet's address range. Required to create a subnet.
    type: str
  ip_version:
    description:
      - IP version of the subnet.
    type: int
    choices: [4, 6]
    default: 4
  enable_dhcp:
    description:
      - Whether Neutron serves DHCP on the subnet.
    type: bool
  gateway_ip:
    description:
      - The gateway's address; by default the first address of C(cidr).
    type: str
  dns_nameservers:
    description:
      - DNS servers given to the subnet's ports.
    type: list
    elements: str
  allocation_pool_start:
    description:
      - First address Neutron allocates (with C(allocation_pool_end)); set at creation only.
    type: str
  allocation_pool_end:
    description:
      - Last address Neutron allocates; set at creation only.
    type: str
  description:
    description:
      - Free text describing the subnet.
    type: str
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the subnet per location before and after.
"""

EXAMPLES = r"""
- name: The private network's subnet in Berlin and in Denver
  oid.cloud.subnet:
    cloud: berlin
    scope: "{neutron: Berlin&Denver}"
    network: private
    name: private-v4
    cidr: 192.168.10.0/24
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the subnet is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module changed the subnet at this location.
      type: bool
    resource:
      description: The subnet at this location, as the network API returns it.
      type: dict
  sample:
    Berlin: {present: true, changed: true, resource: {id: 0a2f..., name: private-v4, cidr: 192.168.10.0/24}}
diff:
  description: The subnet per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import LocationError, ScopedResourceModule

ATTRIBUTES = dict(
    enable_dhcp="is_dhcp_enabled",
    gateway_ip="gateway_ip",
    dns_nameservers="dns_nameservers",
    description="description",
)


class SubnetModule(ScopedResourceModule):
    service = "network"
    mutable = tuple(ATTRIBUTES)
    attribute_names = ATTRIBUTES
    references_per_location = True
    argument_spec = dict(
        name=dict(required=True),
        network=dict(required=True, aliases=["network_name"]),
        state=dict(default="present", choices=["present", "absent"]),
        cidr=dict(),
        ip_version=dict(type="int", default=4, choices=[4, 6]),
        enable_dhcp=dict(type="bool"),
        gateway_ip=dict(),
        dns_nameservers=dict(type="list", elements="str"),
        allocation_pool_start=dict(),
        allocation_pool_end=dict(),
        description=dict(),
    )
    module_kwargs = dict(
        required_if=[("state", "present", ("cidr",))],
        required_together=[("allocation_pool_start", "allocation_pool_end")],
    )

    def network_at(self, conn):
        return conn.network.find_network(self.params["network"], ignore_missing=True)

    def find(self, conn):
        network = self.network_at(conn)
        if network is None:
            return None  # no network, so no subnet: created once the network is
        return conn.network.find_subnet(self.params["name"], network_id=network.id, ignore_missing=True)

    def create(self, conn):
        network = self.network_at(conn)
        if network is None:
            raise LocationError("no network %r here" % self.params["network"])
        pools = None
        if self.params["allocation_pool_start"]:
            pools = [dict(start=self.params["allocation_pool_start"], end=self.params["allocation_pool_end"])]
        extra = dict(allocation_pools=pools) if pools else {}
        return conn.network.create_subnet(
            name=self.params["name"],
            network_id=network.id,
            cidr=self.params["cidr"],
            ip_version=self.params["ip_version"],
            **dict(self.wanted(), **extra),
        )

    def update(self, conn, resource, changes):
        return conn.network.update_subnet(resource, **changes)

    def delete(self, conn, resource):
        conn.network.delete_subnet(resource)


def main():
    SubnetModule()()


if __name__ == "__main__":
    main()
