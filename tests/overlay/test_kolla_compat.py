"""The overlay against the real kolla-ansible (22.x, the 2026.1 series; issue 7).

What `site.yml` wrote for Berlin on the lab (its Kolla config dir's
`globals.d/oid-*.yml` and the overrides under `config/`) is placed in a Kolla
configdir, and site.yml's kolla play (roles/oid_kolla, oid_manage_kolla) writes
Berlin's globals.yml, passwords.yml and Kolla inventory there and runs the real
`kolla-ansible genconfig` (installed by `make kolla-venv` in .cache/venv-kolla),
which renders keystone, glance-api, placement-api, nova-api, neutron-server and cinder
on this machine without containers. The tests then read what Kolla rendered, and
the variables Kolla's roles see, evaluated by kolla-ansible itself (its CLI,
its group_vars, its roles' defaults and vars, globals.d as it passes them).
They fail the day a Kolla release moves a path or renames a variable the
overlay relies on (docs/overlay.md): an override file no longer merged, an
endpoint variable no longer registered, an extra-volumes chain renamed.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.lab import TOP

pytestmark = pytest.mark.lab

KOLLA_VENV = TOP / ".cache" / "venv-kolla"
KOLLA_SHARE = KOLLA_VENV / "share" / "kolla-ansible"
LAB_ROOT = Path("/var/lib/oid-lab")
# What renders offline: nova-cell needs a running kolla_toolbox.
TAGS = "keystone,glance,placement,nova-api,neutron,cinder"
# The overlay's shared and lab settings, read from where the overlay keeps them.
OID = yaml.safe_load((TOP / "group_vars" / "all" / "oid.yml").read_text())
LAB_OID = yaml.safe_load((TOP / "inventories" / "lab" / "group_vars" / "oid_lab.yml").read_text())
CONTAINER_OID = OID["oid_container_config_directory"]  # /etc/oid
SITE_PACKAGES = LAB_OID["oid_python_site_packages"]
# An operator's own volume (Kolla's root of every <service>_extra_volumes chain): the overlay must keep it.
OPERATOR_VOLUME = "/srv/operator:/srv/operator:ro"
# Kolla's variables the probe evaluates in each role's context.
PROBED = {
    "nova": ["nova_services", "nova_ks_services", "nova_internal_endpoint", "nova_public_endpoint"],
    "glance": ["glance_services", "glance_ks_services", "glance_internal_endpoint", "glance_public_endpoint"],
    "neutron": ["neutron_services", "neutron_ks_services", "neutron_internal_endpoint", "neutron_public_endpoint"],
    "placement": ["placement_ks_services", "placement_internal_endpoint", "placement_public_endpoint"],
    "cinder": ["cinder_services", "cinder_ks_services", "cinder_internal_endpoint", "cinder_public_endpoint"],
}
# Evaluated in a role named like Kolla's whose defaults and vars are Kolla's own
# (symlinks into the installed kolla-ansible), so they have a role's precedence.
PROBE_TASKS = """\
- name: Probe | Kolla's variables as this role sees them
  ansible.builtin.copy:
    dest: "{{ probe_output }}/{{ role_name }}.json"
    content: "{{ dict(probe_names[role_name] | zip(query('ansible.builtin.vars', *probe_names[role_name])))
                 | to_nice_json }}"
    mode: "0644"
"""


def kolla_env() -> dict[str, str]:
    """kolla-ansible runs `ansible-playbook` from PATH: its own venv's, with none of ours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["PATH"] = f"{KOLLA_VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.pop("VIRTUAL_ENV", None)
    return env


