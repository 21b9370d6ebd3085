#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: server
short_description: Boot or delete servers (Nova) at every location of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - "Boot, or delete, a server by name at every location the scope's C(compute) expression names; its image
    comes from where the scope's C(image) expression says, which may be another DC
    (C({nova: Berlin, glance: Denver|Paris}) boots in Berlin with an image from Denver or Paris)."
  - The image is looked up by name or id at the locations of the C(image) expression, in order; the first
    one that has it gives the image id Nova boots from, and Nova fetches it through the interposer with the
    same scope (under C(|) the interposer skips an alternative that is cut off or does not have it).
  - The flavor and the networks are looked up where the server boots (their ids differ per DC; the policy
    refuses a network of another DC). For the same reason, with C(Berlin|Denver) a missing server is booted
    at the first alternative that answered the module's read, rather than left to the interposer.
  - An existing server is not rebuilt when its image, flavor or networks differ; only C(metadata) is kept
    up to date.
options:
  name:
    description:
      - Name of the server; servers are matched by name at each location.
    type: str
    required: true
  state:
    description:
      - Whether the server should be present or absent at the locations of the scope.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - Name or id of the image to boot from. Required to boot a server.
    type: str
  flavor:
    description:
      - Name or id of the flavor, looked up where the server boots. Required to boot a server.
    type: str
  network:
    description:
      - Name or id of a network to attach the server to, looked up where the server boots.
      - Without C(network) and C(nics), Nova's automatic allocation is asked for (C(auto)).
    type: str
  nics:
    description:
      - Networks and ports to attach, each a mapping with one of C(net-id), C(net-name), C(port-id), and
        optionally C(fixed_ip).
    type: list
    elements: dict
    default: []
  key_name:
    description:
      - Name of a key pair of the booting DC to inject.
    type: str
  security_groups:
    description:
      - Names of security groups of the booting DC.
    type: list
    elements: str
  metadata:
    description:
      - Metadata of the server; the keys given are kept to these values.
    type: dict
    aliases: [meta]
  availability_zone:
    description:
      - Availability zone to boot in.
    type: str
  userdata:
    description:
      - User data for cloud-init, as text.
    type: str
  config_drive:
    description:
      - Whether to attach a config drive.
    type: bool
    default: false
  description:
    description:
      - Free text describing the server.
    type: str
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, boots or deletes nothing.
  diff_mode:
    support: full
    description: Returns the server per location before and after.
"""

EXAMPLES = r"""
- name: Boot in Berlin with an image from Denver or Paris
  oid.cloud.server:
    cloud: berlin
    scope: "{nova: Berlin, glance: Denver|Paris}"
    name: my-vm
    image: debian-12
    flavor: m1.tiny
    network: private

- name: One in Berlin and one in Denver, each with its own DC's image
  oid.cloud.server:
    cloud: berlin
    scope: {nova: "Berlin&Denver"}
    name: web
    image: debian-12
    flavor: m1.tiny
    network: private

- name: Gone everywhere
  oid.cloud.server:
    cloud: berlin
    scope: "{nova: *}"
    name: web
    state: absent
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    present:
      description: Whether the server is there (null when the location could not be read).
      type: bool
    changed:
      description: Whether the module booted, changed or deleted the server at this location.
      type: bool
    resource:
      description: The server at this location, as the compute API details it.
      type: dict
  sample:
    Berlin: {present: true, changed: true, resource: {id: 7d4e..., name: my-vm, status: ACTIVE}}
image:
  description: Where the image booted from was found, and its id there (when a server was booted).
  returned: when a server was booted
  type: dict
  sample: {location: Denver, id: 9f3e...}
diff:
  description: The server per location before and after.
  returned: always
  type: dict
