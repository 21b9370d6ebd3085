"""`oid verify`: the acceptance table (DESIGN.md section 7) as scenarios on the lab.

Each cell of the table runs twice, through Berlin's interposer: as a playbook
of oid.cloud modules (playbooks/verify/<cell>.yml, with its own assertions), and
as plain HTTP requests with the X-Scope header (the functions below). The
lab's WAN is cut before a partial-connectivity cell and healed after it.
For each run the table shows whether it passed, its wall time, and the sum
of the WAN round trips it had to cross: every request an interposer sent to
another DC (its oid_upstream_requests_total) times that link's RTT.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from oid.lab import cli as lab_cli
from oid.lab import inventory
from oid.lab.inventory import LabError

ENTRY = "Berlin"
INTERPOSER_PORT = 8790  # site.yml's oid_interposer_port (group_vars/all/oid.yml)
ADMIN_PASSWORD = "oid-lab-admin"  # inventories/lab/group_vars/all.yml
VERIFY_ROOT = lab_cli.LAB_ROOT / "verify"
WAIT_ACTIVE_SECONDS = 300
# After a heal, the interposers' breakers keep a healed DC skipped until their
# back-off (at most backoff.max, 60 s by default) ends and a background probe succeeds.
WAIT_HEALED_SECONDS = 120
UPSTREAM = re.compile(r'^oid_upstream_requests_total\{location="([^"]+)",service="[^"]+"\} (\S+)$', re.M)


class CellFailed(Exception):
    """A check of a cell's HTTP scenario did not hold."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CellFailed(message)


# -- the lab, through Berlin's interposer ---------------------------------------


