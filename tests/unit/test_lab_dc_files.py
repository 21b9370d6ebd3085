"""The lab's lab_dc_files module (roles/lab_dc/library): a DC's directories and
service files in one call, written only when they differ, and the paths it
changed (the lab restarts the services they belong to)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def lab_dc_files(args: dict, *, check: bool = False) -> dict:
    """One run of the module on this machine, through ansible, as the role runs it."""
    argv = [str(BIN / "ansible"), "localhost", "-c", "local", "-M", "roles/lab_dc/library", "-m", "lab_dc_files"]
    argv += ["-a", json.dumps(args), "-e", f"ansible_python_interpreter={sys.executable}"]
    env = {**os.environ, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    result = subprocess.run(argv + (["--check"] if check else []), cwd=TOP, capture_output=True, text=True, env=env)
    output = json.loads(result.stdout)
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"] | {"stdout": result.stdout}


def test_writes_what_differs_only_and_names_it(tmp_path):
    config, data = tmp_path / "config", tmp_path / "data"
    files = [
        {"path": str(config / "keystone.conf"), "content": "[database]\nconnection = secret-1\n", "mode": "0600"},
        {"path": str(config / "config.json"), "content": "{}\n", "mode": "0600"},
    ]
    first = lab_dc_files({"directories": [str(config), str(data)], "files": files})
    assert first["changed"] and sorted(first["changed_paths"]) == sorted(
        [str(config), str(data)] + [f["path"] for f in files]
    )
    assert (config / "keystone.conf").read_text() == files[0]["content"]
    assert oct((config / "keystone.conf").stat().st_mode & 0o777) == "0o600"
    assert oct(config.stat().st_mode & 0o777) == "0o750"
    # The contents hold the DC's secrets: never in the output.
    assert "secret-1" not in first["stdout"]

    again = lab_dc_files({"directories": [str(config), str(data)], "files": files})
    assert not again["changed"] and again["changed_paths"] == []

    files[0]["content"] = "[database]\nconnection = secret-2\n"
    (config / "config.json").chmod(0o644)
    checked = lab_dc_files({"directories": [str(config)], "files": files}, check=True)
    assert sorted(checked["changed_paths"]) == sorted(f["path"] for f in files)
    assert "secret-1" in (config / "keystone.conf").read_text(), "check mode wrote"

    changed = lab_dc_files({"directories": [str(config)], "files": files})
    assert sorted(changed["changed_paths"]) == sorted(f["path"] for f in files)
    assert (config / "keystone.conf").read_text() == files[0]["content"]
    assert oct((config / "config.json").stat().st_mode & 0o777) == "0o600"
    assert not [name for name in os.listdir(config) if name.startswith(".")], "a temporary file left"


def test_a_file_where_a_directory_should_be_fails_clearly(tmp_path):
    (tmp_path / "taken").write_text("")
    failed = lab_dc_files({"directories": [str(tmp_path / "taken")]})
    assert failed.get("failed") and "is not a directory" in failed["msg"]
