#!/usr/bin/env python3
"""One DC's share of site.yml at edge scale: Keystone work and seconds, N = 10, 100, 1000.

For each N, an inventory of N DCs (one control host each, every one on this
machine with `ansible_connection: local`) and a playbook of the overlay's
roles that speak to Keystone or grow with the federation (oid_catalog: the
catalog, the DC's secrets, its interposer's account; oid_trust: the CA and
the DC's certificate), run for one DC (`--limit`), first and again (nothing
to change), against one real Keystone (2026.1, pip-installed, SQLite; the
OpenStack venv of `make openstack-venv`) behind a counting proxy. Printed,
as ratios against N=10 in the same run: the Keystone API requests of each
run and its seconds.

Nothing is installed on the hosts, nothing leaves loopback; each N has its own
directory, removed at the end.
Usage: benchmarks/site_scale.py [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP))
from tests.support import keystone as ks  # noqa: E402
from tests.support.identity import admin  # noqa: E402

PLAYBOOK = """
- name: One DC's overlay roles that grow with the federation or speak to Keystone
  hosts: oid_federation
  gather_facts: false
  roles:
    - oid_catalog
    - oid_trust
  handlers:  # site.yml's play has oid_interposer's; here they only say they ran
    - name: Interposer | Reload
      listen: oid catalog changed
      ansible.builtin.debug: {msg: reload}
    - name: Interposer | Restart
      listen: oid interposer files changed
      ansible.builtin.debug: {msg: restart}
"""


class CountingProxy:
    """Keystone behind a proxy that counts the API requests it relays."""

    def __init__(self, upstream: str, port: int):
        self.upstream = upstream
        self.count = 0
        self.port = port
        self.ready = threading.Event()

    async def relay(self, request: web.Request) -> web.Response:
        self.count += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async with session.request(
                request.method, self.upstream + request.path_qs, headers=headers, data=await request.read()
            ) as answer:
                body = await answer.read()
                dropped = ("transfer-encoding", "content-length")
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in dropped}
                return web.Response(status=answer.status, body=body, headers=kept)

    def serve(self) -> None:
        async def main():
            app = web.Application(client_max_size=0)
            app.router.add_route("*", "/{path:.*}", self.relay)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self.ready.set()
            await asyncio.Event().wait()

        threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
        self.ready.wait(10)


def inventory(n: int, directory: Path, keystone_url: str, password: str) -> dict:
    dcs = {}
    for i in range(n):
        name = f"Dc{i:04d}"
        address = f"10.{100 + i // 65536}.{i // 256 % 256}.{i % 256}"
        dcs[name.lower()] = {
            "hosts": {f"{name.lower()}-control": None},
            "vars": {
                "oid_location": name,
                "oid_internal_address": address,
                "oid_local_endpoints": {"identity": f"http://{address}:5000", "compute": f"http://{address}:8774"},
            },
        }
    first = dcs["dc0000"]["vars"]
    first["oid_local_endpoints"]["identity"] = keystone_url
    first["oid_keystone_admin_auth"] = {
        "auth_url": f"{keystone_url}/v3",
        "username": "admin",
        "password": password,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    first["oid_region_name"] = "Berlin"  # the bench Keystone's region
    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "node_config": str(directory / "kolla"),
                "node_config_directory": str(directory / "kolla"),
                "oid_service_account_password": "bench-account-password",
                "oid_federation_secret": "bench-federation-secret-0123456789",
            },
            "children": {"oid_federation": {"children": dcs}},
        }
    }


def run(directory: Path, proxy: CountingProxy) -> tuple[float, int, dict]:
    before = proxy.count
    started = time.monotonic()
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i", str(directory / "inventory.yml"),
            "--limit", "dc0000-control",
            # An extra variable: group_vars/all/oid.yml (linked beside the inventory) sets
            # it too, and wins over the inventory file's own group variables.
            "-e", json.dumps({"oid_pki_directory": str(directory / "pki")}),
            str(directory / "play.yml"),
        ],
        env=env, capture_output=True, text=True, timeout=3600, cwd=TOP,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"ansible-playbook failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    stats = json.loads(done.stdout)["stats"]["dc0000-control"]
    return elapsed, proxy.count - before, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of DCs in the catalog (default 10,100,1000)")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    if ks.available() is not None:
        sys.exit(ks.available())
    with tempfile.TemporaryDirectory(prefix="oid-site-scale-") as workdir:
        # The catalog's public identity endpoint is the proxy: openstacksdk's calls
        # after the token (found in the catalog) are counted too.
        port = ks.free_port()
        keystone = ks.Keystone(Path(workdir), "Berlin", public_url=f"http://127.0.0.1:{port}").start()
        try:
            proxy = CountingProxy(keystone.url, port)
            proxy.serve()
            # Kolla's deployment makes the project "service"; the bench Keystone has none.
            admin(keystone).identity.create_project(name="service", domain_id="default")
            results = {}
            for n in sizes:
                directory = Path(workdir) / f"n{n}"
                directory.mkdir()
                inventory_data = inventory(n, directory, f"http://127.0.0.1:{proxy.port}", keystone.password)
                (directory / "inventory.yml").write_text(yaml.safe_dump(inventory_data))
                (directory / "play.yml").write_text(PLAYBOOK)
                (directory / "group_vars").symlink_to(TOP / "group_vars")  # the overlay's shared defaults
                first = run(directory, proxy)
                again = run(directory, proxy)
                results[n] = (first, again)
                # Each N's first run creates the account, as on a new DC.
                identity = admin(keystone).identity
                identity.delete_user(identity.find_user("oid-interposer", ignore_missing=False))
        finally:
            keystone.stop()
    report(results)


def report(results: dict) -> None:
    print("One DC's oid_catalog and oid_trust (site.yml's roles that speak to Keystone or grow with N),")
    print("for one DC of N, against one real Keystone; first run and an unchanged re-run\n")
    base = results[min(results)]
    for n, (first, again) in results.items():
        print(f"N={n}:")
        for label, (seconds, calls, stats), (base_seconds, base_calls, _) in (
            ("first run ", first, base[0]),
            ("re-run    ", again, base[1]),
        ):
            print(
                f"   {label} {calls:4d} Keystone requests ({calls / base_calls:.2f}x N={min(results)})"
                f"   {seconds:6.1f} s ({seconds / base_seconds:.2f}x)   changed={stats['changed']}"
            )
    print()


if __name__ == "__main__":
    main()