"""

import base64

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import LocationError, ScopedResourceModule
from ansible_collections.oid.cloud.plugins.module_utils.scope import AllOf, Location, format_expression


class ServerModule(ScopedResourceModule):
    service = "compute"
    references_per_location = True
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        image=dict(),
        flavor=dict(),
        network=dict(),
        nics=dict(type="list", elements="dict", default=[]),
        key_name=dict(no_log=False),
        security_groups=dict(type="list", elements="str"),
        metadata=dict(type="dict", aliases=["meta"]),
        availability_zone=dict(),
        userdata=dict(),
        config_drive=dict(type="bool", default=False),
        description=dict(),
    )
    module_kwargs = dict(
        required_if=[("state", "present", ("image", "flavor"))],
        mutually_exclusive=[("network", "nics")],
    )

    def __init__(self):
        self._image = None
        super(ServerModule, self).__init__()

    def find(self, conn):
        server = conn.compute.find_server(self.params["name"], ignore_missing=True)
        # Nova still shows a deleted server to an admin for a while, status
        # DELETED (openstacksdk's wait_for_delete stops there too): it is gone.
        if server is not None and (server.status or "").upper() == "DELETED":
            return None
        return server

    def updates(self, resource):
        wanted = self.params["metadata"] or {}
        current = resource.metadata or {}
        if any(current.get(key) != str(value) for key, value in wanted.items()):
            return dict(metadata=dict((key, str(value)) for key, value in wanted.items()))
        return {}

    def update(self, conn, resource, changes):
        conn.compute.set_server_metadata(resource, **changes["metadata"])
        return conn.compute.get_server(resource)

    # -- booting ---------------------------------------------------------------

    def image_at(self):
        """(location, id) of the image: the first location of the scope's
        image expression, in order, that has it."""
        if self._image is None:
            expr = self.expression("image")
            locations = expr.locations()
            found = self.each_location(
                locations,
                lambda location, conn: conn.image.find_image(self.params["image"], ignore_missing=True),
                service="image",
            )
            for location in locations:
                ok, image = found[location]
                if ok and image is not None:
                    self._image = (location, image.id)
                    break
            else:
                reasons = "; ".join(
                    "%s: %s" % (location, found[location][1] if not found[location][0] else "not there")
                    for location in locations
                )
                raise LocationError(
                    "image %r is at no location of %s (%s)" % (self.params["image"], format_expression(expr), reasons)
                )
        return self._image

    def networks(self, conn):
        if self.params["network"]:
            return [dict(uuid=conn.network.find_network(self.params["network"], ignore_missing=False).id)]
        if not self.params["nics"]:
            return "auto"
        networks = []
        for nic in self.params["nics"]:
            entry = {}
            if nic.get("net-name"):
                entry["uuid"] = conn.network.find_network(nic["net-name"], ignore_missing=False).id
            elif nic.get("net-id"):
                entry["uuid"] = nic["net-id"]
            elif nic.get("port-id"):
                entry["port"] = nic["port-id"]
            else:
                raise ValueError("each of nics needs net-id, net-name or port-id: %r" % (nic,))
            if nic.get("fixed_ip"):
                entry["fixed_ip"] = nic["fixed_ip"]
            networks.append(entry)
        return networks

    def target_connection(self, target):
        also = None
        if isinstance(self.expression("image"), AllOf):
            # Under '&' Nova's read of one image would need it at every
            # location, under one id: boot from the copy the module chose.
            also = dict(image=Location(self.image_at()[0]))
        return self.connection(target, also=also)

    def create(self, conn):
        image_location, image_id = self.image_at()
        self.results["image"] = dict(location=image_location, id=image_id)
        attributes = dict(
            name=self.params["name"],
            image_id=image_id,
            flavor_id=conn.compute.find_flavor(self.params["flavor"], ignore_missing=False).id,
            networks=self.networks(conn),
            config_drive=self.params["config_drive"],
        )
        optional = dict(
            key_name=self.params["key_name"],
            availability_zone=self.params["availability_zone"],
            metadata=self.params["metadata"] and dict((k, str(v)) for k, v in self.params["metadata"].items()),
            description=self.params["description"],
            security_groups=self.params["security_groups"] and [dict(name=n) for n in self.params["security_groups"]],
            user_data=self.params["userdata"]
            and base64.b64encode(self.params["userdata"].encode("utf-8")).decode("ascii"),
        )
        attributes.update((key, value) for key, value in optional.items() if value)
        server = conn.compute.create_server(**attributes)
        if not self.params["wait"]:
            return server
        try:
            return conn.compute.wait_for_server(
                server, status="ACTIVE", failures=["ERROR"], wait=self.params["timeout"]
            )
        except Exception as exc:
            fault = (conn.compute.get_server(server).fault or {}).get("message", "")
            raise LocationError("server %s did not become ACTIVE: %s %s" % (server.id, exc, fault)) from exc

    def delete(self, conn, resource):
        conn.compute.delete_server(resource)
        if self.params["wait"]:
            conn.compute.wait_for_delete(resource, wait=self.params["timeout"])


def main():
    ServerModule()()


if __name__ == "__main__":
    main()
