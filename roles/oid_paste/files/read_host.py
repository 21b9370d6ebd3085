#!/usr/bin/env python3
"""Print, as one JSON object, what the paste role compares on this host:

    {"shipped": {service: the api-paste.ini it ships, read from its image},
     "filters": the digest of the filter code unpacked here, or null,
     "options": [the index of each option of OPTIONS not set as given]}

One task on the host for everything the role reads there, rather than one per
service, a copy of the filters' wheel and an ini_file per option every run
(docs/performance.md): a container per image (never pulled, no network), all
from this one process; the digest is the one
lookup('oid_paste_package_digest') computes of the wheel's package on the
controller, which imports it from here. An option is set as given when its
file (mode 0644, as ini_file leaves it) holds it once, in its section once,
with that value (however the line is spaced); a file that cannot be read that
way leaves the option to ini_file, which decides.

    read_host.py ENGINE '[{"service": ..., "image": ..., "path": ...}, ...]' PACKAGE_DIRECTORY \
        '[{"path": ..., "section": ..., "option": ..., "value": ...}, ...]'

Fails naming the service, its image and the engine's answer when a file cannot
be read (roles/oid_paste's prechecks say the same before a deployment).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import stat
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


def ini_values(path: str) -> configparser.RawConfigParser | None:
    """The file as sections of options, or None where it is not plainly one
    (missing, not 0644, text before a section, a section or option twice)."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) != 0o644:
            return None
        # No DEFAULT section of its own: oslo.config files name theirs [DEFAULT].
        parser = configparser.RawConfigParser(strict=True, default_section="oid: none", interpolation=None)
        parser.optionxform = str  # option names as written, as ini_file matches them
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
        return parser
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None


def options_not_set(options: list[dict]) -> list[int]:
    files: dict[str, configparser.RawConfigParser | None] = {}
    differing = []
    for index, item in enumerate(options):
        if item["path"] not in files:
            files[item["path"]] = ini_values(item["path"])
        parser = files[item["path"]]
        wanted = item["value"] if isinstance(item["value"], str) else str(item["value"])
        if parser is None or parser.get(item["section"], item["option"], fallback=None) != wanted:
            differing.append(index)
    return differing


def read(engine: str, image: str, path: str) -> subprocess.CompletedProcess:
    command = [engine, "run", "--rm", "--network", "none", "--pull", "never", "--entrypoint", "cat", image, path]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def main(engine: str, specification: str, package: str, options: str) -> int:
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
    try:
        filters = package_digest(tree_files(package)) if os.path.isdir(package) else None
    except OSError:  # a file that cannot be read (a dangling link): unpacking puts the tree back
        filters = None
    print(json.dumps({"shipped": shipped, "filters": filters, "options": options_not_set(json.loads(options))}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
