"""roles/oid_paste/files/unpack_filters.py: the filters' wheel unpacked where the
API containers mount it, and left alone when that tree is already the wheel's."""

from __future__ import annotations

import importlib.util
import json
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


# ---- the digest that spares a converged host the wheel's copy and unpacking

READ_HOST = SCRIPT.with_name("read_host.py")
LOOKUP = SCRIPT.parents[1] / "lookup_plugins" / "oid_paste_package_digest.py"


def host_digest(package: Path) -> str | None:
    """What read_host.py prints for the filter code (no service to read: no engine needed)."""
    done = subprocess.run(
        [sys.executable, str(READ_HOST), "docker", "[]", str(package), "[]"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)["filters"]


def wheel_digest(built: Path) -> str:
    spec = importlib.util.spec_from_file_location("oid_paste_package_digest", LOOKUP)
    lookup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lookup)
    return lookup.LookupModule().run([str(built)])[0]


def test_the_host_and_the_wheel_digests_agree_exactly_when_unpacking_would_change_nothing(tmp_path):
    built = wheel(tmp_path / "oid.whl", PACKAGE)
    target = tmp_path / "python"
    target.mkdir()
    assert host_digest(target / "oid") is None  # nothing unpacked yet
    unpack(built, target)
    assert host_digest(target / "oid") == wheel_digest(built)
    (target / "oid" / "extra.py").write_bytes(b"")  # a file added by hand
    assert host_digest(target / "oid") != wheel_digest(built)
    assert unpack(built, target) == "unpacked"
    (target / "oid" / "paste" / "filters.py").write_bytes(b"FILTERS = 2\n")  # edited by hand
    assert host_digest(target / "oid") != wheel_digest(built)
    assert unpack(built, target) == "unpacked"
    assert host_digest(target / "oid") == wheel_digest(built)
    newer = wheel(tmp_path / "newer.whl", {**PACKAGE, "oid/scope.py": b"SCOPE = 3\n"})  # new code
    assert wheel_digest(newer) != host_digest(target / "oid")


def test_a_tree_that_cannot_be_read_is_not_the_wheels(tmp_path):
    built = wheel(tmp_path / "oid.whl", PACKAGE)
    target = tmp_path / "python"
    target.mkdir()
    unpack(built, target)
    (target / "oid" / "gone.py").symlink_to(tmp_path / "nowhere")
    assert host_digest(target / "oid") is None


def test_a_wheel_without_the_package_is_a_clear_error(tmp_path):
    from ansible.errors import AnsibleLookupError

    with pytest.raises(AnsibleLookupError, match="no oid/ package inside"):
        wheel_digest(wheel(tmp_path / "empty.whl", {}))
