"""oid.cloud.config_files, run by ansible-playbook on this machine (the module
as site.yml runs it): one run makes every item, a re-run changes nothing, check
mode writes nothing, a secret is never shown, and a bad item fails with the
items before it done."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, files: list, *options: str) -> dict:
    """The module's result for one task over `files`, and the run's return code."""
    playbook = tmp_path / "play.yml"
    task = {"oid.cloud.config_files": {"files": files}, "register": "result"}
    show = {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(tmp_path / "result.json")}}
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"block": [task], "always": [dict(show, check_mode=False, delegate_to="localhost")]},
        ],
    }
    playbook.write_text(yaml.safe_dump([play]))
    completed = subprocess.run(
        [
            str(TOP / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            *options,
            "-e",
            f"ansible_python_interpreter={TOP / '.venv' / 'bin' / 'python'}",
        ],
        cwd=TOP,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads((tmp_path / "result.json").read_text())
    result["returncode"] = completed.returncode
    result["stdout"] = completed.stdout
    return result


def items(tmp_path: Path) -> list:
    return [
        {"path": str(tmp_path / "oid"), "state": "directory", "mode": "0755"},
        {"path": str(tmp_path / "oid" / "catalog.yml"), "content": "locations: {}\n", "mode": "0644"},
        {"path": str(tmp_path / "oid" / "dc.key"), "content": "the key\n", "mode": "0600"},
        {"path": str(tmp_path / "oid" / "keystones.yml"), "state": "absent"},
    ]


def test_one_run_makes_every_item_and_a_rerun_changes_nothing(tmp_path):
    (tmp_path / "oid").mkdir()
    (tmp_path / "oid" / "keystones.yml").write_text("old accounts\n")
    first = run(tmp_path, items(tmp_path))
    assert first["returncode"] == 0, first["stdout"]
    assert first["changed"]
    assert (tmp_path / "oid" / "catalog.yml").read_text() == "locations: {}\n"
    assert stat.S_IMODE(os.stat(tmp_path / "oid" / "dc.key").st_mode) == 0o600
    assert not (tmp_path / "oid" / "keystones.yml").exists()
    assert first["changed_paths"] == [
        str(tmp_path / "oid" / name) for name in ("catalog.yml", "dc.key", "keystones.yml")
    ]
    again = run(tmp_path, items(tmp_path))
    assert again["returncode"] == 0 and not again["changed"] and again["changed_paths"] == []


def test_a_mode_alone_is_set_and_counts_as_a_change(tmp_path):
    run(tmp_path, items(tmp_path))
    os.chmod(tmp_path / "oid" / "dc.key", 0o644)
    result = run(tmp_path, items(tmp_path))
    assert result["changed_paths"] == [str(tmp_path / "oid" / "dc.key")]
    assert stat.S_IMODE(os.stat(tmp_path / "oid" / "dc.key").st_mode) == 0o600


def test_check_mode_says_what_would_change_and_writes_nothing(tmp_path):
    result = run(tmp_path, items(tmp_path), "--check")
    assert result["returncode"] == 0, result["stdout"]
    assert result["changed_paths"] == [
        str(tmp_path / "oid"),
        str(tmp_path / "oid" / "catalog.yml"),
        str(tmp_path / "oid" / "dc.key"),
    ]
    assert not (tmp_path / "oid").exists()


def test_a_diff_shows_a_file_others_may_read_never_a_secret(tmp_path):
    result = run(tmp_path, items(tmp_path), "--diff")
    assert "locations: {}" in result["stdout"]
    assert "the key" not in result["stdout"]
    assert "the key" not in json.dumps(result["files"]) + json.dumps(result.get("diff", []))


def test_a_bad_item_fails_with_the_items_before_it_done(tmp_path):
    files = items(tmp_path)
    files.insert(2, {"path": str(tmp_path / "missing" / "x.yml"), "content": "x\n"})
    result = run(tmp_path, files)
    assert result["returncode"] == 2
    assert f"its directory {tmp_path / 'missing'} does not exist" in result["msg"]
    assert [item["path"] for item in result["files"]] == [str(tmp_path / "oid"), str(tmp_path / "oid" / "catalog.yml")]
    assert not (tmp_path / "oid" / "dc.key").exists()


def test_a_file_without_content_or_with_a_relative_path_is_refused(tmp_path):
    assert "needs its content" in run(tmp_path, [{"path": str(tmp_path / "a")}])["msg"]
    assert "must be absolute" in run(tmp_path, [{"path": "a", "content": "x"}])["msg"]