# This DC's Kolla globals, as an operator sets them in the inventory (oid_kolla_globals).
KOLLA_GLOBALS = {
    "kolla_base_distro": "rocky",
    "neutron_external_interface": "lo",
    "default_extra_volumes": [OPERATOR_VOLUME],
    "enable_haproxy": False,
    "enable_fluentd": False,
    "enable_keystone": True,
    "enable_glance": True,
    "enable_placement": True,
    "enable_nova": True,
    "enable_neutron": True,
    "enable_cinder": True,
}
ADMIN_PASSWORD = "oid-compat-keystone-admin"  # noqa: S105 - a test value, set through oid_kolla_passwords
HOST = "berlin-ctl-01"


def kolla_inventory(work: Path, etc: Path, address: str, region: str) -> Path:
    """Berlin as inventories/edge describes a DC, on this machine: one host in every Kolla group."""
    groups = ["control", "network", "compute", "storage", "monitoring", "deployment"]
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(KOLLA_VENV / "bin" / "python3"),
        "oid_location": "Berlin",
        "oid_region_name": region,
        "kolla_internal_vip_address": address,
        "network_interface": "lo",
        "node_config": str(etc),
        "node_config_directory": str(work / "rendered"),
        "oid_manage_kolla": True,
        "oid_kolla_venv": str(KOLLA_VENV),
        "oid_kolla_action": "genconfig",
        "oid_kolla_tags": TAGS,
        "oid_kolla_environment": {"HOME": str(work), "PATH": f"{KOLLA_VENV / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin"},
        "oid_kolla_globals": KOLLA_GLOBALS,
        "oid_kolla_passwords": {"keystone_admin_password": ADMIN_PASSWORD},
    }
    inventory = {
        "all": {
            "children": {
                "oid_federation": {"children": {"berlin_control": None}},
                "berlin": {
                    "children": {
                        f"berlin_{group}": {"hosts": {HOST: host if group == "control" else None}} for group in groups
                    }
                },
            }
        }
    }
    path = work / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def site_kolla(inventory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """site.yml's kolla play (roles/oid_kolla), as an operator runs it."""
    argv = [str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), "site.yml", "--tags", "kolla"]
    done = subprocess.run([*argv, *args], cwd=TOP, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout[-8000:]}\n{done.stderr[-3000:]}"
    return done


