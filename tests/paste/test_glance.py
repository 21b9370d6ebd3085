"""A real glance-api whose shipped pipeline got oid's filters, against two real
Keystones: Denver's tokens validated through the interposers, no account of Berlin there."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.support.glance import Glance
from tests.support.identity import SERVICE_PASSWORD, admin
from tests.support.relay import account_name


@pytest.fixture(scope="module")
def glance(dcs, interposers):
    workdir, keystones = dcs
    service = Glance(
        workdir,
        "Berlin",
        keystones["Berlin"],
        (account_name("Berlin"), SERVICE_PASSWORD),
        interposers.catalog_file,
        interposers.secret_file("Berlin"),
        interposers.url("Berlin"),
    ).start()
    yield service
    service.stop()


def images(glance, token, scope=None):
    headers = {"X-Auth-Token": token}
    if scope:
        headers["X-Scope"] = scope
    return requests.get(glance.url + "/v2/images", headers=headers, timeout=30)


def test_berlin_glance_accepts_a_denver_token_only_when_the_scope_says_so(glance, dcs):
    _, keystones = dcs
    denver = admin(keystones["Denver"])
    assert images(glance, denver.auth_token, "{keystone: Denver}").status_code == 200
    assert images(glance, denver.auth_token).status_code == 401
    assert images(glance, admin(keystones["Berlin"]).auth_token).status_code == 200
    assert images(glance, "garbage", "{keystone: Denver}").status_code == 401
    refused = images(glance, denver.auth_token, "{keystone: Tokyo}")
    assert refused.status_code == 400 and "unknown location 'Tokyo'" in refused.text


def test_an_image_created_with_a_denver_token_belongs_to_the_denver_project(glance, dcs):
    _, keystones = dcs
    denver = admin(keystones["Denver"])
    headers = {"X-Auth-Token": denver.auth_token, "X-Scope": "{keystone: Denver}"}
    created = requests.post(
        glance.url + "/v2/images",
        json={"name": "from-denver", "disk_format": "raw", "container_format": "bare"},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    image = created.json()
    # Project ids are per Keystone: the owner is Denver's admin project, unknown to Berlin's Keystone.
    assert image["owner"] == denver.current_project_id
    assert image["owner"] != admin(keystones["Berlin"]).current_project_id
    data = b"oid" * 100_000
    upload = requests.put(
        glance.url + f"/v2/images/{image['id']}/file",
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert upload.status_code == 204, upload.text
    download = requests.get(glance.url + f"/v2/images/{image['id']}/file", headers=headers, timeout=60)
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(data).hexdigest()
