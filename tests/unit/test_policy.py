"""The policy table of good and bad collaborations."""

from __future__ import annotations

import json

import pytest

from oid.policy import Narrowing, PolicyError, check, default_expressions, narrow
from oid.scope import Catalog, Location, normalize

CATALOG = Catalog.from_mapping(
    {
        "locations": {
            name: {"services": ["keystone", "nova", "glance", "neutron", "placement", "cinder"]}
            for name in ("Berlin", "Denver", "Paris")
        }
    }
)


def scope(text, entry="Berlin"):
    return normalize(text, CATALOG, entry, defaults=default_expressions)


def test_bound_services_follow_compute_when_omitted():
    normalized = scope("{nova: Denver}")
    assert normalized.as_dict()["network"] == "Denver"
    assert normalized.as_dict()["placement"] == "Denver"
    assert normalized.as_dict()["volume"] == "Denver"
    assert normalized.as_dict()["image"] == "Berlin"  # not bound: the entry DC


def test_image_from_another_dc_is_allowed():
    check(scope("{nova: Berlin, glance: Denver|Paris}"), "compute", "POST")


def test_token_from_another_keystone_is_allowed():
    check(scope("{keystone: Denver, nova: Berlin}"), "compute", "POST")


def test_nova_with_a_network_of_another_dc_is_refused_for_writes():
    refused = scope("{nova: Berlin, neutron: Denver}")
    with pytest.raises(PolicyError) as info:
        check(refused, "compute", "POST")
    assert "compute at Berlin with network at Denver is refused for POST compute" in str(info.value)
    assert "ports are bound" in str(info.value)
    check(refused, "compute", "GET")  # listing is harmless
    check(refused, "network", "GET")


def test_the_bound_service_alone_may_be_used_anywhere():
    """A network made in Denver through Berlin's entry (compute defaults to
    Berlin) plugs nothing into a Berlin hypervisor: allowed; so is reading
    Denver's Placement with a token of Denver's Keystone."""
    check(scope("{neutron: Denver}"), "network", "POST")
    check(scope("{nova: Berlin, neutron: Denver}"), "network", "DELETE")
    check(scope("{keystone: Denver, placement: Denver}"), "placement", "GET")


@pytest.mark.parametrize("placement", ["Denver", "Berlin&Denver", "Berlin|Denver"])
def test_placement_elsewhere_than_the_tokens_keystone_is_refused_with_the_reason(placement):
    """Placement has no paste pipeline for oid's filters: a Berlin token at
    Denver's Placement would be a 401; the entry says why instead."""
    with pytest.raises(PolicyError) as info:
        check(scope(f"{{placement: {placement}}}"), "placement", "GET")
    assert f"placement at {placement} with identity at Berlin is refused" in str(info.value)
    assert "no paste pipeline" in str(info.value) and f"{{keystone: {placement}, placement: {placement}}}" in str(
        info.value
    )
    check(scope("{placement: Berlin}"), "placement", "GET")  # the entry's own, with its own token
    check(scope(f"{{nova: {placement}}}"), "compute", "GET")  # only requests to Placement itself


def test_placement_of_another_dc_is_refused_for_writes_not_for_reads():
    with pytest.raises(PolicyError, match="Placement inventory"):
        check(scope("{nova: Berlin, placement: Denver}"), "compute", "POST")
    check(scope("{nova: Berlin, placement: Denver}"), "compute", "GET")  # a list never asks Placement


@pytest.mark.parametrize("compute", ["Denver", "Berlin&Denver", "Berlin|Denver"])
def test_the_proof_of_concepts_full_scopes_list_servers(compute):
    """Its clients fill every service with the entry's DC: `--os-scope
    '{"compute": "Denver"}'` is sent as the whole scope below. A server list
    touches neither Placement nor Neutron: allowed, under '&' and '|' too."""
    sent = {"compute": compute, "identity": "Berlin", "image": "Berlin", "network": "Berlin", "placement": "Berlin"}
    check(scope(json.dumps(sent)), "compute", "GET")


def test_attaching_a_volume_of_another_dc_is_refused():
    with pytest.raises(PolicyError, match="cannot be attached"):
        check(scope("{nova: Berlin, cinder: Paris}"), "compute", "POST")


def test_lists_under_and_are_allowed():
    check(scope("{nova: Berlin&Denver}"), "compute", "GET")
    check(scope("{nova: Berlin&Denver}"), "compute", "POST")  # bound services follow: same expression


def test_narrow_moves_bound_services_with_the_branch():
    narrowed = narrow(scope("{nova: Berlin&Denver, glance: Paris}"), "compute", Location("Denver"))
    assert narrowed.as_dict() == {
        "compute": "Denver",
        "identity": "Berlin",
        "image": "Paris",
        "network": "Denver",
        "placement": "Denver",
        "volume": "Denver",
    }


def test_narrow_keeps_only_what_the_branch_calls():
    """An image list's branch does not carry compute's thousand locations."""
    wide = scope("{nova: Berlin&Denver&Paris, glance: Berlin&Denver}")
    assert narrow(wide, "image", Location("Denver")).as_dict() == {"identity": "Berlin", "image": "Denver"}
    assert narrow(wide, "volume", Location("Paris")).as_dict() == {
        "compute": "Berlin&Denver&Paris",
        "identity": "Berlin",
        "image": "Berlin&Denver",
        "volume": "Paris",
    }


@pytest.mark.parametrize("service", ["compute", "image", "volume", "identity", "network"])
@pytest.mark.parametrize(
    "text", ["{nova: Berlin&Denver, glance: Paris}", "{glance: *}", "{nova: *, keystone: Denver}", None]
)
def test_narrowing_many_branches_is_narrow_once_per_branch(text, service):
    wide = scope(text)
    if service not in wide.services:
        return
    narrowing = Narrowing(wide, service)
    for location in ("Berlin", "Denver", "Paris"):
        assert narrowing.canonical(location) == narrow(wide, service, Location(location)).canonical()


def test_check_needs_a_normalized_scope():
    with pytest.raises(TypeError):
        check({"compute": Location("A")}, "compute", "GET")
