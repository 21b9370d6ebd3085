"""What the role oid_paste leaves on its host and does to the API containers
(molecule verify, testinfra).

`host` is the scenario's instance, a control host of Berlin: commands run in it,
as an operator's would on a Kolla node (its Docker client drives the machine's
Docker, where the API containers' stand-ins run). The restart tests re-run the
scenario's converge playbook with one variable changed, or after a file was
edited by hand, and watch when each container was last started."""

from __future__ import annotations

import configparser
import hashlib
import hmac
import json
import shlex
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

# The verifiers' shared helpers (extensions/molecule/shared/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from converge import converge as run_converge  # noqa: E402

testinfra_hosts = ["ansible://oidmolpaste_host"]  # berlin-control-1, denver-control: inventory hosts only

INSTANCE = "oidmolpaste_host"
KOLLA = "/var/lib/oidmolpaste/etc/kolla"
OID = f"{KOLLA}/oid"
SITE_PACKAGES = "/var/lib/kolla/venv/lib/python3.11/site-packages"  # group_vars/oid_federation.yml
MASTER_SECRET = "oidmolpaste-federation-secret-0123456789"  # the controller's (group_vars)


def derived(master: str) -> str:
    """Berlin's own secret, as oid_catalog derives it from the controller's."""
    return hmac.new(master.encode(), b"services:Berlin", hashlib.sha256).hexdigest()


SECRET = derived(MASTER_SECRET)
INTERPOSER = "http://10.253.2.10:8790"  # Berlin's (inventory: oid_internal_address)
CHECKOUT = Path(__file__).resolve().parents[4]
# service: (its container, the paste file it ships, where the service reads oid's file)
SERVICES = {
    "nova-api": ("oidmolpaste_nova_api", "/etc/nova/api-paste.ini", "/etc/nova/api-paste.ini"),
    "glance-api": ("oidmolpaste_glance_api", "/etc/glance/glance-api-paste.ini", "/etc/oid/glance-api-paste.ini"),
    "neutron-server": ("oidmolpaste_neutron_server", "/etc/neutron/api-paste.ini", "/etc/oid/neutron-server-paste.ini"),
}
CONTAINERS = [container for container, _, _ in SERVICES.values()]
FILTER_CODE = ["__init__.py", "scope.py", "policy.py", "paste/__init__.py", "paste/filters.py"]
RESTART = "Paste | Restart the API services whose filters or filter code changed"
CATALOG_TASK = "Catalog | The inter-DC catalog (the same on every DC), its directories, this DC's endpoints"
SECRETS_TASK = (
    "Catalog | This DC's own secret (its interposer gives it to its API services' filters only),"
    " its interposer's password"
)
PASTE_FILES_TASK = (
    "Paste | Filter code's directory, each api-paste.ini with oid_scope and oid_auth,"
    " mounts for Kolla's <service>_extra_volumes"
)

# Run in an API container: load oid's two filters from the paste file the service
# reads, as paste.deploy does when the service starts, and pass a request through
# oid_scope. Prints where the code came from and what the filters made of their files.
LOAD_FILTERS = """
import json, sys
import webob
from paste.deploy import loadfilter
seen = {}
def app(environ, start_response):
    seen["scope"] = environ["oid.scope"].canonical()
    start_response("200 OK", [])
    return [b""]
path = "config:" + sys.argv[1]
scope = loadfilter(path, name="oid_scope")(app)
auth = loadfilter(path, name="oid_auth")(app)
webob.Request.blank("/", headers={"X-Scope": "{glance: Denver}"}).get_response(scope)
print(json.dumps({"code": sys.modules[type(scope).__module__].__file__, "here": scope.here,
                  "secret": scope.secret, "scope": seen["scope"], "interposer": auth.interposer,
                  "denver_validated_at": auth.relayed("Denver")["endpoint"]}))
"""


# ---------------------------------------------------------------- helpers


def shipped(host, service: str) -> str:
    """The paste file the service's image ships (the image its container runs)."""
    container, path, _ = SERVICES[service]
    image = host.docker(container).inspect()["Config"]["Image"]
    result = host.run(f"docker run --rm --network none --pull never --entrypoint cat {image} {path}")
    assert result.rc == 0, result.stderr
    return result.stdout