class Federation:
    """The lab's DCs as the HTTP scenarios see them: scoped calls through the
    entry's interposer, with a token of the entry's Keystone."""

    def __init__(self, dcs: list[inventory.DC]):
        self.dcs = {dc.name: dc for dc in dcs}
        self.entry = self.dcs[ENTRY]
        self.tokens: dict[str, str] = {}

    def interposer(self, name: str) -> str:
        return f"http://{self.dcs[name].address}:{INTERPOSER_PORT}"

    def token(self, keystone: str = ENTRY) -> str:
        """An admin token of ``keystone``'s own Keystone, asked through the entry."""
        if keystone not in self.tokens:
            body = {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}
                        },
                    },
                    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
                }
            }
            answer = requests.post(
                f"{self.interposer(ENTRY)}/identity/v3/auth/tokens",
                json=body,
                headers={"X-Scope": f"{{keystone: {keystone}}}"},
                timeout=60,
            )
            check(answer.status_code == 201, f"login at {keystone}'s Keystone: {answer.status_code} {answer.text}")
            self.tokens[keystone] = answer.headers["X-Subject-Token"]
        return self.tokens[keystone]

    def call(self, method: str, path: str, scope: str, keystone: str = ENTRY, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token(keystone), "X-Scope": scope, **kwargs.pop("headers", {})}
        return requests.request(method, self.interposer(ENTRY) + path, headers=headers, timeout=180, **kwargs)

    def image_id(self, name: str, scope: str) -> tuple[str, str]:
        """(id, location) of the image ``name`` where ``scope`` finds it."""
        answer = self.call("GET", f"/image/v2/images?name={name}", scope)
        check(answer.status_code == 200, f"image {name} under {scope}: {answer.status_code} {answer.text[:500]}")
        images = answer.json()["images"]
        check(len(images) >= 1, f"image {name} not found under {scope}")
        return images[0]["id"], images[0].get("oid_location") or answer.headers.get("X-Oid-Location")

    def boot(self, name: str, image_id: str, scope: str) -> str:
        """POST a server (flavor and network looked up where Nova runs); its id."""
        flavors = self.call("GET", "/compute/v2.1/flavors", scope).json()["flavors"]
        flavor = next(f["id"] for f in flavors if f["name"] == "m1.tiny")
        networks = self.call("GET", "/network/v2.0/networks?name=verify-net", scope).json()["networks"]
        check(len(networks) == 1, f"network verify-net under {scope}: {networks}")
        server = {"name": name, "imageRef": image_id, "flavorRef": flavor, "networks": [{"uuid": networks[0]["id"]}]}
        answer = self.call("POST", "/compute/v2.1/servers", scope, json={"server": server})
        check(answer.status_code == 202, f"boot {name} under {scope}: {answer.status_code} {answer.text[:500]}")
        return answer.json()["server"]["id"]

    def wait_active(self, server_id: str, scope: str) -> dict:
        deadline = time.monotonic() + WAIT_ACTIVE_SECONDS
        while time.monotonic() < deadline:
            server = self.call("GET", f"/compute/v2.1/servers/{server_id}", scope).json()["server"]
            if server["status"] in ("ACTIVE", "ERROR"):
                check(server["status"] == "ACTIVE", f"server {server_id}: ERROR {server.get('fault')}")
                return server
            time.sleep(1)
        raise CellFailed(f"server {server_id} not ACTIVE within {WAIT_ACTIVE_SECONDS}s")

    def delete_server(self, server_id: str, scope: str) -> None:
        self.call("DELETE", f"/compute/v2.1/servers/{server_id}", scope)
        deadline = time.monotonic() + WAIT_ACTIVE_SECONDS
        while time.monotonic() < deadline:
            answer = self.call("GET", f"/compute/v2.1/servers/{server_id}", scope)
            # An admin may still see it for a while, status DELETED: it is gone.
            if answer.status_code == 404 or answer.json()["server"]["status"] == "DELETED":
                return
            time.sleep(1)
        raise CellFailed(f"server {server_id} not deleted within {WAIT_ACTIVE_SECONDS}s")

    def fetched(self, dc: str, image_id: str, image_file: str) -> None:
        """``dc``'s hypervisor fetched every byte of ``image_id`` and verified them."""
        digest = hashlib.sha512((VERIFY_ROOT / f"{image_file}.raw").read_bytes()).hexdigest()
        log = subprocess.run(
            ["docker", "logs", f"oidlab_{self.dcs[dc].key}_nova_compute"], capture_output=True, text=True, timeout=60
        ).stderr
        wanted = re.compile(rf"oid-lab fetched image {image_id} .*sha512 verified {digest}")
        check(bool(wanted.search(log)), f"{dc}'s hypervisor did not fetch and verify {image_id} ({image_file})")

    def create_volume(self, name: str, scope: str, **wanted) -> list[str]:
        """POST a 1 GiB volume; the ids made (one per location under '&'), once available."""
        answer = self.call("POST", "/volume/v3/volumes", scope, json={"volume": {"size": 1, "name": name, **wanted}})
        check(answer.status_code == 202, f"volume {name} under {scope}: {answer.status_code} {answer.text[:500]}")
        listed = self.call("GET", f"/volume/v3/volumes?name={name}", scope).json()["volumes"]
        for volume in listed:
            self.wait_volume(volume["id"], volume_scope(volume, scope))
        return [volume["id"] for volume in listed]

    def wait_volume(self, volume_id: str, scope: str) -> dict:
        deadline = time.monotonic() + WAIT_ACTIVE_SECONDS
        while time.monotonic() < deadline:
            volume = self.call("GET", f"/volume/v3/volumes/{volume_id}", scope).json()["volume"]
            if volume["status"] == "available" or volume["status"].startswith("error"):
                check(volume["status"] == "available", f"volume {volume_id}: {volume['status']}")
                return volume
            time.sleep(1)
        raise CellFailed(f"volume {volume_id} not available within {WAIT_ACTIVE_SECONDS}s")

    def delete_volumes(self, name: str, scope: str) -> None:
        """Every volume ``name`` under ``scope`` goes, each at its own location."""
        for volume in self.call("GET", f"/volume/v3/volumes?name={name}", scope).json().get("volumes", []):
            self.call("DELETE", f"/volume/v3/volumes/{volume['id']}", volume_scope(volume, scope))

    def volume_holds(self, dc: str, volume_id: str, image_file: str) -> None:
        """The volume's file in ``dc`` (the lab's Cinder file driver) starts with the image's bytes."""
        image = (VERIFY_ROOT / f"{image_file}.raw").read_bytes()
        path = lab_cli.LAB_ROOT / self.dcs[dc].key / "data" / "cinder" / "volumes" / f"volume-{volume_id}"
        with path.open("rb") as volume:
            check(volume.read(len(image)) == image, f"volume {volume_id} in {dc} does not hold {image_file}'s bytes")

    def upstream_counts(self) -> dict[tuple[str, str], float]:
        """{(DC, location it sent to): requests} from every interposer's metrics."""
        counts = {}
        for name in self.dcs:
            try:
                text = requests.get(self.interposer(name) + "/metrics", timeout=10).text
            except requests.RequestException:
                continue  # an interposer that does not answer sent nothing we can count
            for location, value in UPSTREAM.findall(text):
                counts[(name, location)] = counts.get((name, location), 0.0) + float(value)
        return counts

    def wait_healed(self, location: str) -> float:
        """Seconds until the entry's interposer reaches ``location`` again (its breaker closed)."""
        started = time.monotonic()
        while time.monotonic() - started < WAIT_HEALED_SECONDS:
            answer = self.call("GET", "/image/", f"{{glance: {location}}}")
            if answer.status_code < 500:
                return time.monotonic() - started
            time.sleep(1)
        raise CellFailed(f"{location} still unreachable {WAIT_HEALED_SECONDS}s after the heal")


