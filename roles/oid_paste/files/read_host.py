#!/usr/bin/env python3
"""Print, as one JSON object, what the paste role compares on this host:

    {"shipped": {service: the api-paste.ini it ships, read from its image},
     "filters": the digest of the filter code unpacked here, or null}

One task on the host for everything the role reads there, rather than one per
service and a copy of the filters' wheel every run (docs/performance.md): a
container per image (never pulled, no network), all from this one process;
the digest is the one lookup('oid_paste_package_digest') computes of the
wheel's package on the controller, which imports it from here.

    read_host.py ENGINE '[{"service": ..., "image": ..., "path": ...}, ...]' PACKAGE_DIRECTORY

Fails naming the service, its image and the engine's answer when a file cannot
be read (roles/oid_paste's prechecks say the same before a deployment).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable


def package_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over a package's files: each relative path (/-separated) and the
    SHA-256 of its bytes, in the order of the paths. Modes are not in it:
    unpack_filters.py sets them whenever it unpacks."""
    digest = hashlib.sha256()
    for relative, data in sorted(files):
        digest.update(f"{relative}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def tree_files(directory: str) -> Iterable[tuple[str, bytes]]:
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                yield os.path.relpath(path, directory).replace(os.sep, "/"), handle.read()


def read(engine: str, image: str, path: str) -> subprocess.CompletedProcess:
    command = [engine, "run", "--rm", "--network", "none", "--pull", "never", "--entrypoint", "cat", image, path]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def main(engine: str, specification: str, package: str) -> int:
    shipped = {}
    for item in json.loads(specification):
        answer = read(engine, item["image"] or "no-image-named", item["path"])
        if answer.returncode != 0:
            print(
                f"{item['service']}: {item['path']} cannot be read from the image {item['image']!r}: "
                f"{answer.stderr.strip()[:600]}",
                file=sys.stderr,
            )
            return 1
        shipped[item["service"]] = answer.stdout
    filters = package_digest(tree_files(package)) if os.path.isdir(package) else None
    print(json.dumps({"shipped": shipped, "filters": filters}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
