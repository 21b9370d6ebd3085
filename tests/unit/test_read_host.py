"""roles/oid_paste/files/read_host.py's reading of the options oid sets in Kolla's
override files: an option counts as set where the file holds its value as
community.general.ini_file (which the role runs otherwise) leaves it, and
anything it cannot judge is left to ini_file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[2]
READ_HOST = TOP / "roles" / "oid_paste" / "files" / "read_host.py"


def options(directory: Path) -> list[dict]:
    return [
        {"path": str(directory / "glance" / "glance-api.conf"), "section": "paste_deploy",
         "option": "config_file", "value": "/etc/oid/glance-api-paste.ini"},
        {"path": str(directory / "neutron" / "neutron-server.conf"), "section": "DEFAULT",
         "option": "api_paste_config", "value": "/etc/oid/neutron-server-paste.ini"},
        {"path": str(directory / "cinder.conf"), "section": "glance", "option": "auth_type", "value": ""},
    ]  # fmt: skip


def not_set(wanted: list[dict]) -> list[int]:
    done = subprocess.run(
        [sys.executable, str(READ_HOST), "docker", "[]", "/nonexistent", json.dumps(wanted)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)["options"]


def ini_file(tmp_path: Path, wanted: list[dict]) -> list[bool]:
    """ini_file's run over the options, as the role's options.yml runs it: changed, per option."""
    task = {
        "community.general.ini_file": {
            "path": "{{ item.path }}", "section": "{{ item.section }}", "option": "{{ item.option }}",
            "value": "{{ item.value }}", "create": True, "mode": "0644",
        },
        "loop": wanted, "register": "result",
    }  # fmt: skip
    show = {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(tmp_path / "result.json")}}
    play = {"hosts": "localhost", "gather_facts": False, "tasks": [task, show]}
    (tmp_path / "play.yml").write_text(yaml.safe_dump([play]))
    done = subprocess.run(
        [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
         "-e", f"ansible_python_interpreter={TOP / '.venv' / 'bin' / 'python'}"],
        cwd=TOP, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return [item["changed"] for item in json.loads((tmp_path / "result.json").read_text())["results"]]


def test_what_ini_file_leaves_is_set_and_what_it_would_change_is_not(tmp_path):
    wanted = options(tmp_path / "config")
    (tmp_path / "config" / "neutron").mkdir(parents=True)
    Path(wanted[1]["path"]).write_text("[DEFAULT]\ndebug = True\n\n[database]\nmax_pool_size = 5\n")
    assert not_set(wanted) == [0, 1, 2]  # two files missing, one option not there
    assert ini_file(tmp_path, wanted) == [True, True, True]
    assert not_set(wanted) == []
    assert ini_file(tmp_path, wanted) == [False, False, False]  # what the role's skip stands for

    glance, neutron, cinder = (Path(item["path"]) for item in wanted)
    cinder.write_text(cinder.read_text().replace("auth_type = ", "auth_type = password"))  # another value
    neutron.chmod(0o600)  # ini_file would set 0644
    assert not_set(wanted) == [1, 2]
    neutron.chmod(0o644)
    glance.write_text(glance.read_text() + "[paste_deploy]\nflavor = keystone\n")  # its section twice
    assert not_set(wanted) == [0, 2]
    assert ini_file(tmp_path, wanted) == [False, False, True]  # it decides: the section twice stays


def test_the_same_value_written_tighter_is_set(tmp_path):
    """`option=value` (as an operator may write it) holds the value Kolla merges:
    set, though ini_file would respell the line."""
    wanted = options(tmp_path)[1:2]
    path = Path(wanted[0]["path"])
    path.parent.mkdir(parents=True)
    path.write_text("[DEFAULT]\napi_paste_config=/etc/oid/neutron-server-paste.ini\n")
    os.chmod(path, 0o644)
    assert not_set(wanted) == []
    assert ini_file(tmp_path, wanted) == [True]
    assert "api_paste_config = /etc/oid/neutron-server-paste.ini" in path.read_text()


def test_an_option_twice_or_under_another_name_is_not_set(tmp_path):
    wanted = options(tmp_path)[1:2]
    path = Path(wanted[0]["path"])
    path.parent.mkdir(parents=True)
    path.write_text("[DEFAULT]\nAPI_PASTE_CONFIG = /etc/oid/neutron-server-paste.ini\n")
    os.chmod(path, 0o644)
    assert not_set(wanted) == [0]
    path.write_text("[DEFAULT]\napi_paste_config = /etc/oid/neutron-server-paste.ini\napi_paste_config = /x\n")
    assert not_set(wanted) == [0]
    path.write_text("api_paste_config = /etc/oid/neutron-server-paste.ini\n")  # no section
    assert not_set(wanted) == [0]
