#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volume_info
short_description: List volumes (Cinder) at the locations of a scope
version_added: 0.2.0
author: oid developers (@oid-cloud)
description:
  - Lists volumes with one request to the entry DC's interposer, which runs it where the scope's C(volume)
    expression says. Under C(&) the lists of every location come back as one list, each volume with the
    location it came from; under C(|) the list of the first location that answers.
options:
  name:
    description:
      - Only volumes with this name.
    type: str
  all_projects:
    description:
      - Volumes of every project (an admin's request).
    type: bool
    default: false
  filters:
    description:
      - Other query filters of the block storage API (for example C(status), C(bootable), C(metadata)).
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
- name: Volumes of Berlin and Denver, in one list
  oid.cloud.volume_info:
    cloud: berlin
    scope: "{cinder: Berlin&Denver}"
  register: volumes
"""

RETURN = r"""
volumes:
  description: The volumes, as the block storage API details them, each with the location that returned it.
  returned: always
  type: list
  elements: dict
  contains:
    location:
      description: The DC the volume is in.
      type: str
      sample: Denver
  sample: [{id: 2b7c..., name: data, size: 1, status: available, location: Berlin}]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import OidModule


class VolumeInfoModule(OidModule):
    service = "volume"
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
        # The path without a project id (Cinder 3.67+): project ids differ per DC.
        self.results["volumes"] = self.list_resources(self.conn.block_storage, "/volumes/detail", "volumes", query)


def main():
    VolumeInfoModule()()


if __name__ == "__main__":
    main()