def ini(text: str) -> configparser.RawConfigParser:
    # [DEFAULT] as a section like the others: its options are not mixed into the others'.
    parser = configparser.RawConfigParser(strict=False, default_section="oidmolpaste: none")
    parser.optionxform = str  # keys as written
    parser.read_string(text)
    return parser


def pipelines(parser: configparser.RawConfigParser) -> dict[str, list[str]]:
    """Every pipeline of a paste file: [pipeline:*] pipeline, and [composite:*] values
    that are pipelines (nova, glance and neutron keep their keystone ones there)."""
    found = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            if section.startswith("pipeline:") and key == "pipeline":
                found[f"{section} {key}"] = value.split()
            elif section.startswith("composite:") and key not in ("use", "paste.composite_factory") and key[0] != "/":
                found[f"{section} {key}"] = value.split()
    return found


def started(host) -> dict[str, str]:
    return {container: host.docker(container).inspect()["State"]["StartedAt"] for container in CONTAINERS}


def converge(*args: str, **extra_vars) -> dict[str, dict]:
    """Re-run the scenario's converge with ansible-playbook's args and extra variables;
    {task or handler name: its result on the host}."""
    return run_converge(extra_vars=extra_vars, args=args)[INSTANCE]


def restarted(tasks: dict[str, dict]) -> list[str]:
    """The containers the role's restart task restarted (`docker restart <name>`); it
    does not run at all when nothing is to restart (restart.yml is not included)."""
    return sorted(item["cmd"][-1] for item in tasks.get(RESTART, {}).get("results", []) if not item.get("skipped"))


@pytest.fixture
def restore(host):
    """Put the scenario back in its converged state after a test that changed it."""
    yield
    converge()


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("service", SERVICES)
def test_the_paste_file_is_the_shipped_one_with_oid_s_filters(host, service):
    original = shipped(host, service)
    written = host.file(f"{OID}/{service}-paste.ini")
    assert written.mode == 0o644 and written.user == "root"
    text = written.content_string

    # Every pipeline that authenticated with authtoken has oid_scope, oid_auth in its
    # place; nothing else changed, the two filters' sections come last.
    before, added, after = text.partition("\n# Added by oid:")
    assert added, "oid's filter sections are missing"
    assert before.replace(" oid_scope oid_auth ", " authtoken ") == original
    old, new = pipelines(ini(original)), pipelines(ini(text))
    with_authtoken = {name for name, words in old.items() if "authtoken" in words}
    assert with_authtoken, "the shipped file has no authtoken pipeline to check"
    assert set(new) == set(old)
    for name, words in new.items():
        if name in with_authtoken:
            at = old[name].index("authtoken")
            assert words == old[name][:at] + ["oid_scope", "oid_auth"] + old[name][at + 1 :], name
        else:
            assert words == old[name], name

    # The filters' options: the files the containers mount at /etc/oid, this DC,
    # and what the shipped authtoken filter set (e.g. glance's delay_auth_decision).
    parser = ini(text)
    authtoken = {k: v for k, v in ini(original).items("filter:authtoken") if k != "paste.filter_factory"}
    common = {
        "oid_catalog": "/etc/oid/catalog.yml",
        "oid_location": "Berlin",
        "oid_service": {"nova-api": "compute", "glance-api": "image", "neutron-server": "network"}[service],
        "oid_federation_secret_file": "/etc/oid/dc-secret",
        "oid_interposer": INTERPOSER,
        **authtoken,
    }
    assert dict(parser.items("filter:oid_scope")) == {
        "paste.filter_factory": "oid.paste.filters:scope_filter_factory",
        **common,
    }
    assert dict(parser.items("filter:oid_auth")) == {
        "paste.filter_factory": "oid.paste.filters:auth_filter_factory",
        **common,
    }