def volume_scope(volume: dict, listed_under: str) -> str:
    """The scope of one volume of a list: its location under '&', else the list's."""
    return f"{{cinder: {volume['oid_location']}}}" if "oid_location" in volume else listed_under


def round_trips(links: dict[tuple[str, str], float], before, after) -> tuple[int, float]:
    """(cross-DC requests, sum of their RTTs in seconds) between two metric snapshots."""
    requests_crossed, seconds = 0, 0.0
    for (source, dest), value in after.items():
        if source == dest:
            continue
        delta = int(round(value - before.get((source, dest), 0.0)))
        requests_crossed += delta
        seconds += delta * links.get((source, dest), 0.0) / 1000.0
    return requests_crossed, seconds


def wan_links() -> dict[tuple[str, str], float]:
    """{(source DC, destination DC): RTT in ms} as the lab's WAN router has them."""
    state = json.loads((lab_cli.LAB_ROOT / "wan" / "wan.json").read_text())
    return {tuple(link["name"].split(">")): float(link["rtt_ms"]) for link in state["links"]}


def wan_noise() -> str:
    """The jitter and random loss of the lab's WAN links, as its router has them."""
    links = json.loads((lab_cli.LAB_ROOT / "wan" / "wan.json").read_text())["links"]
    jitter = max((link["jitter_ms"] / link["delay_ms"] for link in links if link["delay_ms"]), default=0.0)
    loss = max((link["loss"] for link in links), default=0.0)
    return f"jitter {jitter * 100:g}% of the delay, loss {loss * 100:g}% per link"


# -- the cells' HTTP scenarios ----------------------------------------------------


def api_global_1dc(fed: Federation, notes: list[str]) -> None:
    scope = "{nova: Berlin, glance: Berlin}"
    image_id, _ = fed.image_id("verify-berlin", "{glance: Berlin}")
    server_id = fed.boot("verify-api-1dc", image_id, scope)
    try:
        fed.wait_active(server_id, scope)
        fed.fetched("Berlin", image_id, "verify-berlin")
        listed = fed.call("GET", "/compute/v2.1/servers", "{nova: Denver}")
        check(listed.status_code == 200, f"list Denver: {listed.status_code}")
        check(listed.headers.get("X-Oid-Location") == "Denver", "Denver's list did not come from Denver")
        check(server_id not in {s["id"] for s in listed.json()["servers"]}, "Berlin's VM listed in Denver")
    finally:
        fed.delete_server(server_id, scope)


