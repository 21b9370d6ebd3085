"""The stock openstack CLI (python-openstackclient, with oid-client's auth types
and `--os-scope`; docs/cli.md) as an operator runs it: its own venv, a clouds.yaml
and nothing else from the environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.lab import TOP

CLI_VENV = TOP / ".cache" / "venv-cli"  # make venvs: python-openstackclient and oid-client, nothing else


def openstack_cli(clouds: Path, *args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    if not (CLI_VENV / "bin" / "openstack").exists():
        pytest.fail(f"no openstack CLI at {CLI_VENV}: run `make venvs`")
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "OS_CLIENT_CONFIG_FILE": str(clouds),
    }
    return subprocess.run(
        [str(CLI_VENV / "bin" / "openstack"), *args], capture_output=True, text=True, timeout=timeout,
        env={**environment, **(env or {})},
    )  # fmt: skip
