"""The lab WAN's link table: which DC pairs exist, their RTT, whether cut.

Kept in Python rather than Jinja because the same rules serve three callers
(the router's delays, its iptables rules, `oid lab status`)."""

import ipaddress
from itertools import permutations


def pair_key(first, second):
    """One name per unordered pair, whichever order the user wrote."""
    return "-".join(sorted((first, second)))


def lab_wan_state(state, change, known):
    """Apply one change (cut, heal, latency) to the stored state."""
    state = {"rtt_ms": dict(state.get("rtt_ms", {})), "cut": sorted(set(state.get("cut", [])))}
    if not change:
        return state
    action = change.get("action")
    pairs = change.get("pairs") or []
    for pair in pairs:
        for name in pair:
            if name not in known:
                raise ValueError("unknown DC {!r} (the lab has {})".format(name, ", ".join(sorted(known))))
        if len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError(f"a link joins two different DCs, not {pair!r}")
    keys = {pair_key(*pair) for pair in pairs}
    if action == "cut":
        state["cut"] = sorted(set(state["cut"]) | keys)
    elif action == "heal":
        state["cut"] = sorted(set(state["cut"]) - keys)
    elif action == "latency":
        rtt = float(change["rtt_ms"])
        if rtt < 0:
            raise ValueError("a round-trip time cannot be negative")
        state["rtt_ms"].update({key: rtt for key in keys})
    else:
        raise ValueError(f"unknown WAN action {action!r} (cut, heal, latency)")
    return state


def lab_wan_links(dcs, rtt_defaults, default_rtt, state, jitter_percent, loss_percent):
    """Every ordered pair of DCs: its NFQUEUE number, one-way delay, jitter, loss, cut.

    dcs: the DCs' inventory variables (oid_location, lab_dc_index, lab_subnet)."""
    dcs = [{"name": dc["oid_location"], "index": int(dc["lab_dc_index"]), "subnet": dc["lab_subnet"]} for dc in dcs]
    rtts = {pair_key(*key.split("-", 1)): float(value) for key, value in (rtt_defaults or {}).items()}
    rtts.update(state.get("rtt_ms", {}))
    cut = set(state.get("cut", []))
    links = []
    for source, dest in permutations(sorted(dcs, key=lambda dc: dc["index"]), 2):
        key = pair_key(source["name"], dest["name"])
        rtt = rtts.get(key, float(default_rtt))
        links.append(
            {
                "name": "{}>{}".format(source["name"], dest["name"]),
                "pair": key,
                "queue": int(source["index"]) * 256 + int(dest["index"]),
                "source": source["subnet"],
                "dest": dest["subnet"],
                "rtt_ms": rtt,
                "delay_ms": rtt / 2,
                "jitter_ms": rtt / 2 * float(jitter_percent) / 100,
                "loss": float(loss_percent) / 100,
                "cut": key in cut,
            }
        )
    return links


def lab_wan_networks(dcs):
    """Each DC's Docker network: name, subnet, the host's gateway (.1), the router's address."""
    networks = []
    for dc in dcs:
        subnet = ipaddress.ip_network(dc["lab_subnet"])
        networks.append(
            {
                "name": dc["lab_network_name"],
                "subnet": str(subnet),
                "gateway": str(subnet.network_address + 1),
                "ipv4_address": dc["lab_router_address"],
            }
        )
    return networks


class FilterModule:
    def filters(self):
        return {"lab_wan_state": lab_wan_state, "lab_wan_links": lab_wan_links, "lab_wan_networks": lab_wan_networks}