def probe_playbook(work: Path) -> Path:
    kolla = KOLLA_SHARE / "ansible"
    probe = work / "probe"
    probe.mkdir()
    for adjacent in ("group_vars", "filter_plugins", "action_plugins", "library", "module_utils"):
        (probe / adjacent).symlink_to(kolla / adjacent)
    for role in PROBED:
        (probe / "roles" / role / "tasks").mkdir(parents=True)
        (probe / "roles" / role / "tasks" / "main.yml").write_text(PROBE_TASKS)
        for part in ("defaults", "vars"):
            (probe / "roles" / role / part).symlink_to(kolla / "roles" / role / part)
    play = [
        {
            "name": "Probe | Kolla's variables with the overlay's",
            "hosts": "control",  # the DC's control host in the inventory the role wrote
            # Kolla's kolla_address filter reads the network interfaces' facts.
            "gather_facts": True,
            "gather_subset": ["!all", "network"],
            "vars": {"probe_names": PROBED},
            "tasks": [
                {
                    "name": "Probe | Each role's context",
                    "ansible.builtin.include_role": {"name": "{{ item }}"},
                    "loop": list(PROBED),
                }
            ],
        }
    ]
    (probe / "probe.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    return probe / "probe.yml"


def run(argv: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, env=kolla_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


def kolla_ansible(etc: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    """kolla-ansible genconfig on the inventory and configdir the role wrote."""
    argv = [str(KOLLA_VENV / "bin" / "kolla-ansible"), "genconfig", "-i", str(etc / "oid-kolla-inventory")]
    return run([*argv, "--configdir", str(etc), *args], work)


def render(source: Path, work: Path, address: str, region: str) -> dict:
    """The overlay's files in a Kolla configdir, site.yml's kolla play running kolla-ansible
    genconfig on them, and Kolla's variables as its roles see them."""
    etc = work / "etc"
    shutil.copytree(source / "globals.d", etc / "globals.d")
    shutil.copytree(source / "config", etc / "config")
    inventory = kolla_inventory(work, etc, address, region)
    first = site_kolla(inventory)
    probed = work / "probed"
    probed.mkdir()
    kolla_ansible(etc, work, "-p", str(probe_playbook(work)), "-e", f"probe_output={probed}")
    variables = {}
    for role in PROBED:
        variables.update(json.loads((probed / f"{role}.json").read_text()))
    return {"rendered": work / "rendered", "vars": variables, "etc": etc, "inventory": inventory, "first": first}


def ini(path: Path) -> configparser.ConfigParser:
    # Kolla's merged files may repeat a section (nova.conf's [neutron]); oslo.config reads them merged.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(path)
    return parser


def config_files(rendered: Path, service: str) -> dict[str, str]:
    """{destination in the container: rendered file} from Kolla's config.json."""
    spec = json.loads((rendered / service / "config.json").read_text())
    return {entry["dest"]: entry["source"].rsplit("/", 1)[-1] for entry in spec.get("config_files", [])}


@pytest.fixture(scope="module")
def kolla(federation, tmp_path_factory):
    if not (KOLLA_VENV / "bin" / "kolla-ansible").exists():
        pytest.fail(f"kolla-ansible is not installed in {KOLLA_VENV}: run `make kolla-venv`")
    berlin = federation["dcs"]["Berlin"]
    source = LAB_ROOT / berlin.key / "etc" / "kolla"
    oid_dir = source / "oid"  # the lab's oid_config_directory: {{ node_config_directory }}/oid
    catalog = yaml.safe_load((oid_dir / "catalog.yml").read_text())
    interposer = catalog["locations"]["Berlin"]["interposer"]
    assert interposer == f"http://{berlin.address}:{OID['oid_interposer_port']}"
    result = render(source, tmp_path_factory.mktemp("kolla"), berlin.address, berlin.name)
    return {**result, "interposer": interposer, "oid_dir": oid_dir, "address": berlin.address}


@pytest.mark.parametrize(
    ("service", "rendered_file", "section", "option", "read_at"),
    [
        ("glance-api", "glance-api.conf", "paste_deploy", "config_file", "/etc/glance/glance-api.conf"),
        ("neutron-server", "neutron.conf", "DEFAULT", "api_paste_config", "/etc/neutron/neutron.conf"),
        ("cinder-api", "cinder.conf", "DEFAULT", "api_paste_config", "/etc/cinder/cinder.conf"),
    ],
)
def test_kolla_points_the_api_at_the_oid_paste_file(kolla, service, rendered_file, section, option, read_at):
    """The override the overlay wrote under config/ is merged into what Kolla renders,
    and that file is the one the service reads in its container."""
    rendered = kolla["rendered"] / service / rendered_file
    assert ini(rendered).get(section, option, fallback=None) == f"{CONTAINER_OID}/{service}-paste.ini", (
        f"Kolla no longer merges the overlay's override into {rendered}"
    )
    assert config_files(kolla["rendered"], service).get(read_at) == rendered_file
    assert (kolla["oid_dir"] / f"{service}-paste.ini").is_file()


def test_nova_api_loads_the_shipped_paste_path_that_the_overlay_mounts_over(kolla):
    """Under uWSGI nova loads /etc/nova/api-paste.ini: the overlay mounts its file
    there, so Kolla must run nova-api's WSGI module and not copy a file of its own there."""
    uwsgi = ini(kolla["rendered"] / "nova-api" / "nova-api-uwsgi.ini")
    assert uwsgi.get("uwsgi", "module") == "nova.wsgi.osapi_compute:application"
    assert kolla["vars"]["nova_services"]["nova-api"]["wsgi"] == "nova.wsgi.osapi_compute:application"
    assert "/etc/nova/api-paste.ini" not in config_files(kolla["rendered"], "nova-api")
    assert (kolla["oid_dir"] / "nova-api-paste.ini").is_file()


# oid's service type: Kolla's project, the version path, the type Kolla registers.
ENDPOINTS = {
    "compute": ("nova", "/v2.1", "compute"),
    "image": ("glance", "", "image"),
    "network": ("neutron", "", "network"),
    "placement": ("placement", "", "placement"),
    "volume": ("cinder", "/v3", "block-storage"),
}


@pytest.mark.parametrize("service_type", list(ENDPOINTS))
def test_kolla_registers_the_interposer_urls(kolla, service_type):
    """The endpoint variables carry the interposer's URLs, and they are what Kolla's
    service-ks-register puts in Keystone (<project>_ks_services)."""
    project, path, registered_type = ENDPOINTS[service_type]
    wanted = f"{kolla['interposer']}/{service_type}{path}"
    variables = kolla["vars"]
    for interface in ("internal", "public"):
        seen = variables[f"{project}_{interface}_endpoint"]
        assert seen == wanted, (
            f"Kolla's {project}_{interface}_endpoint is {seen}: globals.d/oid-endpoints.yml not applied"
        )
    registered = {
        endpoint["interface"]: endpoint["url"]
        for service in variables[f"{project}_ks_services"]
        if service["type"] == registered_type
        for endpoint in service["endpoints"]
    }
    assert registered == {"internal": wanted, "public": wanted}, f"{project}_ks_services registers {registered}"


def test_nova_calls_glance_through_the_interposer(kolla):
    nova = ini(kolla["rendered"] / "nova-api" / "nova.conf")
    seen = nova.get("glance", "api_servers", fallback=None)
    assert seen == f"{kolla['interposer']}/image", f"nova-api's [glance] api_servers is {seen}"


def test_cinder_calls_glance_through_the_interposer(kolla):
    """A volume from an image: Cinder downloads it from glance_api_servers, Kolla's
    glance_internal_endpoint, which the overlay points at the interposer."""
    for service in ("cinder-api", "cinder-volume"):
        seen = ini(kolla["rendered"] / service / "cinder.conf").get("DEFAULT", "glance_api_servers", fallback=None)
        assert seen == f"{kolla['interposer']}/image", f"{service}'s glance_api_servers is {seen}"


@pytest.mark.parametrize(
    ("project", "service", "over_shipped"),
    [
        ("nova", "nova-api", "/etc/nova/api-paste.ini"),
        ("glance", "glance-api", None),
        ("neutron", "neutron-server", None),
        ("cinder", "cinder-api", None),
    ],
)
def test_api_containers_get_the_overlay_mounts(kolla, project, service, over_shipped):
    """<project>_services[<service>].volumes, as Kolla's roles evaluate them with globals.d:
    Kolla's own mounts, the operator's, and the overlay's."""
    container = kolla["vars"][f"{project}_services"][service]
    volumes = container["volumes"]
    oid_dir = kolla["oid_dir"]
    wanted = [f"{oid_dir}/:{CONTAINER_OID}/:ro", f"{oid_dir}/python/oid/:{SITE_PACKAGES}/oid/:ro"]
    if over_shipped:
        wanted.append(f"{oid_dir}/{service}-paste.ini:{over_shipped}:ro")
    for volume in wanted:
        assert volume in volumes, f"{volume} not in {container['container_name']}'s volumes {volumes}"
    assert OPERATOR_VOLUME in volumes, "the operator's own extra volumes were dropped"
    assert f"{kolla['rendered']}/{service}/:/var/lib/kolla/config_files/:ro" in volumes, "Kolla's own mounts"
    assert (oid_dir / "python" / "oid" / "paste" / "filters.py").is_file()


def test_the_filter_code_lands_in_kollas_venv(kolla):
    """The code is mounted into the site-packages of the venv Kolla's uWSGI runs."""
    static_map = ini(kolla["rendered"] / "nova-api" / "nova-api-uwsgi.ini").get("uwsgi", "static-map")
    venv_lib = static_map.split("=", 1)[1].split("/site-packages/")[0]  # /var/lib/kolla/venv/lib/python3
    assert SITE_PACKAGES.startswith(venv_lib) and SITE_PACKAGES.endswith("/site-packages")
    assert OID["oid_python_site_packages"].startswith(venv_lib)


# roles/oid_kolla: what it gives kolla-ansible, and when it runs it.


def test_the_role_writes_the_dcs_globals_from_the_inventory(kolla):
    written = yaml.safe_load((kolla["etc"] / "globals.yml").read_text())
    for name, value in KOLLA_GLOBALS.items():
        assert written[name] == value
    # Shared with the overlay's inventory variables, so that Kolla and the overlay read the same.
    assert written["openstack_region_name"] == "Berlin"
    assert written["kolla_internal_vip_address"] == kolla["address"]
    assert written["node_config_directory"] == str(kolla["rendered"])
    assert not any(name.endswith("_internal_endpoint") for name in written), "the overlay's own stay in globals.d"


def test_the_role_keeps_the_dcs_secrets_private_and_complete(kolla):
    path = kolla["etc"] / "passwords.yml"
    assert path.stat().st_mode & 0o777 == 0o600
    passwords = yaml.safe_load(path.read_text())
    assert passwords["keystone_admin_password"] == ADMIN_PASSWORD
    shipped = yaml.safe_load((KOLLA_SHARE / "etc_examples" / "kolla" / "passwords.yml").read_text())
    assert set(passwords) == set(shipped), "Kolla's list of secrets, no more, no less"
    empty = [name for name, value in passwords.items() if not value]
    assert empty == ["docker_registry_password"], f"kolla-genpwd left {empty[:5]} empty (it keeps only that one blank)"


def test_the_dcs_kolla_inventory_puts_its_hosts_in_kollas_groups(kolla):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    inventory = InventoryManager(loader=DataLoader(), sources=[str(kolla["etc"] / "oid-kolla-inventory")])
    for group in ("control", "network", "compute", "nova-api", "glance-api", "neutron-server", "keystone"):
        assert [host.name for host in inventory.groups[group].get_hosts()] == [HOST], group
    host = inventory.get_host(HOST)
    assert host.vars["ansible_connection"] == "local"


def task_output(stdout: str, name: str) -> str:
    """What ansible-playbook printed under the task `name`."""
    return stdout.split(f"{name}] ", 1)[1].split("TASK [", 1)[0]


def test_kolla_ansible_ran_and_does_not_run_again_for_nothing(kolla):
    ran = task_output(kolla["first"].stdout, "kolla-ansible genconfig")
    assert "changed: [berlin-ctl-01]" in ran, ran
    assert (kolla["rendered"] / "nova-api" / "nova.conf").is_file()
    again = site_kolla(kolla["inventory"])
    assert re.search(r"berlin-ctl-01\s*:\s*ok=\d+\s+changed=0\s", again.stdout), again.stdout[-3000:]
    skipped = task_output(again.stdout, "kolla-ansible genconfig")
    assert "skipping: [berlin-ctl-01]" in skipped, "kolla-ansible ran with unchanged inputs"


def test_the_role_refuses_globals_that_take_the_overlays_variables(kolla):
    owned = {**KOLLA_GLOBALS, "nova_internal_endpoint": "http://elsewhere:8774/v2.1", "network_interface": "eth9"}
    refused = site_kolla(kolla["inventory"], "-e", json.dumps({"oid_kolla_globals": owned}), check=False)
    assert refused.returncode != 0
    assert "sets nova_internal_endpoint, which the overlay writes in globals.d" in refused.stdout
    assert "sets network_interface differently from the inventory" in refused.stdout
    written = yaml.safe_load((kolla["etc"] / "globals.yml").read_text())
    assert "nova_internal_endpoint" not in written, "nothing written once refused"