def api_global_xdc(fed: Federation, notes: list[str]) -> None:
    scope = "{nova: Berlin, glance: Denver}"
    image_id, where = fed.image_id("verify-denver", "{glance: Denver}")
    server_id = fed.boot("verify-api-xdc", image_id, scope)
    try:
        fed.wait_active(server_id, scope)
        fed.fetched("Berlin", image_id, "verify-denver")
    finally:
        fed.delete_server(server_id, scope)


def api_global_star(fed: Federation, notes: list[str]) -> None:
    both = "{glance: Berlin&Denver}"
    image = {"name": "verify-api-both", "disk_format": "raw", "container_format": "bare"}
    made = fed.call("POST", "/image/v2/images", both, json=image)
    check(made.status_code == 201, f"image under Berlin&Denver: {made.status_code} {made.text[:500]}")
    check(made.headers.get("X-Oid-Outcomes") == "Berlin=ok,Denver=ok", f"outcomes: {made.headers}")
    listed = fed.call("GET", "/image/v2/images?name=verify-api-both", both).json()["images"]
    for item in listed:
        fed.call("DELETE", f"/image/v2/images/{item['id']}", f"{{glance: {item['oid_location']}}}")
    check(sorted(i["oid_location"] for i in listed) == ["Berlin", "Denver"], f"images listed: {listed}")

    dp_id, dp_from = fed.image_id("verify-dp", "{glance: Denver|Paris}")
    check(dp_from == "Denver", f"Denver|Paris answered from {dp_from}")
    boots = {  # scope: (image id, where Nova runs)
        "{nova: Berlin, glance: Berlin}": (fed.image_id("verify-berlin", "{glance: Berlin}")[0], "Berlin"),
        "{nova: Denver, glance: Denver}": (fed.image_id("verify-denver", "{glance: Denver}")[0], "Denver"),
        "{nova: Berlin, glance: Denver|Paris}": (dp_id, "Berlin"),
    }
    servers = {}
    try:
        for number, (scope, (image_id, _)) in enumerate(boots.items()):
            servers[scope] = fed.boot(f"verify-api-star-{number}", image_id, scope)
        for scope, server_id in servers.items():
            fed.wait_active(server_id, scope)
        merged = fed.call("GET", "/compute/v2.1/servers?name=^verify-api-star-", "{nova: Berlin&Denver}")
        check(merged.status_code == 200, f"list Berlin&Denver: {merged.status_code}")
        where = {s["id"]: s["oid_location"] for s in merged.json()["servers"]}
        check(where == {sid: boots[scope][1] for scope, sid in servers.items()}, f"merged list: {where}")
        fed.fetched("Berlin", dp_id, "verify-dp")
    finally:
        for scope, server_id in servers.items():
            fed.delete_server(server_id, scope)

    # Keystones share nothing: a user in each, each with that Keystone's token.
    for keystone in ("Berlin", "Denver"):
        scope = f"{{keystone: {keystone}}}"
        user = {"user": {"name": "verify-api-user", "password": "verify-api-secret", "domain_id": "default"}}
        made = fed.call("POST", "/identity/v3/users", scope, keystone=keystone, json=user)
        check(made.status_code == 201, f"user at {keystone}: {made.status_code} {made.text[:300]}")
        fed.call("DELETE", f"/identity/v3/users/{made.json()['user']['id']}", scope, keystone=keystone)


def api_partial_1dc(fed: Federation, notes: list[str]) -> None:
    scope = "{nova: Berlin, glance: Berlin}"
    image_id, _ = fed.image_id("verify-berlin", "{glance: Berlin}")
    server_id = fed.boot("verify-api-alone", image_id, scope)
    try:
        fed.wait_active(server_id, scope)
        fed.fetched("Berlin", image_id, "verify-berlin")
    finally:
        fed.delete_server(server_id, scope)