def test_glance_and_neutron_are_pointed_at_oid_s_file_and_the_operator_s_options_stay(host):
    glance = ini(host.file(f"{KOLLA}/config/glance/glance-api.conf").content_string)
    assert dict(glance.items("paste_deploy")) == {"flavor": "keystone", "config_file": "/etc/oid/glance-api-paste.ini"}
    assert glance.get("DEFAULT", "debug") == "True"
    neutron = ini(host.file(f"{KOLLA}/config/neutron/neutron-server.conf").content_string)
    assert dict(neutron.items("DEFAULT")) == {"debug": "True", "api_paste_config": "/etc/oid/neutron-server-paste.ini"}
    # nova-api gets the file mounted over its own instead (uWSGI reads no other): no override.
    assert not host.file(f"{KOLLA}/config/nova").exists


def test_kolla_s_extra_volumes_add_oid_s_mounts_to_the_operator_s(host):
    variables = yaml.safe_load(host.file(f"{KOLLA}/globals.d/oid-paste.yml").content_string)
    assert sorted(variables) == ["glance_api_extra_volumes", "neutron_server_extra_volumes", "nova_api_extra_volumes"]
    oid_mounts = [f"{OID}/:/etc/oid/:ro", f"{OID}/python/oid/:{SITE_PACKAGES}/oid/:ro"]
    operator = ["/srv/operator:/srv/operator:ro"]
    environment = jinja2.Environment()
    for variable, inherited, extra in (
        ("nova_api_extra_volumes", "nova_extra_volumes", [f"{OID}/nova-api-paste.ini:/etc/nova/api-paste.ini:ro"]),
        ("glance_api_extra_volumes", "glance_extra_volumes", []),
        ("neutron_server_extra_volumes", "neutron_extra_volumes", []),
    ):
        # Evaluated as Kolla evaluates its variables, with an operator's own volumes.
        expression = variables[variable].strip().removeprefix("{{").removesuffix("}}")
        assert environment.compile_expression(expression)(**{inherited: operator}) == operator + oid_mounts + extra


def test_the_filter_code_is_the_checkout_s_unpacked_from_its_wheel(host):
    """The wheel scripts/build-filters made on the controller, copied here and
    unpacked where the API containers mount the package."""
    wheel = subprocess.run([str(CHECKOUT / "scripts" / "build-filters")], capture_output=True, text=True, check=True)
    built = Path(wheel.stdout.split()[-1]).read_bytes()
    assert host.file(f"{OID}/python/oid.whl").content == built
    for name in FILTER_CODE:
        copied = host.file(f"{OID}/python/oid/{name}")
        assert copied.mode == 0o644, name
        assert copied.content_string == (CHECKOUT / "src" / "oid" / name).read_text(), name


@pytest.mark.parametrize("service", SERVICES)
def test_the_api_container_loads_oid_s_filters_from_its_mounts(host, service):
    """In the API image, from the file the service reads (nova: mounted over its own)."""
    container, _, reads = SERVICES[service]
    inside = host.run(f"docker exec {container} cat {reads}")
    assert inside.rc == 0 and inside.stdout == host.file(f"{OID}/{service}-paste.ini").content_string
    result = host.run(f"printf %s {shlex.quote(LOAD_FILTERS)} | docker exec -i {container} python - {reads}")
    assert result.rc == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "code": f"{SITE_PACKAGES}/oid/paste/filters.py",  # the copied code, not the image's
        "here": "Berlin",
        "secret": SECRET,
        "scope": '{"compute":"Berlin","identity":"Berlin","image":"Denver","network":"Berlin","placement":"Berlin"}',
        "interposer": INTERPOSER,
        # No account at any other DC's Keystone: its tokens are validated through the interposers.
        "denver_validated_at": f"{INTERPOSER}/oid/v1/keystone/Denver/v3",
    }


# ---------------------------------------------------------------- restarts


def test_an_unchanged_converge_restarts_nothing(host):
    before = started(host)

    tasks = converge()

    assert restarted(tasks) == [] and not tasks.get(RESTART, {}).get("changed")
    assert [name for name, outcome in tasks.items() if outcome.get("changed")] == []
    assert started(host) == before


