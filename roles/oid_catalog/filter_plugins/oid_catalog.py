"""The inter-DC catalog from the inventory, and each DC's own secrets.

Python rather than Jinja: data transformations with rules (one entry per DC
whatever the number of its control hosts, the same order on every host; a
keyed hash) that deserve plain code."""

import hashlib
import hmac


def oid_catalog(hosts, port, peer_port, link_timeouts=None):
    """{location: {interposer, peer, region, services, [connect_timeout]}} from the hosts' variables."""
    locations = {}
    for host in hosts:
        name = host["oid_location"]
        if name in locations:
            continue  # a DC with several control hosts: its first one names the DC's address
        address = host["oid_internal_address"]
        entry = {
            "interposer": f"http://{address}:{port}",
            "peer": f"https://{address}:{peer_port}",
            "region": host.get("oid_region_name", name),
            "services": dict(host["oid_local_endpoints"]),
        }
        if link_timeouts and name in link_timeouts:
            entry["connect_timeout"] = float(link_timeouts[name])
        locations[name] = entry
    return locations


def oid_dc_secret(master, location, purpose):
    """A secret of one DC's own, derived on the controller from a master secret that
    never leaves it (HMAC-SHA256 of the DC's name and the secret's purpose): each DC
    gets its own, and one DC's tells nothing of another's, nor of the master."""
    message = f"{purpose}:{location}".encode()
    return hmac.new(str(master).encode(), message, hashlib.sha256).hexdigest()


class FilterModule:
    def filters(self):
        return {"oid_catalog": oid_catalog, "oid_dc_secret": oid_dc_secret}