def api_partial_xdc(fed: Federation, notes: list[str]) -> None:
    scope = "{nova: Berlin, glance: Denver|Paris}"
    image_id, where = fed.image_id("verify-dp", "{glance: Denver|Paris}")
    check(where == "Paris", f"Denver|Paris answered from {where} while Berlin-Denver is cut")
    server_id = fed.boot("verify-api-reach", image_id, scope)
    try:
        fed.wait_active(server_id, scope)
        fed.fetched("Berlin", image_id, "verify-dp")
    finally:
        fed.delete_server(server_id, scope)


def timed(fed: Federation, path: str, scope: str) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = fed.call("GET", path, scope)
    return time.monotonic() - started, answer


def api_partial_star(fed: Federation, notes: list[str]) -> None:
    path = "/image/v2/images?name=verify-dp"
    first, answer = timed(fed, path, "{glance: Denver|Paris}")
    check(answer.status_code == 200 and answer.headers.get("X-Oid-Location") == "Paris", "first Denver|Paris")
    following, direct = [], []
    for attempt in range(5):
        seconds, answer = timed(fed, path, "{glance: Denver|Paris}")
        check(answer.status_code == 200 and answer.headers.get("X-Oid-Location") == "Paris", "then Denver|Paris")
        if attempt == 0:  # later ones may come after the back-off, once a background probe ran
            outcomes = answer.headers.get("X-Oid-Outcomes")
            check(outcomes == "Denver=skipped,Paris=ok", f"Denver not skipped after detection: {outcomes}")
        following.append(seconds)
        direct.append(timed(fed, path, "{glance: Paris}")[0])
    then, alone = statistics.median(following), statistics.median(direct)
    notes.append(
        f"Denver|Paris with Denver cut off: first {first:.3f} s (Denver tried), then {then:.3f} s median "
        f"(Denver skipped) vs {alone:.3f} s straight to Paris: {then / alone:.2f}x"
    )

    both = fed.call("GET", path, "{glance: Berlin&Denver}")
    check(both.status_code == 502 and both.json()["error"]["message"] == "failed at: Denver", f"&: {both.text}")
    image = {"name": "verify-api-partial", "disk_format": "raw", "container_format": "bare"}
    made = fed.call("POST", "/image/v2/images", "{glance: Berlin&Paris&Denver}", json=image)
    try:
        check(made.status_code == 502, f"& create with Denver cut: {made.status_code}")
        outcomes = {o["location"]: o for o in made.json()["error"]["oid_outcomes"]}
        # Nothing half-done unreported: what Berlin and Paris made is in the error.
        check(outcomes["Berlin"]["ok"] and outcomes["Paris"]["ok"], f"outcomes: {outcomes}")
        check(outcomes["Berlin"]["status"] == 201 and not outcomes["Denver"]["ok"], f"outcomes: {outcomes}")
    finally:
        listed = fed.call("GET", "/image/v2/images?name=verify-api-partial", "{glance: Berlin&Paris}")
        for item in listed.json().get("images", []):
            fed.call("DELETE", f"/image/v2/images/{item['id']}", f"{{glance: {item['oid_location']}}}")


def api_bad(fed: Federation, notes: list[str]) -> None:
    ports = fed.call("GET", "/network/v2.0/ports", "{neutron: Denver}").json()["ports"]
    image_id, _ = fed.image_id("verify-berlin", "{glance: Berlin}")
    networks = fed.call("GET", "/network/v2.0/networks?name=verify-net", "{neutron: Denver}").json()["networks"]
    network = {"uuid": networks[0]["id"]}
    server = {"name": "verify-api-bad", "imageRef": image_id, "flavorRef": "1", "networks": [network]}
    refused = fed.call("POST", "/compute/v2.1/servers", "{nova: Berlin, neutron: Denver}", json={"server": server})
    check(refused.status_code == 400, f"bad collaboration answered {refused.status_code}")
    message = refused.json()["error"]["message"]
    check("network of another DC cannot be plugged in" in message, f"no reason given: {message}")
    after = fed.call("GET", "/network/v2.0/ports", "{neutron: Denver}").json()["ports"]
    check(len(after) == len(ports), "a port was made in Denver")
    servers = fed.call("GET", "/compute/v2.1/servers?name=verify-api-bad", "{nova: Berlin}").json()["servers"]
    check(servers == [], "a server was made in Berlin")


