"""gophercloud, a non-Python OpenStack client, for the tests of a scope in the
entry's URL (docs/cli.md): tests/support/gophercloud/main.go, built with
Debian's Go toolchain and gophercloud package (`make setup` installs both)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent / "gophercloud" / "main.go"
GOPATH = "/usr/share/gocode"  # where Debian's golang-*-dev packages put their sources


def missing() -> str | None:
    """Why gophercloud cannot be built here, or None. `make setup` (and so `make
    test`) installs both packages; `make check`, which needs no root, may run without."""
    if not shutil.which("go"):
        return "no Go toolchain: `make setup` installs golang-go"
    if not Path(GOPATH, "src/github.com/gophercloud/gophercloud").is_dir():
        return "no gophercloud: `make setup` installs golang-github-gophercloud-gophercloud-dev"
    return None


def build(directory: Path) -> Path:
    """The `oid-images` binary, built offline in GOPATH mode from Debian's sources."""
    if missing():
        pytest.skip(missing())
    go = shutil.which("go")
    binary = directory / "oid-images"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOCACHE": str(directory / "go-cache"), "GOFLAGS": ""}
    done = subprocess.run([go, "build", "-o", str(binary), str(SOURCE)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return binary


def list_images(binary: Path, auth_url: str, username: str, password: str, image_endpoint: str | None = None) -> dict:
    """What `oid-images` lists as ``username`` of the Default domain's admin project:
    {"endpoint": the image endpoint it used, "images": [{"id", "name"}]}."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OS_AUTH_URL": auth_url,
        "OS_USERNAME": username,
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": "admin",
        "OS_DOMAIN_NAME": "Default",
    }
    if image_endpoint:
        env["OID_IMAGE_ENDPOINT"] = image_endpoint
    done = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
