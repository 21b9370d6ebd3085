#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: identity_user
short_description: Manage a user in every Keystone of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - "Create, update or delete a Keystone user, by name, in every Keystone the scope's C(identity)
    expression names (for example C({keystone: Berlin&Denver}))."
  - Keystones share nothing; each gets its own user with its own id. The default project is looked up
    by name in each Keystone, since project ids differ per Keystone.
options:
  name:
    description:
      - Name of the user.
    type: str
    required: true
  password:
    description:
      - Password of the user.
    type: str
  update_password:
    description:
      - C(on_create) sets the password only when the user is created; C(always) sets it on every run
        (and so always reports a change, as passwords cannot be compared).
    type: str
    choices: [always, on_create]
    default: on_create
  email:
    description:
      - Email address of the user.
    type: str
  description:
    description:
      - Description of the user.
    type: str
  default_project:
    description:
      - Name of the user's default project, in each Keystone.
    type: str
  domain:
    description:
      - ID of the domain of the user.
    type: str
    default: default
  is_enabled:
    description:
      - Whether the user is enabled.
    type: bool
    default: true
    aliases: [enabled]
  state:
    description:
      - Whether the user should be present or absent.
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
    description: Returns the user per location before and after (never the password).
"""

EXAMPLES = r"""
- name: alice in Berlin's and Denver's Keystones
  oid.cloud.identity_user:
    cloud: berlin
    scope: "{keystone: Berlin&Denver}"
    clouds: {Denver: denver}
    name: alice
    password: "{{ vault_alice_password }}"
    default_project: demo
"""

RETURN = r"""
locations:
  description: What happened in each Keystone (present, changed, resource).
  returned: always
  type: dict
  sample: {Denver: {present: true, changed: true, resource: {id: 4c2..., name: alice}}}
diff:
  description: The user per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import IdentityResourceModule


class IdentityUserModule(IdentityResourceModule):
    mutable = ("email", "description", "is_enabled")
    argument_spec = dict(
        name=dict(required=True),
        password=dict(no_log=True),
        update_password=dict(default="on_create", choices=["always", "on_create"], no_log=False),
        email=dict(),
        description=dict(),
        default_project=dict(),
        domain=dict(default="default"),
        is_enabled=dict(type="bool", default=True, aliases=["enabled"]),
        state=dict(default="present", choices=["present", "absent"]),
        clouds=dict(type="dict", default={}),
    )

    def find(self, conn):
        return conn.identity.find_user(self.params["name"], domain_id=self.params["domain"], ignore_missing=True)

    def default_project_id(self, conn):
        if not self.params["default_project"]:
            return None
        project = conn.identity.find_project(self.params["default_project"], domain_id=self.params["domain"])
        if project is None:
            raise ValueError("no project %r in this Keystone" % self.params["default_project"])
        return project.id

    def create(self, conn):
        attrs = self.wanted()
        project_id = self.default_project_id(conn)
        if project_id:
            attrs["default_project_id"] = project_id
        return conn.identity.create_user(
            name=self.params["name"], password=self.params["password"], domain_id=self.params["domain"], **attrs
        )

    def updates(self, resource):
        changes = super(IdentityUserModule, self).updates(resource)
        if self.params["password"] and self.params["update_password"] == "always":
            changes["password"] = self.params["password"]
        return changes

    def update(self, conn, resource, changes):
        return conn.identity.update_user(resource, **changes)

    def delete(self, conn, resource):
        conn.identity.delete_user(resource)

    def to_dict(self, resource):
        data = super(IdentityUserModule, self).to_dict(resource)
        data.pop("password", None)
        return data


def main():
    IdentityUserModule()()


if __name__ == "__main__":
    main()