def api_storage_global(fed: Federation, notes: list[str]) -> None:
    image_id, _ = fed.image_id("verify-denver", "{glance: Denver}")
    scope = "{cinder: Berlin, glance: Denver}"
    try:
        (volume_id,) = fed.create_volume("verify-api-volume", scope, imageRef=image_id)
        fed.volume_holds("Berlin", volume_id, "verify-denver")
    finally:
        fed.delete_volumes("verify-api-volume", "{cinder: Berlin}")


def api_storage_partial(fed: Federation, notes: list[str]) -> None:
    image_id, where = fed.image_id("verify-dp", "{glance: Denver|Paris}")
    check(where == "Paris", f"Denver|Paris answered from {where} while Berlin-Denver is cut")
    try:
        (volume_id,) = fed.create_volume("verify-api-volume-reach", "{cinder: Berlin, glance: Denver|Paris}",
                                         imageRef=image_id)  # fmt: skip
        fed.volume_holds("Berlin", volume_id, "verify-dp")
    finally:
        fed.delete_volumes("verify-api-volume-reach", "{cinder: Berlin}")


def api_storage_star(fed: Federation, notes: list[str]) -> None:
    both = "{cinder: Berlin&Denver}"
    try:
        made = fed.create_volume("verify-api-volume-both", both)
        listed = fed.call("GET", "/volume/v3/volumes?name=verify-api-volume-both", both).json()["volumes"]
        check(len(made) == 2 and sorted(v["oid_location"] for v in listed) == ["Berlin", "Denver"], f"{listed}")
    finally:
        fed.delete_volumes("verify-api-volume-both", both)


def api_storage_bad(fed: Federation, notes: list[str]) -> None:
    image_id, _ = fed.image_id("verify-berlin", "{glance: Berlin}")
    server_id = fed.boot("verify-api-attach", image_id, "{nova: Berlin}")
    try:
        fed.wait_active(server_id, "{nova: Berlin}")
        (volume_id,) = fed.create_volume("verify-api-volume-there", "{cinder: Denver}")
        attach = {"volumeAttachment": {"volumeId": volume_id}}
        path = f"/compute/v2.1/servers/{server_id}/os-volume_attachments"
        refused = fed.call("POST", path, "{nova: Berlin, cinder: Denver}", json=attach)
        check(refused.status_code == 400, f"cross-DC attach answered {refused.status_code}")
        message = refused.json()["error"]["message"]
        check("a volume of another DC cannot be attached" in message, f"no reason given: {message}")
        volume = fed.call("GET", f"/volume/v3/volumes/{volume_id}", "{cinder: Denver}").json()["volume"]
        check(volume["attachments"] == [] and volume["status"] == "available", f"Denver's volume: {volume}")
    finally:
        fed.delete_server(server_id, "{nova: Berlin}")
        fed.delete_volumes("verify-api-volume-there", "{cinder: Denver}")


# -- the table --------------------------------------------------------------------


@dataclass
class Cell:
    key: str
    row: str
    column: str
    what: str
    api: Callable[[Federation, list], None]
    cut: tuple[str, ...] = ()  # `oid lab cut` arguments
    after_heal: str | None = None  # a playbook that must converge once healed


