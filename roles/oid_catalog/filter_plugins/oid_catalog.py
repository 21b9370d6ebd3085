"""The inter-DC catalog from the inventory, and each DC's accounts file.

Python rather than Jinja: both are data transformations with rules (one
entry per DC whatever the number of its control hosts, the same order on
every host) that deserve plain code."""


def oid_catalog(hosts, port, link_timeouts=None):
    """{location: {interposer, services, [connect_timeout]}} from the hosts' variables."""
    locations = {}
    for host in hosts:
        name = host["oid_location"]
        if name in locations:
            continue  # a DC with several control hosts: its first one names the DC's address
        entry = {
            "interposer": f"http://{host['oid_internal_address']}:{port}",
            "region": host.get("oid_region_name", name),
            "services": dict(host["oid_local_endpoints"]),
        }
        if link_timeouts and name in link_timeouts:
            entry["connect_timeout"] = float(link_timeouts[name])
        locations[name] = entry
    return locations


def oid_keystone_accounts(catalog, here, prefix, password):
    """What this DC's paste filters use at every other DC's Keystone: reached through
    that DC's interposer, with the account named after this DC."""
    accounts = {}
    for name, entry in catalog.items():
        if name == here:
            continue
        accounts[name] = {
            "auth_url": f"{entry['interposer']}/identity/v3",
            "username": f"{prefix}{here.lower()}",
            "password": password,
            "project_name": "service",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            "interface": "internal",
            "region_name": entry.get("region", name),
        }
    return accounts


class FilterModule:
    def filters(self):
        return {"oid_catalog": oid_catalog, "oid_keystone_accounts": oid_keystone_accounts}
