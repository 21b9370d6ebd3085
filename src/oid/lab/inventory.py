"""The lab's inventory: which DCs run, their index (subnet 10.252.<index>.0/24)
and the addresses that follow from it. `oid lab up` writes
inventories/lab/hosts.yml from this; status and tests read it back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_DCS = ("Berlin", "Denver", "Paris")
# Known DCs keep their index (and so their addresses) whatever subset runs.
WELL_KNOWN_INDEX = {name: index for index, name in enumerate(DEFAULT_DCS, start=1)}
NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,30}$")
MAX_DCS = 20
PORTS = {"identity": 5000, "image": 9292, "placement": 8778, "compute": 8774, "network": 9696, "volume": 8776}
PATHS = {"identity": "/v3", "compute": "/v2.1", "volume": "/v3"}


class LabError(Exception):
    """A bad request to the lab (a name it does not know, a malformed list)."""


@dataclass(frozen=True)
class DC:
    name: str
    index: int

    @property
    def key(self) -> str:  # container, network and group names
        return self.name.lower()

    @property
    def address(self) -> str:
        return f"10.252.{self.index}.10"

    @property
    def subnet(self) -> str:
        return f"10.252.{self.index}.0/24"

    def endpoint(self, service_type: str) -> str:
        return f"http://{self.address}:{PORTS[service_type]}{PATHS.get(service_type, '')}"


def parse_dcs(text: str) -> list[DC]:
    """'Berlin,Denver,Paris' -> DCs with stable indexes; clear errors for bad names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise LabError("--dcs needs at least one DC name")
    for name in names:
        if not NAME.match(name):
            raise LabError(f"bad DC name {name!r}: a capitalized word of letters and digits, like Berlin")
    lowered = [name.lower() for name in names]
    if len(set(lowered)) != len(lowered):
        raise LabError(f"a DC is named twice in {text!r}")
    if len(names) > MAX_DCS:
        raise LabError(f"the lab runs at most {MAX_DCS} DCs on one machine")
    used = {WELL_KNOWN_INDEX[name] for name in names if name in WELL_KNOWN_INDEX}
    free = (index for index in range(len(DEFAULT_DCS) + 1, 250) if index not in used)
    return [DC(name, WELL_KNOWN_INDEX.get(name) or next(free)) for name in names]


def render(dcs: list[DC]) -> str:
    groups = {
        dc.key: {
            "hosts": {f"{dc.key}-control": None},
            "vars": {"lab_dc": dc.key, "lab_dc_index": dc.index, "oid_location": dc.name},
        }
        for dc in dcs
    }
    # oid_federation: the DCs site.yml federates; oid_lab: the lab's own plays.
    document = {"all": {"children": {"oid_federation": {"children": {"oid_lab": {"children": groups}}}}}}
    header = "# Written by `oid lab up`: the DCs of the running lab (do not edit; run `oid lab up --dcs ...`).\n"
    return header + yaml.safe_dump(document, sort_keys=False)


def write(path: Path, dcs: list[DC]) -> None:
    path.write_text(render(dcs))


def read(path: Path) -> list[DC]:
    """The DCs of the inventory file, [] when the lab was never brought up."""
    if not path.exists():
        return []
    federation = yaml.safe_load(path.read_text())["all"]["children"]["oid_federation"]
    groups = federation["children"]["oid_lab"]["children"]
    return [DC(group["vars"]["oid_location"], int(group["vars"]["lab_dc_index"])) for group in groups.values()]


def find(dcs: list[DC], name: str) -> DC:
    for dc in dcs:
        if dc.name.lower() == name.lower():
            return dc
    known = ", ".join(dc.name for dc in dcs) or "none: run `oid lab up`"
    raise LabError(f"the lab has no DC {name!r} (DCs: {known})")
