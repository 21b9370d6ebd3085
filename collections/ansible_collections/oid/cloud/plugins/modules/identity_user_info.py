#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: identity_user_info
short_description: List users of every Keystone of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - "Lists users in each Keystone the scope's C(identity) expression names (for example
    C({keystone: Berlin&Denver})), each authenticated on its own, as one list where every user carries
    the location of its Keystone."
  - A Keystone that cannot be read fails the task under C(&), naming it; under C(|) the first Keystone
    that answers is listed.
options:
  name:
    description:
      - Only users with this name.
    type: str
  domain:
    description:
      - Only users of this domain ID.
    type: str
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
  - oid.cloud.keystones
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Who is alice, in Berlin and Denver?
  oid.cloud.identity_user_info:
    cloud: berlin
    scope: "{keystone: Berlin&Denver}"
    clouds: {Denver: denver}
    name: alice
"""

RETURN = r"""
users:
  description: The users, each with the location of its Keystone.
  returned: always
  type: list
  elements: dict
  sample: [{id: 4c2..., name: alice, location: Denver}]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import IdentityResourceModule
from ansible_collections.oid.cloud.plugins.module_utils.scope import AnyOf


class IdentityUserInfoModule(IdentityResourceModule):
    argument_spec = dict(
        name=dict(),
        domain=dict(),
        clouds=dict(type="dict", default={}),
    )

    def list_users(self, location, conn):
        query = dict((key, self.params[key]) for key in ("name",) if self.params[key])
        if self.params["domain"]:
            query["domain_id"] = self.params["domain"]
        return [dict(user.to_dict(computed=False), location=location) for user in conn.identity.users(**query)]

    def run(self):
        expr = self.expression()
        if isinstance(expr, AnyOf):
            failures = {}
            for location in expr.locations():
                found = self.each_location([location], self.list_users)[location]
                if found[0]:
                    self.results["users"] = found[1]
                    return
                failures[location] = found[1]
            self.fail_per_location(failures, users=[])
        found = self.each_location(expr.locations(), self.list_users)
        self.results["users"] = [user for ok, users in found.values() if ok for user in users]
        failures = dict((location, outcome[1]) for location, outcome in found.items() if not outcome[0])
        if failures:
            self.fail_per_location(failures)


def main():
    IdentityUserInfoModule()()


if __name__ == "__main__":
    main()
