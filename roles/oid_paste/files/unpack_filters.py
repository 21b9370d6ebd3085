#!/usr/bin/env python3
"""Unpack the filters' wheel (scripts/build-filters) into DIRECTORY/oid, where
the API containers mount it, unless that tree already holds exactly the wheel's
package (the same files, the same bytes: a file edited or added by hand is put
back or removed). The files replace the previous ones inside DIRECTORY/oid,
which is kept, so that the running containers' bind mount still points at it.
Prints "unpacked" when it changed something, "unchanged" otherwise.

    unpack_filters.py WHEEL DIRECTORY
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile

PACKAGE = "oid"


def files_under(directory: str) -> dict[str, str]:
    """{path relative to directory: full path} of the files below it."""
    found = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, directory).replace(os.sep, "/")] = path
    return found


def matches(archive: zipfile.ZipFile, package: str) -> bool:
    members = {
        name[len(PACKAGE) + 1 :]: name
        for name in archive.namelist()
        if name.startswith(PACKAGE + "/") and not name.endswith("/")
    }
    present = files_under(package) if os.path.isdir(package) else {}
    if set(present) != set(members):
        return False
    for relative, path in present.items():
        with open(path, "rb") as handle:
            if handle.read() != archive.read(members[relative]):
                return False
    return True


def empty(directory: str) -> None:
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def unpack(wheel: str, directory: str) -> bool:
    package = os.path.join(directory, PACKAGE)
    with zipfile.ZipFile(wheel) as archive:
        if not any(name.startswith(PACKAGE + "/") for name in archive.namelist()):
            raise SystemExit(f"{wheel}: no {PACKAGE}/ package inside")
        if matches(archive, package):
            return False
        with tempfile.TemporaryDirectory(dir=directory, prefix=".unpack-") as work:
            archive.extractall(work)  # zipfile keeps every member inside work
            os.makedirs(package, mode=0o755, exist_ok=True)
            empty(package)
            for name in os.listdir(os.path.join(work, PACKAGE)):
                os.replace(os.path.join(work, PACKAGE, name), os.path.join(package, name))
    for root, dirs, files in os.walk(package):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print("unpacked" if unpack(sys.argv[1], sys.argv[2]) else "unchanged")