CELLS = [
    Cell("global-1dc", "global connectivity", "1-DC", "boot in Berlin, image from Berlin; list VMs in Denver",
         api_global_1dc),
    Cell("global-xdc", "global connectivity", "x-DC", "boot in Berlin, image only Denver has", api_global_xdc),
    Cell("global-star", "global connectivity", "*-DC",
         "image in Berlin&Denver; VMs of Berlin&Denver; image from Denver|Paris; user in Berlin&Denver",
         api_global_star),
    Cell("partial-1dc", "partial (a DC cut off)", "1-DC", "Berlin cut off from all boots alone", api_partial_1dc,
         cut=("Berlin", "--all")),
    Cell("partial-xdc", "partial (a DC cut off)", "x-DC", "Berlin cut from Denver boots with Paris's copy",
         api_partial_xdc, cut=("Berlin", "Denver")),
    Cell("partial-star", "partial (a DC cut off)", "*-DC",
         "Denver cut off: Denver|Paris falls to Paris, & names Denver, converges once healed", api_partial_star,
         cut=("Denver", "--all"), after_heal="partial-star-healed"),
    Cell("bad", "bad collaboration", "refused", "Nova in Berlin on Denver's network: refused, nothing made", api_bad),
    Cell("storage-global", "storage", "x-DC", "a volume in Berlin from the image only Denver has", api_storage_global),
    Cell("storage-star", "storage", "*-DC", "a volume in Berlin&Denver, one list", api_storage_star),
    Cell("storage-bad", "storage", "refused", "a Denver volume on a Berlin server: refused, nothing attached",
         api_storage_bad),
    # Last: after a heal, the entry's breaker for Denver's Glance waits out its back-off.
    Cell("storage-partial", "storage", "partial x-DC", "Berlin cut from Denver: a volume from Paris's copy",
         api_storage_partial, cut=("Berlin", "Denver")),
]  # fmt: skip


@dataclass
class Run:
    cell: Cell
    via: str
    ok: bool = False
    seconds: float = 0.0
    crossed: int = 0
    rtt_seconds: float = 0.0
    detail: str = ""
    notes: list[str] = field(default_factory=list)


def playbook(top: Path, name: str) -> tuple[bool, str]:
    binary = Path(sys.executable).with_name("ansible-playbook")
    book = f"playbooks/verify/{name}.yml"
    result = subprocess.run(
        [str(binary if binary.exists() else "ansible-playbook"), "-i", "inventories/lab", book],
        cwd=top, capture_output=True, text=True, timeout=1800, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0"),
    )  # fmt: skip
    if result.returncode == 0:
        return True, ""
    failed = [line for line in result.stdout.splitlines() if line.startswith(("fatal:", "[ERROR]"))]
    return False, (failed[-1] if failed else result.stdout[-800:] + result.stderr[-800:])[:800]


def measured(fed: Federation, links, run: Run, work: Callable[[], tuple[bool, str]]) -> Run:
    before = fed.upstream_counts()
    started = time.monotonic()
    try:
        run.ok, run.detail = work()
    except (CellFailed, requests.RequestException, KeyError, ValueError) as error:
        run.ok, run.detail = False, f"{type(error).__name__}: {error}"[:800]
    run.seconds = time.monotonic() - started
    run.crossed, run.rtt_seconds = round_trips(links, before, fed.upstream_counts())
    return run


