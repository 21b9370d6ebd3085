#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: project
short_description: Manage a project in every Keystone of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - "Create, update or delete a Keystone project, by name, in every Keystone the scope's C(identity)
    expression names (for example C({keystone: Berlin&Denver}))."
  - Keystones share nothing; each gets its own project with its own id. Each Keystone is authenticated
    separately, with O(clouds) or with the module's own credentials.
options:
  name:
    description:
      - Name of the project.
    type: str
    required: true
  description:
    description:
      - Description of the project.
    type: str
  domain:
    description:
      - ID of the domain the project belongs to.
    type: str
    default: default
  is_enabled:
    description:
      - Whether the project is enabled.
    type: bool
    default: true
    aliases: [enabled]
  state:
    description:
      - Whether the project should be present or absent.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
  - oid.cloud.keystones
attributes:
  check_mode:
    support: full
    description: Reads every Keystone, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the project per location before and after.
"""

EXAMPLES = r"""
- name: The project demo in Berlin's and Denver's Keystones
  oid.cloud.project:
    cloud: berlin
    scope: "{keystone: Berlin&Denver}"
    clouds: {Denver: denver}
    name: demo
"""

RETURN = r"""
locations:
  description: What happened in each Keystone (present, changed, resource).
  returned: always
  type: dict
  sample: {Berlin: {present: true, changed: false, resource: {id: 8a1..., name: demo}}}
diff:
  description: The project per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import IdentityResourceModule


class ProjectModule(IdentityResourceModule):
    mutable = ("description", "is_enabled")
    argument_spec = dict(
        name=dict(required=True),
        description=dict(),
        domain=dict(default="default"),
        is_enabled=dict(type="bool", default=True, aliases=["enabled"]),
        state=dict(default="present", choices=["present", "absent"]),
        clouds=dict(type="dict", default={}),
    )

    def find(self, conn):
        return conn.identity.find_project(self.params["name"], domain_id=self.params["domain"], ignore_missing=True)

    def create(self, conn):
        return conn.identity.create_project(name=self.params["name"], domain_id=self.params["domain"], **self.wanted())

    def update(self, conn, resource, changes):
        return conn.identity.update_project(resource, **changes)

    def delete(self, conn, resource):
        conn.identity.delete_project(resource)


def main():
    ProjectModule()()


if __name__ == "__main__":
    main()
