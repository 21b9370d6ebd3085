"""roles/oid_paste/files/unpack_filters.py: the filters' wheel unpacked where the
API containers mount it, and left alone when that tree is already the wheel's."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "oid_paste" / "files" / "unpack_filters.py"
PACKAGE = {"oid/__init__.py": b"", "oid/scope.py": b"SCOPE = 1\n", "oid/paste/filters.py": b"FILTERS = 1\n"}


def wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, "oid-0.1.0.dist-info/METADATA": b"Name: oid\n"}.items():
            archive.writestr(name, data)
    return path


def run(built: Path, directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(built), str(directory)], capture_output=True, text=True)


def unpack(wheel_path: Path, directory: Path) -> str:
    done = run(wheel_path, directory)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_the_package_is_unpacked_once(tmp_path):
    built = wheel(tmp_path / "oid.whl", PACKAGE)
    target = tmp_path / "python"
    target.mkdir()
    assert unpack(built, target) == "unpacked"
    assert tree(target) == PACKAGE  # the package only, not its metadata
    assert (target / "oid" / "scope.py").stat().st_mode & 0o777 == 0o644
    assert unpack(built, target) == "unchanged"


def test_a_file_edited_or_added_by_hand_is_put_back_in_the_same_directory(tmp_path):
    built = wheel(tmp_path / "oid.whl", PACKAGE)
    target = tmp_path / "python"
    target.mkdir()
    unpack(built, target)
    inode = (target / "oid").stat().st_ino  # what a running container's bind mount points at
    (target / "oid" / "scope.py").write_bytes(b"SCOPE = 2\n")
    assert unpack(built, target) == "unpacked"
    (target / "oid" / "extra.py").write_bytes(b"")
    assert unpack(built, target) == "unpacked"
    assert tree(target) == PACKAGE
    assert (target / "oid").stat().st_ino == inode


def test_a_new_wheel_replaces_the_old_files(tmp_path):
    target = tmp_path / "python"
    target.mkdir()
    unpack(wheel(tmp_path / "old.whl", PACKAGE), target)
    newer = {"oid/__init__.py": b"", "oid/entry.py": b"ENTRY = 1\n"}
    assert unpack(wheel(tmp_path / "new.whl", newer), target) == "unpacked"
    assert tree(target) == newer


@pytest.mark.parametrize("members", [{}, {"other/__init__.py": b""}])
def test_a_wheel_without_the_package_is_refused(tmp_path, members):
    target = tmp_path / "python"
    target.mkdir()
    built = wheel(tmp_path / "bad.whl", members)
    done = run(built, target)
    assert done.returncode != 0 and "no oid/ package inside" in done.stderr
    assert list(target.iterdir()) == []
