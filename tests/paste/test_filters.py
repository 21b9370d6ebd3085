"""oid's paste filters behind real keystonemiddleware, against two real Keystones.

The pipeline is loaded by paste.deploy from an ini file as a service would
load it: ``oid_scope oid_auth echo``, where ``echo`` is a test app standing
at the end of the pipeline that answers what the service would see. It is
Berlin's: its own Keystone with its own account, Denver's through Berlin's and
Denver's interposers (tests/support/relay.py), with no account of Berlin there.
"""

from __future__ import annotations

import json

import pytest
import webob
import yaml
from paste.deploy import loadapp

from tests.support import keystone as ks
from tests.support.identity import admin, own_secret, token_of
from tests.support.paste import pipeline_ini

pytestmark = pytest.mark.skipif(ks.available() is not None, reason=str(ks.available()))


SECRET = own_secret("Berlin")  # Berlin's own, which its interposer and its services' filters hold


def berlin_pipeline(interposers, directory, catalog=None, **options):
    """Berlin's pipeline as the overlay writes it (``options`` added to both filters)."""
    (directory / "api-paste.ini").write_text(
        pipeline_ini(
            catalog or interposers.catalog_file,
            "Berlin",
            interposers.secret_file("Berlin"),
            interposers.keystones["Berlin"].url,
            **options,
        )
    )
    return loadapp(f"config:{directory}/api-paste.ini")


@pytest.fixture(scope="module")
def pipeline(interposers, tmp_path_factory):
    return berlin_pipeline(interposers, tmp_path_factory.mktemp("berlin"), oid_interposer=interposers.url("Berlin"))


def call(app, token=None, scope=None, headers=None):
    request = webob.Request.blank("/v2/images")
    if token:
        request.headers["X-Auth-Token"] = token
    if scope:
        request.headers["X-Scope"] = scope
    for key, value in (headers or {}).items():
        request.headers[key] = value
    response = request.get_response(app)
    body = response.json_body if response.content_type == "application/json" else response.text
    return response.status_int, body


def test_local_token_is_accepted_and_the_scope_goes_back_on_it(pipeline, dcs):
    token = token_of(dcs[1]["Berlin"])
    status, seen = call(pipeline, token)
    assert status == 200, seen
    assert seen["identity_status"] == "Confirmed"
    clean, scope = seen["auth_token"].split("!SCOPE!")
    assert clean == token
    assert json.loads(scope)["compute"] == "Berlin"
    assert seen["scope"] == scope


def test_token_from_denver_is_accepted_when_the_scope_names_denver(pipeline, interposers, dcs):
    token = token_of(dcs[1]["Denver"])
    status, seen = call(pipeline, token, scope="{keystone: Denver}")
    assert status == 200, seen
    assert seen["identity_status"] == "Confirmed"
    assert seen["user_id"] == admin(dcs[1]["Denver"]).session.get_user_id()
    # Validated at Denver's Keystone with Denver's own account: Berlin has none there.
    assert sorted(user.name for user in admin(dcs[1]["Denver"]).identity.users()) == ["admin", "oid-denver"]
    # The service sees its own DC's catalog, not Denver's.
    urls = {entry["type"]: entry["endpoints"][0] for entry in seen["catalog"]}
    # In the header's (Keystone v2) shape, which Nova's request context reads.
    berlin = interposers.url("Berlin")
    assert urls["image"]["internalURL"] == f"{berlin}/image"
    assert urls["compute"]["publicURL"] == f"{berlin}/compute/v2.1"
    assert urls["image"]["region"] == "Berlin"
    assert json.loads(seen["auth_token"].split("!SCOPE!")[1])["identity"] == "Denver"


def test_the_proof_of_concepts_token_suffix_works(pipeline, dcs):
    token = token_of(dcs[1]["Denver"])
    status, seen = call(pipeline, token + '!SCOPE!{"identity": "Denver"}')
    assert status == 200 and seen["identity_status"] == "Confirmed"


def test_token_from_denver_is_rejected_without_the_scope(pipeline, dcs):
    status, _ = call(pipeline, token_of(dcs[1]["Denver"]))
    assert status == 401


def test_invalid_and_revoked_tokens_are_rejected(pipeline, dcs):
    assert call(pipeline, "not-a-token")[0] == 401
    conn = admin(dcs[1]["Denver"])
    token = conn.auth_token
    conn.session.delete(
        f"{dcs[1]['Denver'].url}/v3/auth/tokens", headers={"X-Subject-Token": token}, endpoint_filter=None
    )
    assert call(pipeline, token, scope="{keystone: Denver}")[0] == 401


def test_keystone_outside_the_catalog_is_refused(pipeline, dcs):
    status, body = call(pipeline, token_of(dcs[1]["Denver"]), scope="{keystone: Tokyo}")
    assert status == 400
    assert "unknown location 'Tokyo'; known locations: Berlin, Denver" in body["error"]["message"]


