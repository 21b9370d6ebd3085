#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: service_account
short_description: A service's account in one Keystone, and its role in a project, in one module run
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Makes a user of one Keystone (the one O(auth) names, directly, not through an interposer) with
    O(role) in O(project), as Kolla's C(service-ks-register) does with a user task and a role task.
  - "Why one module: over 1000 DCs, site.yml's time on the controller is mostly its module runs
    (docs/performance.md); the user and its role were two, each with its own token."
  - The user is found by name in O(domain). Its description, default project and enabled state are
    set when they differ; its password when it is created, or on every run with
    O(update_password=always) (a password cannot be compared, so that run reports a change).
  - O(project) and O(role) must exist; the task fails, naming the missing one, otherwise.
options:
  name:
    description:
      - Name of the user.
    type: str
    required: true
  password:
    description:
      - Its password. Required when the user does not exist yet, and with O(update_password=always).
    type: str
  update_password:
    description:
      - C(on_create) sets the password only when the user is created; C(always) on every run.
    type: str
    choices: [always, on_create]
    default: on_create
  description:
    description:
      - Description of the user.
    type: str
  domain:
    description:
      - Name or ID of the domain of the user and of O(project).
    type: str
    default: default
  project:
    description:
      - Name or ID of the project the user has O(role) in; also the user's default project.
    type: str
    required: true
  role:
    description:
      - Name or ID of the (global) role the user has in O(project).
    type: str
    required: true
notes:
  - Supports check mode (what would change, nothing written).
  - Makes the account and its role; removing one is M(openstack.cloud.identity_user) with C(state=absent).
extends_documentation_fragment:
  - oid.cloud.openstack
"""

EXAMPLES = r"""
- name: The interposer's account in this DC's Keystone, with the service role
  oid.cloud.service_account:
    auth: "{{ oid_keystone_admin_auth }}"
    region_name: RegionOne
    name: oid-interposer
    password: "{{ interposer_password }}"
    description: the interposer of Berlin validates tokens of this Keystone for other DCs
    project: service
    role: service
  no_log: true
"""

RETURN = r"""
user:
  description: The user, as Keystone has it after the run (none of it in check mode, for a user to create).
  returned: success
  type: dict
  contains:
    id:
      description: Its ID (in this Keystone only).
      type: str
    name:
      description: Its name.
      type: str
changes:
  description: What changed, or would in check mode.
  returned: always
  type: list
  elements: str
  sample: [user created, role service given in project service]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import OidModule


class ServiceAccountModule(OidModule):
    argument_spec = dict(
        name=dict(required=True),
        password=dict(no_log=True),
        update_password=dict(default="on_create", choices=["always", "on_create"]),
        description=dict(),
        domain=dict(default="default"),
        project=dict(required=True),
        role=dict(required=True),
    )
    module_kwargs = dict(required_if=[("update_password", "always", ["password"])])
    scoped = False

    def run(self):
        identity = self.conn.identity
        domain = self.find("domain", identity.find_domain, self.params["domain"])
        project = self.find("project", identity.find_project, self.params["project"], domain_id=domain.id)
        role = self.find("role", identity.find_role, self.params["role"])
        changes = []
        user = identity.find_user(self.params["name"], domain_id=domain.id)
        if user is None:
            user = self.create_user(domain, project, changes)
        else:
            user = self.update_user(user, project, changes)
        if user is None or not identity.validate_user_has_project_role(project, user, role):
            changes.append("role %s given in project %s" % (role.name, project.name))
            if not self.check_mode:
                identity.assign_project_role_to_user(project, user, role)
        self.results.update(
            changed=bool(changes),
            changes=changes,
            user=None if user is None else {"id": user.id, "name": user.name},
        )

    def find(self, kind, find_function, name_or_id, **query):
        found = find_function(name_or_id, **query)
        if found is None:
            self.ansible.fail_json(msg="%s %s not found in this Keystone" % (kind, name_or_id))
        return found

    def wanted(self, project):
        wanted = {"default_project_id": project.id, "is_enabled": True}
        if self.params["description"] is not None:
            wanted["description"] = self.params["description"]
        return wanted

    def create_user(self, domain, project, changes):
        if self.params["password"] is None:
            self.ansible.fail_json(msg="user %s does not exist: its password is required" % self.params["name"])
        changes.append("user created")
        if self.check_mode:
            return None
        return self.conn.identity.create_user(
            name=self.params["name"], domain_id=domain.id, password=self.params["password"], **self.wanted(project)
        )

    def update_user(self, user, project, changes):
        updates = dict((key, value) for key, value in self.wanted(project).items() if getattr(user, key) != value)
        if updates:
            changes.append("user's %s updated" % ", ".join(sorted(updates)))
        if self.params["update_password"] == "always":
            updates["password"] = self.params["password"]
            changes.append("user's password set")
        if updates and not self.check_mode:
            return self.conn.identity.update_user(user, **updates)
        return user


def main():
    module = ServiceAccountModule()
    module()


if __name__ == "__main__":
    main()
