#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: server_volume
short_description: Attach or detach a volume to a server at every location of a scope
version_added: 0.2.0
author: oid developers (@oid-cloud)
description:
  - At every location the scope's C(compute) expression names, attach the volume of that name to the server
    of that name (or detach it), both looked up at that location, as openstack.cloud's C(server_volume) does
    in one cloud.
  - A hypervisor reaches only its own DC's storage, so the volume is always the server's DC's. A scope that
    puts C(volume) elsewhere than C(compute) is refused by the interposer, with the reason, before Nova sees
    the request; the module sends it as it is and reports that refusal.
options:
  server:
    description:
      - Name or id of the server, at each location.
    type: str
    required: true
  volume:
    description:
      - Name or id of the volume, at each location.
    type: str
    required: true
  device:
    description:
      - Device path the volume is attached at (for example C(/dev/vdb)); Nova picks one without it.
    type: str
  state:
    description:
      - Whether the volume should be attached to the server or not.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Reads every location, reports what would change, attaches or detaches nothing.
  diff_mode:
    support: none
    description: The result says, per location, whether the volume is attached.
"""

EXAMPLES = r"""
- name: Each DC's "data" volume on its own "db" server
  oid.cloud.server_volume:
    cloud: berlin
    scope: "{nova: Berlin&Denver}"
    server: db
    volume: data
"""

RETURN = r"""
locations:
  description: What happened at each location of the scope.
  returned: always
  type: dict
  contains:
    attached:
      description: Whether the volume is attached to the server there (null when it could not be read).
      type: bool
    changed:
      description: Whether the module attached or detached the volume there.
      type: bool
    volume:
      description: The volume at this location, as the block storage API details it (its attachments included).
      type: dict
  sample:
    Berlin: {attached: true, changed: true, volume: {id: 2b7c..., status: in-use, attachments: [...]}}
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import LocationError, OidModule


class ServerVolumeModule(OidModule):
    service = "compute"
    argument_spec = dict(
        server=dict(required=True),
        volume=dict(required=True),
        device=dict(),
        state=dict(default="present", choices=["present", "absent"]),
    )

    def run(self):
        locations = self.expression().locations()
        outcomes = self.each_location(locations, self.converge)
        report, failures = {}, {}
        for location, (ok, value) in outcomes.items():
            if ok:
                report[location] = value
                self.results["changed"] = self.results["changed"] or value["changed"]
            else:
                report[location] = dict(attached=None, changed=False)
                failures[location] = value
        self.results["locations"] = report
        if failures:
            self.fail_per_location(failures)

    def converge(self, location, conn):
        """Read the server and the volume at one location; attach or detach if needed."""
        server = conn.compute.find_server(self.params["server"], ignore_missing=False)
        volume = conn.block_storage.find_volume(self.params["volume"], ignore_missing=False, details=True)
        attached = any(entry.get("server_id") == server.id for entry in volume.attachments or [])
        wanted = self.params["state"] == "present"
        if attached == wanted:
            return dict(attached=attached, changed=False, volume=volume.to_dict(computed=False))
        if self.check_mode:
            return dict(attached=wanted, changed=True, volume=volume.to_dict(computed=False))
        if wanted:
            attributes = dict(volume_id=volume.id)
            if self.params["device"]:
                attributes["device"] = self.params["device"]
            conn.compute.create_volume_attachment(server, **attributes)
            volume = self.wait_for(conn, volume, "in-use")
        else:
            conn.compute.delete_volume_attachment(server, volume.id)
            volume = self.wait_for(conn, volume, "available")
        return dict(attached=wanted, changed=True, volume=volume.to_dict(computed=False))

    def wait_for(self, conn, volume, status):
        if not self.params["wait"]:
            return conn.block_storage.get_volume(volume)
        try:
            return conn.block_storage.wait_for_status(
                volume, status=status, failures=["error", "error_attaching", "error_detaching"],
                wait=self.params["timeout"],
            )  # fmt: skip
        except Exception as exc:
            raise LocationError("volume %s did not become %s: %s" % (volume.id, status, exc)) from exc


def main():
    ServerVolumeModule()()


if __name__ == "__main__":
    main()
