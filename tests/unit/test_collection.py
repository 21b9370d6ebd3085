"""The collection oid.cloud: found from the top without installing, and buildable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COLLECTION = TOP / "collections" / "ansible_collections" / "oid" / "cloud"
# Run modules on this machine with the Python running the tests (the venv's).
LOCAL = ("-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}")


def run(*args, cwd=TOP, env=None):
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_playbook_from_the_top_finds_the_collection(tmp_path):
    playbook = tmp_path / "check.yml"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - oid.cloud.scope_info:
        catalog: {TOP}/examples/catalog.yml
        scope: {{nova: "Berlin&Denver"}}
      register: checked
    - ansible.builtin.copy:
        content: "{{{{ checked | to_json }}}}"
        dest: {tmp_path}/out.json
"""
    )
    run("ansible-playbook", *LOCAL, str(playbook))
    checked = json.loads((tmp_path / "out.json").read_text())
    assert checked["scope"]["compute"] == "Berlin&Denver"
    assert checked["locations"]["compute"] == ["Berlin", "Denver"]
    assert checked["entry"] == "Berlin"


def test_bad_scope_fails_the_task_with_the_reason(tmp_path):
    playbook = tmp_path / "bad.yml"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - oid.cloud.scope_info:
        catalog: {TOP}/examples/catalog.yml
        scope: "{{nova: Tokyo}}"
"""
    )
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), *LOCAL, str(playbook)],
        cwd=TOP,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown location 'Tokyo'; known locations: Berlin, Denver, Paris" in result.stdout


def test_built_artifact_installs_and_documents_its_modules(tmp_path):
    run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(COLLECTION))
    (artifact,) = tmp_path.glob("oid-cloud-*.tar.gz")
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    assert "plugins/module_utils/scope.py" in names and "MANIFEST.json" in names
    installed = tmp_path / "installed"
    # --force: from the top, ansible.cfg already shows the checkout's copy as installed.
    run("ansible-galaxy", "collection", "install", "--force", "-p", str(installed), str(artifact))
    doc = run(
        "ansible-doc",
        "oid.cloud.scope_info",
        cwd=tmp_path,
        env={"ANSIBLE_COLLECTIONS_PATH": str(installed)},  # cwd has no ansible.cfg
    )
    assert "inter-DC catalog" in doc
    assert str(installed) in doc  # documented from the installed copy, not the checkout


def test_resource_modules_refuse_bad_arguments_before_connecting(tmp_path):
    """Argument handling: a bad scope or a missing option fails the task with
    the reason, before any cloud is contacted (no cloud is configured here)."""
    playbook = tmp_path / "args.yml"
    playbook.write_text(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - oid.cloud.image: {name: x, scope: "{glance: Berlin&}"}
      register: bad_scope
      ignore_errors: true
    - oid.cloud.image: {scope: "{glance: Berlin}"}
      register: no_name
      ignore_errors: true
    - oid.cloud.project: {name: x, scope: {nova: Berlin, compute: Denver}}
      register: twice
      ignore_errors: true
    - oid.cloud.identity_user: {name: x, password: s3cret, update_password: sometimes}
      register: bad_choice
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ dict(bad_scope=bad_scope, no_name=no_name, twice=twice, bad_choice=bad_choice) | to_json }}"
        dest: OUT/out.json
""".replace("OUT", str(tmp_path))
    )
    run("ansible-playbook", *LOCAL, str(playbook))
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["bad_scope"]["msg"] == "bad scope at position 16: expected a location name, '*' or '(', found '}'"
    assert "missing required arguments: name" in out["no_name"]["msg"]
    assert "service 'compute' given twice" in out["twice"]["msg"]
    assert "update_password" in out["bad_choice"]["msg"] and "s3cret" not in json.dumps(out["bad_choice"])


def test_server_network_and_flavor_modules_refuse_bad_arguments(tmp_path):
    """What each of the newer modules needs, said before any cloud is contacted."""
    cases = {
        "no_image": {"oid.cloud.server": {"name": "x", "flavor": "m1.tiny"}},
        "two_ways": {"oid.cloud.server": {"name": "x", "image": "i", "flavor": "f", "network": "n", "nics": [{}]}},
        "no_size": {"oid.cloud.flavor": {"name": "x", "vcpus": 1}},
        "half_pool": {"oid.cloud.subnet": {"name": "x", "network": "n", "cidr": "10.0.0.0/24",
                                           "allocation_pool_start": "10.0.0.5"}},
        "no_cidr": {"oid.cloud.subnet": {"name": "x", "network": "n"}},
        "bad_version": {"oid.cloud.subnet": {"name": "x", "network": "n", "cidr": "::/64", "ip_version": 5}},
        "bad_scope": {"oid.cloud.server_info": {"scope": "{nova: Berlin|}"}},
        "bfv_no_image": {"oid.cloud.server": {"name": "x", "flavor": "f", "boot_from_volume": True,
                                              "boot_volume": "v"}},
        "two_sources": {"oid.cloud.volume": {"name": "x", "size": 1, "image": "i", "snapshot": "s"}},
        "no_volume": {"oid.cloud.volume_snapshot": {"name": "x"}},
        "attach_nothing": {"oid.cloud.server_volume": {"server": "s"}},
    }  # fmt: skip
    tasks = [{**task, "register": name, "ignore_errors": True} for name, task in cases.items()]
    save = {
        "content": "{{ dict(" + ", ".join(f"{n}={n}" for n in cases) + ") | to_json }}",
        "dest": str(tmp_path / "out.json"),
    }
    playbook = tmp_path / "args.yml"
    playbook.write_text(
        json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [*tasks, {"ansible.builtin.copy": save}]}])
    )
    run("ansible-playbook", *LOCAL, str(playbook))
    out = json.loads((tmp_path / "out.json").read_text())
    assert all(out[name]["failed"] for name in cases), out
    assert "state is present but any of the following are missing: image, boot_volume" in out["no_image"]["msg"]
    assert "boot_from_volume is True but all of the following are missing: image" in out["bfv_no_image"]["msg"]
    assert "mutually exclusive: image|snapshot|volume" in out["two_sources"]["msg"]
    assert "state is present but all of the following are missing: volume" in out["no_volume"]["msg"]
    assert "missing required arguments: volume" in out["attach_nothing"]["msg"]
    assert "mutually exclusive: network|nics" in out["two_ways"]["msg"]
    assert "missing: ram" in out["no_size"]["msg"]
    assert "allocation_pool_start, allocation_pool_end" in out["half_pool"]["msg"]
    assert "missing: cidr" in out["no_cidr"]["msg"]
    assert "ip_version" in out["bad_version"]["msg"] and "4, 6" in out["bad_version"]["msg"]
    assert out["bad_scope"]["msg"].startswith("bad scope at position")


def test_next_page_of_each_list_shape():
    from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import next_page

    assert next_page({"images": [], "next": "/v2/images?marker=a"}, "images") == "/images?marker=a"
    href = "http://10.252.1.10:8790/compute/v2.1/servers/detail?marker=b"
    assert next_page({"servers": [], "servers_links": [{"rel": "next", "href": href}]}, "servers") == href
    assert next_page({"networks": [], "networks_links": [{"rel": "previous", "href": "x"}]}, "networks") is None
    assert next_page({"servers": []}, "servers") is None