def wan(top: Path, action: str, arguments: tuple[str, ...]) -> None:
    """`oid lab cut|heal ...`, quietly; the lab CLI's own errors stop the run."""
    command = [sys.executable, "-m", "oid.cli", "lab", action, *arguments]
    result = subprocess.run(command, cwd=top, capture_output=True, text=True, timeout=600)
    if result.returncode:
        raise LabError(
            f"oid lab {action} {' '.join(arguments)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def run_cell(top: Path, fed: Federation, links, cell: Cell) -> list[Run]:
    runs = []
    if cell.cut:
        wan(top, "cut", cell.cut)
    try:
        # The HTTP scenario first: partial-star times Denver's first detection.
        api_run = Run(cell, "HTTP API")

        def api():
            cell.api(fed, api_run.notes)
            return True, ""

        runs.append(measured(fed, links, api_run, api))
        runs.append(measured(fed, links, Run(cell, "playbook"), lambda: playbook(top, cell.key)))
    finally:
        if cell.cut:
            wan(top, "heal", cell.cut)
    if cell.after_heal:
        healed = Run(cell, "playbook, healed")
        waited = fed.wait_healed(cell.cut[0])
        healed.notes.append(f"{cell.cut[0]} reachable again {waited:.1f} s after the heal (breaker back-off)")
        runs.append(measured(fed, links, healed, lambda: playbook(top, cell.after_heal)))
    return runs


def print_table(runs: list[Run], links, total: float) -> None:
    pairs = sorted({tuple(sorted(pair)) for pair in links})
    print("\nthe acceptance table on the lab, through Berlin's interposer (WAN RTT: "
          + ", ".join(f"{a}-{b} {links[(a, b)]:g} ms" for a, b in pairs) + f"; {wan_noise()})\n")  # fmt: skip
    columns = ["1-DC", "x-DC", "*-DC"]
    rows = ["global connectivity", "partial (a DC cut off)"]
    width = 28

    def summary(cell_runs: list[Run]) -> str:
        if not cell_runs:
            return "-"
        state = "PASS" if all(r.ok for r in cell_runs) else "FAIL"
        return f"{state} " + ", ".join(f"{r.seconds:.0f}s {r.via.split()[0].lower()}" for r in cell_runs[:2])

    print("| Boot VM".ljust(width) + "".join(f"| {c}".ljust(width) for c in columns) + "|")
    print("|" + "|".join("-" * (width - 1) for _ in range(len(columns) + 1)) + "|")
    for row in rows:
        line = f"| {row}".ljust(width)
        for column in columns:
            line += f"| {summary([r for r in runs if r.cell.row == row and r.cell.column == column])}".ljust(width)
        print(line + "|")
    bad = [r for r in runs if r.cell.row == "bad collaboration"]
    if bad:
        print(f"| bad collaboration: {summary(bad)} (Nova in Berlin on a Denver network refused)")
    storage = [r for r in runs if r.cell.row == "storage"]
    if storage:
        kinds = dict.fromkeys(r.cell.column for r in storage)
        print("| storage: " + "; ".join(
            f"{kind} {summary([r for r in storage if r.cell.column == kind])}" for kind in kinds))  # fmt: skip

    print(f"\n{'cell':<17}{'via':<18}{'result':<8}{'wall':>8}{'WAN requests':>14}{'RTTs crossed':>14}  what")
    for r in runs:
        print(
            f"{r.cell.key:<17}{r.via:<18}{'PASS' if r.ok else 'FAIL':<8}{r.seconds:>7.1f}s{r.crossed:>14}"
            f"{r.rtt_seconds:>13.2f}s  {r.cell.what if r.via == 'HTTP API' else ''}"
        )
        for note in r.notes:
            print(f"{'':<17}{note}")
        if not r.ok:
            print(f"{'':<17}{r.detail}")
    passed = sum(r.ok for r in runs)
    print(f"\n{passed}/{len(runs)} passed in {total:.0f}s")


def verify(args) -> int:
    top = lab_cli.project_dir()
    dcs = inventory.read(lab_cli.inventory_file(top))
    if {dc.name for dc in dcs} < {"Berlin", "Denver", "Paris"}:
        raise LabError("the acceptance table needs the lab's Berlin, Denver and Paris: oid lab up")
    cells = [c for c in CELLS if not args.cells or c.key in args.cells]
    unknown = set(args.cells or ()) - {c.key for c in CELLS}
    if unknown:
        raise LabError(f"unknown cells: {', '.join(sorted(unknown))}; cells: {', '.join(c.key for c in CELLS)}")
    started = time.monotonic()
    print("preparing the scenarios' images and network (playbooks/verify/prepare.yml)", flush=True)
    ok, detail = playbook(top, "prepare")
    if not ok:
        print(f"oid verify: prepare.yml failed: {detail}", file=sys.stderr)
        return 1
    fed, links = Federation(dcs), wan_links()
    runs: list[Run] = []
    for cell in cells:
        print(f"{cell.key}: {cell.what}", flush=True)
        runs.extend(run_cell(top, fed, links, cell))
        for r in runs[-(3 if cell.after_heal else 2) :]:
            print(f"  {r.via}: {'PASS' if r.ok else 'FAIL ' + r.detail} ({r.seconds:.1f}s)", flush=True)
    print_table(runs, links, time.monotonic() - started)
    return 0 if all(r.ok for r in runs) else 1