def test_filters_with_no_interposer_accept_only_their_own_keystones_tokens(interposers, dcs, tmp_path):
    """Without oid_interposer, the filters have no way to reach another Keystone
    (nor any account there): its tokens are refused with the reason, this DC's accepted."""
    alone = berlin_pipeline(interposers, tmp_path)
    status, body = call(alone, token_of(dcs[1]["Denver"]), scope="{keystone: Denver}")
    assert status == 401
    assert "no way to validate at the Keystone of Denver" in body["error"]["message"]
    assert call(alone, token_of(dcs[1]["Berlin"]))[0] == 200


def test_the_old_models_accounts_at_other_keystones_stop_the_service(interposers, tmp_path):
    """An api-paste.ini kept from the old trust model (oid_keystones: accounts at
    other DCs' Keystones) is refused at start with the way out, not used."""
    (tmp_path / "keystones.yml").write_text("Denver: {auth_url: http://127.0.0.1:1/v3, username: x, password: y}\n")
    with pytest.raises(ValueError, match="oid_keystones .* is no longer supported.*run site.yml"):
        berlin_pipeline(interposers, tmp_path, oid_keystones=tmp_path / "keystones.yml")


def test_spoofed_internal_headers_from_a_client_are_ignored(pipeline, dcs):
    token = token_of(dcs[1]["Berlin"])
    status, seen = call(pipeline, token, headers={"X-Oid-Origin": "Denver", "X-Oid-Auth": "guess"})
    assert status == 200
    assert seen["oid_headers"] == {} and seen["origin"] == "Berlin"
    status, seen = call(pipeline, token, headers={"X-Oid-Origin": "Denver", "X-Oid-Auth": SECRET})
    assert status == 200 and seen["origin"] == "Denver"  # only the interposer holds the secret


def test_a_bad_scope_is_refused_with_the_reason(pipeline, dcs):
    status, body = call(pipeline, token_of(dcs[1]["Berlin"]), scope="{nova: Berlin&}")
    assert status == 400 and "position 14" in body["error"]["message"]


def test_service_token_is_validated_at_the_keystone_of_the_origin_dc(pipeline, dcs):
    user_token = token_of(dcs[1]["Berlin"])
    denver = admin(dcs[1]["Denver"])
    trusted = {"X-Service-Token": denver.auth_token, "X-Oid-Origin": "Denver", "X-Oid-Auth": SECRET}
    status, seen = call(pipeline, user_token, headers=trusted)
    assert status == 200, seen
    assert seen["service"]["X-Service-Identity-Status"] == "Confirmed"
    assert seen["service"]["X-Service-User-Id"] == denver.session.get_user_id()
    # A client cannot name the origin: without the secret the service token is
    # checked at the user token's Keystone (Berlin), which does not know it.
    spoofed = {"X-Service-Token": denver.auth_token, "X-Oid-Origin": "Denver"}
    status, _ = call(pipeline, user_token, headers=spoofed)
    assert status == 401


def test_a_direct_client_gets_the_interposers_policy_and_path_rules(pipeline, dcs):
    """A client that reaches the API directly, not through the interposer, is held
    to the same rules (oid.entry): a bad collaboration is refused with the reason,
    and so is a path with a dot segment, before the token is even looked at."""
    token = token_of(dcs[1]["Berlin"])
    request = webob.Request.blank("/v2.1/servers", method="POST")
    request.headers["X-Auth-Token"] = token
    request.headers["X-Scope"] = "{nova: Berlin, neutron: Denver}"
    response = request.get_response(pipeline)
    assert response.status_int == 400
    assert "compute at Berlin with network at Denver is refused" in response.json_body["error"]["message"]
    request = webob.Request.blank("/v2.1/servers")
    request.environ["REQUEST_URI"] = "/v2.1/%2e%2e/servers"
    request.headers["X-Auth-Token"] = token
    response = request.get_response(pipeline)
    assert response.status_int == 400 and "'.' or '..'" in response.json_body["error"]["message"]


def replace(path, text):
    """As Ansible writes a file: a new one renamed over the old."""
    new = path.with_suffix(".new")
    new.write_text(text)
    new.rename(path)


def test_a_changed_catalog_is_read_without_a_restart(interposers, dcs, tmp_path):
    """A DC joins: the filters of the running service accept its tokens once the
    catalog names it, with no restart (adding a DC used to restart nova-api,
    glance-api and neutron-server in every DC); a broken catalog afterwards
    keeps the working one."""
    catalog = yaml.safe_load(interposers.catalog_file.read_text())
    without_denver = {"locations": {k: v for k, v in catalog["locations"].items() if k != "Denver"}}
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(without_denver))
    app = berlin_pipeline(
        interposers, tmp_path, tmp_path / "catalog.yml", oid_interposer=interposers.url("Berlin"), oid_reload_seconds=0
    )
    token = token_of(dcs[1]["Denver"])
    status, body = call(app, token, scope="{keystone: Denver}")
    assert status == 400 and "unknown location 'Denver'" in body["error"]["message"]
    replace(tmp_path / "catalog.yml", interposers.catalog_file.read_text())
    status, seen = call(app, token, scope="{keystone: Denver}")
    assert status == 200 and seen["identity_status"] == "Confirmed", seen
    replace(tmp_path / "catalog.yml", "locations: [broken")
    status, seen = call(app, token, scope="{keystone: Denver}")
    assert status == 200 and seen["identity_status"] == "Confirmed", seen
