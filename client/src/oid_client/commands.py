"""``openstack oid <resource> list``: a stock listing with the DC of each item.

Under ``&`` the federation answers one merged list in which every item carries
``oid_location`` (docs/interposer.md); the stock commands (``openstack server
list``) build their rows from openstacksdk's resources, which keep only the
attributes they know, so that column is lost. These commands list the same
resources through the same session (the scope, the token, the catalog of the
entry interposer) and show it. A list from one location names that location
(the interposer's ``X-Oid-Location``).

osc-lib is imported here only: OSC loads this module for its ``oid`` command
group, the auth plugins never do.
"""

from __future__ import annotations

from osc_lib.command import command

LOCATION_KEY = "oid_location"  # the interposer's annotation of each item under '&'
LOCATION_HEADER = "X-Oid-Location"


class LocatedList(command.Lister):
    """List resources of every location of the scope, with each one's location."""

    service_type = ""
    major_version = ""  # the API's major version: keystoneauth finds its root (version discovery)
    path = ""  # under that version's root
    key = ""  # the list's key in the answer
    columns: tuple[tuple[str, str], ...] = ()  # (heading, attribute)

    def take_action(self, parsed_args):
        manager = self.app.client_manager
        answer = manager.session.get(
            self.path,
            endpoint_filter={
                "service_type": self.service_type,
                "interface": manager.interface,
                "region_name": manager.region_name,
                "min_version": self.major_version,
                "max_version": f"{self.major_version}.latest",
            },
        )
        answered_by = answer.headers.get(LOCATION_HEADER, "")
        rows = [
            tuple(item.get(attribute, "") for _heading, attribute in self.columns)
            + (item.get(LOCATION_KEY, answered_by),)
            for item in answer.json().get(self.key, [])
        ]
        return tuple(heading for heading, _attribute in self.columns) + ("Location",), rows


# One command per resource (cliff reads each one's docstring as its help).
NAME_STATUS = (("ID", "id"), ("Name", "name"), ("Status", "status"))
NAME = (("ID", "id"), ("Name", "name"))


class ServerList(LocatedList):
    """List servers of every location of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "compute", "2", "/servers/detail", "servers", NAME_STATUS


class FlavorList(LocatedList):
    """List flavors of every location of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "compute", "2", "/flavors/detail", "flavors", NAME


class ImageList(LocatedList):
    """List images of every location of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "image", "2", "/images", "images", NAME_STATUS


class NetworkList(LocatedList):
    """List networks of every location of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "network", "2", "/networks", "networks", NAME_STATUS


class UserList(LocatedList):
    """List users of every Keystone of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "identity", "3", "/users", "users", NAME


class ProjectList(LocatedList):
    """List projects of every Keystone of the scope, with each one's location"""

    service_type, major_version, path, key, columns = "identity", "3", "/projects", "projects", NAME
