#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: network_info
short_description: List networks at the locations of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Lists networks with one request to the entry DC's interposer, which runs it where the scope's C(network)
    expression says. Under C(&) the lists of every location come back as one list, each network with the
    location it came from; under C(|) the list of the first location that answers.
options:
  name:
    description:
      - Only networks with this name.
    type: str
  filters:
    description:
      - Other query filters of the network API (for example C(shared), C(router:external), C(status)).
    type: dict
    default: {}
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Networks of Berlin and Denver, in one list
  oid.cloud.network_info:
    cloud: berlin
    scope: "{neutron: Berlin&Denver}"
  register: networks
"""

RETURN = r"""
networks:
  description: The networks, each with the location that returned it.
  returned: always
  type: list
  elements: dict
  contains:
    location:
      description: The DC the network is in.
      type: str
      sample: Denver
  sample: [{id: 5c1e..., name: private, status: ACTIVE, location: Berlin}]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import OidModule


class NetworkInfoModule(OidModule):
    service = "network"
    argument_spec = dict(
        name=dict(),
        filters=dict(type="dict", default={}),
    )

    def run(self):
        query = dict(self.params["filters"])
        if self.params["name"]:
            query["name"] = self.params["name"]
        self.results["networks"] = self.list_resources(self.conn.network, "/networks", "networks", query)


def main():
    NetworkInfoModule()()


if __name__ == "__main__":
    main()
