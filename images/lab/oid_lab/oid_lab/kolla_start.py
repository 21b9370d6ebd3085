"""Kolla's container start contract, so the lab's containers obey the same
layout as Kolla's: the host keeps each service's files under
``<node_config_directory>/<service>/`` (mounted at /var/lib/kolla/config_files),
with a ``config.json`` saying where each file goes and which command to run.
Files are copied at every start (KOLLA_CONFIG_STRATEGY=COPY_ALWAYS), so a
restart is how a configuration change reaches the service, as with Kolla.

Bootstrap containers (database migrations and the like) set
KOLLA_BOOTSTRAP_COMMAND: the same files are copied, then that command runs
instead of the service's.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import sys

CONFIG_DIR = "/var/lib/kolla/config_files"


def copy_one(source: str, dest: str, perm: str | None, optional: bool) -> None:
    matches = sorted(glob.glob(source))
    if not matches:
        if optional:
            return
        sys.exit(f"kolla_start: {source} is missing and not optional")
    for match in matches:
        target = dest
        if dest.endswith("/") or len(matches) > 1 or os.path.isdir(dest):
            target = os.path.join(dest, os.path.basename(match))
        os.makedirs(os.path.dirname(target) or "/", exist_ok=True)
        if os.path.isdir(match):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(match, target)
        else:
            shutil.copy(match, target)
        if perm:
            os.chmod(target, int(perm, 8))


def main() -> None:
    with open(os.path.join(CONFIG_DIR, "config.json")) as handle:
        config = json.load(handle)
    for item in config.get("config_files", []):
        copy_one(item["source"], item["dest"], item.get("perm"), item.get("optional", False))
    for item in config.get("permissions", []):
        os.makedirs(item["path"], exist_ok=True)
    text = os.environ.get("KOLLA_BOOTSTRAP_COMMAND") or config["command"]
    command = shlex.split(text)
    print(f"kolla_start: running {text}", flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