def test_a_new_secret_or_catalog_restarts_no_api_service(host, restore):
    """The filters re-read the catalog and this DC's secret when one changes
    (tests/paste: a DC added to a running pipeline): a change of either restarts
    no API service, and each sees the new file through its mount."""
    before = started(host)
    tasks = converge(oid_federation_secret="oidmolpaste-another-secret-9876543210")
    assert tasks[SECRETS_TASK]["changed"]
    assert restarted(tasks) == [] and started(host) == before
    inside = host.run("docker exec oidmolpaste_nova_api cat /etc/oid/dc-secret")
    assert inside.rc == 0 and inside.stdout.strip() == derived("oidmolpaste-another-secret-9876543210")

    tasks = converge(
        oid_federation_secret="oidmolpaste-another-secret-9876543210", oid_link_connect_timeouts={"Denver": 9.0}
    )
    assert tasks[CATALOG_TASK]["changed"]
    assert restarted(tasks) == [] and started(host) == before
    inside = host.run("docker exec oidmolpaste_glance_api cat /etc/oid/catalog.yml")
    assert yaml.safe_load(inside.stdout)["locations"]["Denver"]["connect_timeout"] == 9.0


def converge_after_editing(host, path: str) -> tuple[dict, dict, dict]:
    """A line appended to ``path`` by hand, then converge, which must put the file
    back: (its tasks, the containers' start times before, after)."""
    expected = host.file(path).content_string
    assert host.run(f"echo '# edited by hand' >> {path}").rc == 0
    before = started(host)
    tasks = converge()
    assert host.file(path).content_string == expected
    return tasks, before, started(host)


def test_filter_code_edited_by_hand_is_put_back_and_every_api_service_restarts(host):
    tasks, before, after = converge_after_editing(host, f"{OID}/python/oid/paste/filters.py")
    assert tasks["Paste | The filter code, unpacked from the wheel"]["changed"]
    assert sorted(restarted(tasks)) == sorted(CONTAINERS)
    assert all(after[name] != before[name] for name in CONTAINERS)


def test_a_paste_file_edited_by_hand_is_put_back_and_only_its_service_restarts(host):
    tasks, before, after = converge_after_editing(host, f"{OID}/neutron-server-paste.ini")
    assert restarted(tasks) == ["oidmolpaste_neutron_server"]
    assert after["oidmolpaste_neutron_server"] != before["oidmolpaste_neutron_server"]
    assert {c: after[c] for c in CONTAINERS if c != "oidmolpaste_neutron_server"} == {
        c: before[c] for c in CONTAINERS if c != "oidmolpaste_neutron_server"
    }


def test_a_container_name_that_matches_nothing_is_reported_not_hidden(host, restore):
    """A service with no container here (not deployed yet, or a wrong container_name or
    prefix) restarts nothing and is named in the converge's output, instead of passing silently."""
    edited = f"{OID}/neutron-server-paste.ini"  # a change that restarts its service
    assert host.run(f"echo '# edited by hand' >> {edited}").rc == 0
    before = started(host)
    tasks = converge(oid_container_name_prefix="oidmolpaste_wrong_")
    assert restarted(tasks) == []
    message = tasks["Paste | Say which services have no container here (a wrong container_name would show here)"]["msg"]
    assert "oidmolpaste_wrong_neutron_server" in message, message
    assert started(host) == before


def test_tags_catalog_alone_applies_a_new_catalog_without_restarts(host, restore):
    """`site.yml --tags catalog` (site.yml tags the roles: catalog, paste): the paste files
    are not rewritten, no API service restarts, and each sees the new catalog (its
    filters re-read it by themselves)."""
    before = started(host)
    tasks = converge("--tags", "catalog", oid_link_connect_timeouts={"Denver": 8.0})
    assert tasks[CATALOG_TASK]["changed"]
    assert PASTE_FILES_TASK not in tasks
    assert RESTART not in tasks and started(host) == before
    for container in CONTAINERS:
        inside = host.run(f"docker exec {container} cat /etc/oid/catalog.yml")
        assert yaml.safe_load(inside.stdout)["locations"]["Denver"]["connect_timeout"] == 8.0, container
