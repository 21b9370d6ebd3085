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
      - Name or id of the image to boot from. Required to boot a server, except from C(boot_volume).
    type: str
  boot_from_volume:
    description:
      - Boot from a new volume made from C(image) by the Cinder of the DC the server boots in (the image may
        come from another DC, as for a server's disk).
    type: bool
    default: false
  volume_size:
    description:
      - Size in GiB of the volume made with C(boot_from_volume); Nova's default (the flavor's disk) without it.
    type: int
  boot_volume:
    description:
      - Name or id of an existing volume to boot from, looked up where the server boots (a volume of another
        DC cannot be booted from; the interposer refuses a scope that puts it there).
    type: str
    aliases: [root_volume]
  terminate_volume:
    description:
      - Whether the boot volume is deleted with the server.
    type: bool
    default: false
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

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import (
    ImageFromScope,
    LocationError,
    ScopedResourceModule,
)


class ServerModule(ImageFromScope, ScopedResourceModule):
    service = "compute"
    references_per_location = True
    argument_spec = dict(
        name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        image=dict(),
        boot_from_volume=dict(type="bool", default=False),
        volume_size=dict(type="int"),
        boot_volume=dict(aliases=["root_volume"]),
        terminate_volume=dict(type="bool", default=False),
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
        required_if=[
            ("state", "present", ("flavor",)),
            ("state", "present", ("image", "boot_volume"), True),
            ("boot_from_volume", True, ("image",)),
        ],
        mutually_exclusive=[("network", "nics"), ("boot_volume", "image")],
    )

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

    def boot_source(self, conn):
        """Nova's image_id, or block_device_mapping_v2 for a boot from a volume."""
        if self.params["boot_volume"]:
            volume = conn.block_storage.find_volume(self.params["boot_volume"], ignore_missing=False)
            source = dict(source_type="volume", uuid=volume.id)
        else:
            image_location, image_id = self.image_at()
            self.results["image"] = dict(location=image_location, id=image_id)
            if not self.params["boot_from_volume"]:
                return dict(image_id=image_id)
            source = dict(source_type="image", uuid=image_id)
            if self.params["volume_size"]:
                source["volume_size"] = self.params["volume_size"]
        mapping = dict(
            source, boot_index=0, destination_type="volume", delete_on_termination=self.params["terminate_volume"]
        )
        return dict(block_device_mapping=[mapping])

    def create(self, conn):
        attributes = dict(
            name=self.params["name"],
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
        attributes.update(self.boot_source(conn))
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
