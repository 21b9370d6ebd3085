"""Inserting oid's filters into the api-paste.ini a service ships."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from oid.paste.pipeline import PasteError, insert_filters
from tests.support import keystone as ks

OPTIONS = {"oid_catalog": "/etc/oid/catalog.yml", "oid_location": "Berlin", "oid_interposer": "http://10.0.1.10:8790"}

# The shape of nova's composite (nova 33.x ships this pipeline layout).
NOVA_LIKE = """
[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21
noauth2 = cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler noauth2 osapi_compute_app_v21

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
"""


def parsed(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


def test_nova_like_composite_gets_the_filters_around_authtoken_only():
    result = parsed(insert_filters(NOVA_LIKE, OPTIONS))
    section = result["composite:openstack_compute_api_v21"]
    assert section["keystone"].split()[-4:] == ["oid_scope", "oid_auth", "keystonecontext", "osapi_compute_app_v21"]
    assert "oid_" not in section["noauth2"]
    assert section["use"] == "call:nova.api.auth:pipeline_factory_v21"
    assert result["filter:oid_auth"]["paste.filter_factory"] == "oid.paste.filters:auth_filter_factory"
    for section in ("filter:oid_scope", "filter:oid_auth"):
        assert result[section]["oid_interposer"] == "http://10.0.1.10:8790"


def test_insertion_is_idempotent():
    once = insert_filters(NOVA_LIKE, OPTIONS)
    assert insert_filters(once, OPTIONS) == once


def test_a_file_without_authtoken_is_refused():
    with pytest.raises(PasteError, match="no pipeline uses 'authtoken'"):
        insert_filters("[pipeline:main]\npipeline = noauth app\n", OPTIONS)


@pytest.mark.skipif(ks.available() is not None, reason=str(ks.available()))
def test_glance_as_shipped():
    shipped = (ks.VENV / "etc" / "glance" / "glance-api-paste.ini").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "oid.cli", "paste", "insert", str(ks.VENV / "etc/glance/glance-api-paste.ini"),
         "--catalog", "/etc/oid/catalog.yml", "--location", "Berlin", "--service", "image",
         "--interposer", "http://10.0.1.10:8790", "--secret-file", "/etc/oid/dc-secret",
         "--oslo-config-project", "glance"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    before, after = parsed(shipped), parsed(result.stdout)
    for key in ("keystone", "keystone+caching", "keystone+cachemanagement"):
        words = after["composite:api"][key].split()
        assert "authtoken" not in words and words.index("oid_scope") + 1 == words.index("oid_auth")
        assert [w for w in words if not w.startswith("oid_")] == [
            w for w in before["composite:api"][key].split() if w != "authtoken"
        ]
    assert after["composite:api"]["default"] == before["composite:api"]["default"]
    # The shipped authtoken options carry over to oid_auth.
    assert after["filter:oid_auth"]["delay_auth_decision"] == "true"
    assert after["filter:oid_auth"]["oslo_config_project"] == "glance"
    # Other DCs' tokens are validated through this DC's interposer, with its own secret.
    for name in ("filter:oid_scope", "filter:oid_auth"):
        assert after[name]["oid_interposer"] == "http://10.0.1.10:8790"
        assert after[name]["oid_federation_secret_file"] == "/etc/oid/dc-secret"


SHIPPED = Path(__file__).resolve().parents[2] / ".cache" / "shipped-wheels"


def shipped_paste_files():
    """The api-paste.ini of each service as its 2026.1 wheel ships it (make setup downloads them)."""
    found = []
    for wheel in sorted(SHIPPED.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if ".data/data/etc/" in name and name.endswith("api-paste.ini"):
                    found.append(pytest.param(archive.read(name).decode(), id=wheel.name.split("-")[0]))
    return found


@pytest.mark.parametrize("shipped", shipped_paste_files())
def test_each_service_as_shipped(shipped):
    before = parsed(shipped)
    after = parsed(insert_filters(shipped, OPTIONS))
    rewritten = 0
    for section in before.sections():
        for key, value in before[section].items():
            words, new_words = value.split(), after[section][key].split()
            if "authtoken" in words and (section.startswith("pipeline:") or section.startswith("composite:")):
                i = new_words.index("oid_scope")
                assert new_words[i : i + 2] == ["oid_scope", "oid_auth"]
                assert [w for w in new_words if not w.startswith("oid_")] == [w for w in words if w != "authtoken"]
                rewritten += 1
            else:
                assert new_words == words
    assert rewritten >= 1
    assert after["filter:oid_auth"]["paste.filter_factory"] == "oid.paste.filters:auth_filter_factory"


def test_the_shipped_wheels_are_there_and_placement_has_no_paste_pipeline():
    wheels = {wheel.name.split("-")[0] for wheel in SHIPPED.glob("*.whl")}
    assert {"nova", "neutron", "cinder", "openstack_placement"} <= wheels, "run make setup"
    (placement,) = SHIPPED.glob("openstack_placement-*.whl")
    with zipfile.ZipFile(placement) as archive:
        assert not [name for name in archive.namelist() if name.endswith("paste.ini")]
