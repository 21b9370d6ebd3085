"""The Kolla inventory of one DC, from the federation's inventory (roles/oid_kolla)."""

from __future__ import annotations

import re
import shlex

from ansible.errors import AnsibleFilterError

SECTION = re.compile(r"^\[([^\]]+)\]\s*$")


def _host_line(name: str, variables: dict) -> str:
    settings = " ".join(f"{key}={shlex.quote(str(value))}" for key, value in sorted(variables.items()))
    return f"{name} {settings}".rstrip()


def oid_kolla_inventory(shipped: str, members: dict, host_variables: dict) -> str:
    """Kolla's shipped multinode inventory with its top groups replaced by this DC's hosts.

    shipped: the text of kolla-ansible's ansible/inventory/multinode, whose first
    sections ([control], [network], ...) hold hosts and whose others map every
    service group onto them; members: {kolla group: [host, ...]};
    host_variables: {host: {variable: value}} for the hosts' lines.
    """
    shipped_sections = {match.group(1) for match in map(SECTION.match, shipped.splitlines()) if match}
    unknown = sorted(set(members) - shipped_sections)
    if unknown:
        raise AnsibleFilterError(f"kolla-ansible's inventory has no group {', '.join(unknown)}")
    lines = [
        "# Written by oid (roles/oid_kolla): this DC's hosts in Kolla's groups,",
        "# then Kolla's own service groups.",
    ]
    for group, hosts in members.items():
        lines += ["", f"[{group}]", *(_host_line(host, host_variables.get(host, {})) for host in hosts)]
    keep = None
    for line in shipped.splitlines():
        section = SECTION.match(line)
        if section:
            keep = section.group(1) not in members
            if keep:
                lines.append("")
        if keep and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line)
    return "\n".join(lines) + "\n"


def oid_kolla_members(groups: dict, prefix: str, kolla_groups: list) -> dict:
    """{kolla group: hosts} from the inventory's <prefix><kolla group> groups (missing: empty)."""
    return {group: list(groups.get(prefix + group, [])) for group in kolla_groups}


def oid_kolla_host_variables(hostvars, hosts: list, names: list) -> dict:
    """{host: {variable: value}} of the connection variables each host sets."""
    return {host: {name: hostvars[host][name] for name in names if name in hostvars[host]} for host in hosts}


def oid_kolla_disagreeing(shared: dict, kolla_globals: dict) -> list:
    """The shared variables the operator's globals set to another value than the inventory's."""
    return sorted(
        name
        for name, value in shared.items()
        if value not in (None, "") and name in kolla_globals and str(kolla_globals[name]) != str(value)
    )


class FilterModule:
    def filters(self):
        return {
            "oid_kolla_inventory": oid_kolla_inventory,
            "oid_kolla_members": oid_kolla_members,
            "oid_kolla_host_variables": oid_kolla_host_variables,
            "oid_kolla_disagreeing": oid_kolla_disagreeing,
        }
