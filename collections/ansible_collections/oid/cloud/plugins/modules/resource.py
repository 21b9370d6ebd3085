#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: resource
short_description: Manage any openstacksdk resource at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - A generic module, so that no API is out of reach - any resource type that openstacksdk's proxy of
    a service knows (for example C(image) of C(image), C(network) of C(network), C(project) of C(identity)),
    kept present or absent, by name, at every location of the scope's expression for that service.
  - Keystone resources (service C(identity)) are kept in every Keystone of the scope, each authenticated
    on its own, as M(oid.cloud.project) does.
options:
  service:
    description:
      - Service type of the resource (C(compute), C(image), C(identity), C(network), C(placement), C(volume))
        or a service name (C(nova), C(glance), ...).
    type: str
    required: true
  type:
    description:
      - Resource type as openstacksdk's proxy names it (C(image), C(network), C(subnet), C(project), ...).
    type: str
    required: true
  attributes:
    description:
      - Attributes of the resource; C(name) identifies it at each location.
    type: dict
    required: true
  non_updateable_attributes:
    description:
      - Attributes that are set on creation only and never compared or updated.
    type: list
    elements: str
    default: []
  state:
    description:
      - Whether the resource should be present or absent.
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
    description: Reads every location, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the resource per location before and after.
"""

EXAMPLES = r"""
- name: A network named shared in Berlin and Paris
  oid.cloud.resource:
    cloud: berlin
    scope: "{neutron: Berlin&Paris}"
    service: network
    type: network
    attributes:
      name: shared
"""

RETURN = r"""
locations:
  description: What happened at each location (present, changed, resource).
  returned: always
  type: dict
  sample: {Berlin: {present: true, changed: false, resource: {id: 3e1..., name: shared}}}
diff:
  description: The resource per location before and after.
  returned: always
  type: dict
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import IdentityResourceModule, ScopedResourceModule
from ansible_collections.oid.cloud.plugins.module_utils.scope import service_type

# The attribute of an openstacksdk connection holding each service type's proxy.
PROXY_ATTRIBUTE = {"volume": "block_storage"}

ARGUMENT_SPEC = dict(
    service=dict(required=True),
    type=dict(required=True),
    attributes=dict(type="dict", required=True),
    non_updateable_attributes=dict(type="list", elements="str", default=[]),
    state=dict(default="present", choices=["present", "absent"]),
    clouds=dict(type="dict", default={}),
)


class GenericResource(object):
    """find/create/update/delete through the service's openstacksdk proxy."""

    def proxy_and_class(self, conn):
        proxy = getattr(conn, PROXY_ATTRIBUTE.get(self.service, self.service))
        registry = getattr(proxy, "_resource_registry", {})
        if self.params["type"] not in registry:
            raise ValueError(
                "%s has no resource type %r; known: %s"
                % (self.service, self.params["type"], ", ".join(sorted(registry)))
            )
        return proxy, registry[self.params["type"]]

    def find(self, conn):
        proxy, cls = self.proxy_and_class(conn)
        name = self.params["attributes"].get("name")
        if not name:
            raise ValueError("attributes.name is required: it identifies the resource at each location")
        return proxy._find(cls, name, ignore_missing=True)

    def create(self, conn):
        proxy, cls = self.proxy_and_class(conn)
        return proxy._create(cls, **self.params["attributes"])

    def updates(self, resource):
        fixed = set(self.params["non_updateable_attributes"]) | set(["name"])
        return dict(
            (key, value)
            for key, value in self.params["attributes"].items()
            if key not in fixed and getattr(resource, key, None) != value
        )

    def update(self, conn, resource, changes):
        proxy, cls = self.proxy_and_class(conn)
        return proxy._update(cls, resource, **changes)

    def delete(self, conn, resource):
        proxy, cls = self.proxy_and_class(conn)
        proxy._delete(cls, resource)


class GenericModule(GenericResource, IdentityResourceModule):
    """Keystone resources take IdentityResourceModule's way (a token per
    Keystone); every other service the plain scoped way."""

    argument_spec = ARGUMENT_SPEC

    @property
    def service(self):
        return service_type(self.params["service"])

    def _base(self):
        return IdentityResourceModule if self.service == "identity" else ScopedResourceModule

    def location_connection(self, location):
        return self._base().location_connection(self, location)

    def target_connection(self, target):
        return self._base().target_connection(self, target)

    def created_at(self, target, created):
        return self._base().created_at(self, target, created)


def main():
    GenericModule()()


if __name__ == "__main__":
    main()
