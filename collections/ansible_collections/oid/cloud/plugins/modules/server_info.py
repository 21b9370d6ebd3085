#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: server_info
short_description: List servers at the locations of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Lists servers (with details) with one request to the entry DC's interposer, which runs it where the
    scope's C(compute) expression says. Under C(&) the lists of every location come back as one list
    ("List VM & List VM = List VM"), each server with the location it came from; under C(|) the list of the
    first location that answers.
options:
  name:
    description:
      - Only servers whose name matches this regular expression (the compute API's C(name) filter).
    type: str
  all_projects:
    description:
      - Servers of every project (needs an admin token).
    type: bool
    default: false
  filters:
    description:
      - Other query filters of the compute API (for example C(status), C(flavor), C(image)).
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
- name: Servers of Berlin and Denver, in one list
  oid.cloud.server_info:
    cloud: berlin
    scope: "{nova: Berlin&Denver}"
  register: servers

- name: Where each server runs
  ansible.builtin.debug:
    msg: "{{ servers.servers | items2dict(key_name='name', value_name='location') }}"
"""

RETURN = r"""
servers:
  description: The servers, as the compute API details them, each with the location that returned it.
  returned: always
  type: list
  elements: dict
  contains:
    location:
      description: The DC the server runs in.
      type: str
      sample: Denver
  sample: [{id: 7d4e..., name: my-vm, status: ACTIVE, location: Berlin}]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import OidModule


class ServerInfoModule(OidModule):
    service = "compute"
    argument_spec = dict(
        name=dict(),
        all_projects=dict(type="bool", default=False),
        filters=dict(type="dict", default={}),
    )

    def run(self):
        query = dict(self.params["filters"])
        if self.params["name"]:
            query["name"] = self.params["name"]
        if self.params["all_projects"]:
            query["all_tenants"] = "True"
        self.results["servers"] = self.list_resources(self.conn.compute, "/servers/detail", "servers", query)


def main():
    ServerInfoModule()()


if __name__ == "__main__":
    main()
