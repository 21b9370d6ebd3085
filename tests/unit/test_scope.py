"""Unit tests of the scope language: parsing, normalization, errors, evaluation, merging."""

from __future__ import annotations

import asyncio
import json

import pytest

from oid.scope import (
    AllOf,
    AnyOf,
    Catalog,
    Everywhere,
    Location,
    Scope,
    ScopeError,
    Unreachable,
    evaluate,
    format_expression,
    merge_lists,
    normalize,
    parse_canonical,
    parse_expression,
    parse_scope,
    service_type,
)

CATALOG = Catalog.from_mapping(
    {
        "locations": {
            "Berlin": {"services": ["keystone", "nova", "glance", "neutron", "placement"]},
            "Denver": {"services": {"identity": None, "compute": None, "image": "http://d:9292"}},
            "Paris": {"services": ["keystone", "nova", "glance", "neutron", "placement", "cinder"]},
        }
    }
)


def expr(text):
    return format_expression(parse_expression(text))


# --- parsing ---------------------------------------------------------------


def test_flow_form_of_the_design():
    scope = parse_scope("{nova: Berlin, glance: Denver|Paris}")
    assert scope == {"compute": Location("Berlin"), "image": AnyOf((Location("Denver"), Location("Paris")))}


def test_json_form_of_the_proof_of_concept():
    scope = parse_scope('{"compute": "CloudOne", "image": "CloudTwo"}')
    assert scope == {"compute": Location("CloudOne"), "image": Location("CloudTwo")}


def test_mapping_form_as_given_by_yaml():
    assert parse_scope({"nova": "Berlin&Denver", "glance": ["Paris", "Berlin"]}) == {
        "compute": AllOf((Location("Berlin"), Location("Denver"))),
        "image": AllOf((Location("Berlin"), Location("Paris"))),
    }


@pytest.mark.parametrize("empty", [None, "", "   ", "{}", " { } ", {}])
def test_no_scope_is_an_empty_scope(empty):
    assert parse_scope(empty) == {}


def test_braces_are_optional_and_a_trailing_comma_is_accepted():
    assert parse_scope("nova: Berlin,") == parse_scope("{nova: Berlin}")


def test_and_binds_tighter_than_or():
    assert parse_expression("A|B&C") == AnyOf((Location("A"), AllOf((Location("B"), Location("C")))))
    assert parse_expression("A&B|C") == AnyOf((AllOf((Location("A"), Location("B"))), Location("C")))


def test_parentheses_override_precedence():
    assert parse_expression("(A|B)&C") == AllOf((AnyOf((Location("A"), Location("B"))), Location("C")))


def test_whitespace_is_allowed_everywhere():
    assert parse_scope(" {\n nova :\tBerlin & Denver ,glance:( Denver |Paris ) } ") == parse_scope(
        "{nova:Berlin&Denver,glance:Denver|Paris}"
    )


def test_star_parses_as_everywhere():
    assert parse_expression("*") == Everywhere()


@pytest.mark.parametrize(
    ("alias", "stype"),
    [
        ("nova", "compute"),
        ("glance", "image"),
        ("keystone", "identity"),
        ("neutron", "network"),
        ("cinder", "volume"),
        ("block-storage", "volume"),
        ("placement", "placement"),
        ("Compute", "compute"),
        ("NOVA", "compute"),
    ],
)
def test_service_aliases(alias, stype):
    assert service_type(alias) == stype


def test_and_is_commutative_and_idempotent_in_canonical_form():
    assert expr("Denver&Berlin&Denver") == "Berlin&Denver"


def test_or_keeps_its_order_and_drops_repeats():
    assert expr("Paris|Denver|Paris") == "Paris|Denver"


def test_nested_operators_are_flattened():
    assert expr("A&(B&C)") == "A&B&C"
    assert expr("(A|B)|C") == "A|B|C"
    assert expr("((A))") == "A"


def test_canonical_form_parenthesizes_or_inside_and():
    assert expr("C&(B|A)") == "(B|A)&C"


# --- errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("{nova: Berlin&, glance: Denver}", 14, "expected a location name"),
        ("{nova: Berlin", 13, "expected ',' or '}', found end of scope"),
        ("{nova Berlin}", 6, "expected ':' after the service name"),
        ("{nova: (Berlin|Paris}", 20, "expected ')'"),
        ("{nova: Berlin Paris}", 14, "expected ',' or '}'"),
        ("{swift: Berlin}", 1, "unknown service 'swift'; known services: "),
        ("{nova: Berlin, compute: Paris}", 15, "service 'compute' given twice (as 'compute')"),
        ('{"nova": "Ber lin"}', 14, "expected '&', '|' or the end of the expression"),
        ("{nova: Berlin} trailing", 15, "unexpected 't' after the scope"),
        ('{"nova": "Berlin}', 9, "unterminated or invalid quoted string"),
        ("{nova: !}", 7, "expected a location name, '*' or '(', found '!'"),
    ],
)
def test_syntax_errors_name_the_position(text, position, fragment):
    with pytest.raises(ScopeError) as info:
        parse_scope(text)
    assert info.value.position == position
    assert fragment in info.value.message
    assert str(info.value).startswith(f"bad scope at position {position}: ")


def test_unknown_service_lists_the_known_ones():
    with pytest.raises(ScopeError) as info:
        parse_scope("{swift: Berlin}")
    for name in ("compute", "image", "nova", "glance", "keystone", "cinder"):
        assert name in info.value.message


def test_scope_of_the_wrong_type():
    with pytest.raises(ScopeError, match="must be a string or a mapping, not int"):
        parse_scope(42)


def test_mapping_value_errors_name_the_service():
    with pytest.raises(ScopeError, match="in nova: expected a location name"):
        parse_scope({"nova": "Berlin&"})


def test_overlong_scope_is_refused():
    with pytest.raises(ScopeError, match="longer than"):
        parse_scope("{nova: " + "A&" * 5000 + "B}")


def test_deep_nesting_is_refused():
    with pytest.raises(ScopeError, match="nested deeper"):
        parse_expression("(" * 40 + "A" + ")" * 40)


def test_unknown_location_names_the_known_ones():
    with pytest.raises(ScopeError) as info:
        normalize("{nova: Tokyo}", CATALOG, "Berlin")
    assert info.value.message == "unknown location 'Tokyo'; known locations: Berlin, Denver, Paris"


def test_location_without_the_service_is_refused_with_alternatives():
    with pytest.raises(ScopeError) as info:
        normalize("{cinder: Berlin}", CATALOG, "Berlin")
    assert info.value.message == "location 'Berlin' offers no volume service; locations offering it: Paris"


def test_unknown_entry_is_refused():
    with pytest.raises(ScopeError, match="unknown location 'Rome'"):
        normalize("{}", CATALOG, "Rome")


# --- normalization ---------------------------------------------------------


def test_omitted_services_run_at_the_entry_dc():
    scope = normalize("{nova: Paris}", CATALOG, "Berlin")
    assert scope.as_dict() == {
        "compute": "Paris",
        "identity": "Berlin",
        "image": "Berlin",
        "network": "Berlin",
        "placement": "Berlin",
    }


def test_entry_dc_fills_only_services_it_offers():
    assert set(normalize("{}", CATALOG, "Denver").as_dict()) == {"identity", "compute", "image"}


def test_star_expands_to_the_locations_offering_the_service():
    assert normalize("{glance: *, nova: *}", CATALOG, "Berlin").as_dict()["image"] == "Berlin&Denver&Paris"
    assert normalize("{neutron: *}", CATALOG, "Berlin").as_dict()["network"] == "Berlin&Paris"


def test_names_take_the_catalog_spelling():
    scope = normalize('{"compute": "paris", "image": "DENVER|berlin"}', CATALOG, "berlin")
    assert scope.as_dict()["image"] == "Denver|Berlin"
    assert scope.as_dict()["identity"] == "Berlin"


def test_canonical_json_is_compact_sorted_and_parses_back():
    scope = normalize("{nova: Berlin, glance: Denver|Paris}", CATALOG, "Berlin")
    text = scope.canonical()
    assert text == (
        '{"compute":"Berlin","identity":"Berlin","image":"Denver|Paris","network":"Berlin","placement":"Berlin"}'
    )
    assert parse_canonical(text) == scope
    assert normalize(text, CATALOG, "Berlin") == scope  # a normalized scope is a fixed point


def test_scope_lookup_by_alias():
    scope = normalize("{nova: Berlin&Paris}", CATALOG, "Berlin")
    assert scope["nova"] == scope["compute"]
    assert scope.locations("nova") == ["Berlin", "Paris"]


# --- catalog ---------------------------------------------------------------


def test_catalog_keeps_extra_keys_and_endpoints():
    assert CATALOG.sites["Denver"].services["image"] == "http://d:9292"
    catalog = Catalog.from_mapping({"locations": {"A": {"services": ["nova"], "interposer": "http://a"}}})
    assert catalog.sites["A"].extra == {"interposer": "http://a"}
    assert catalog.first == "A"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "mapping with a 'locations' mapping"),
        ({"locations": {}}, "no location"),
        ({"locations": {"A": {}}}, "lists no services"),
        ({"locations": {"A": {"services": ["swift"]}}}, "unknown service 'swift'"),
        ({"locations": {"bad name": {"services": ["nova"]}}}, "invalid location name"),
        ({"locations": {"A": {"services": ["nova"]}, "a": {"services": ["nova"]}}}, "names location 'a' twice"),
    ],
)
def test_bad_catalogs_are_refused(data, fragment):
    with pytest.raises(ScopeError, match=fragment):
        Catalog.from_mapping(data)


def test_catalog_files_yaml_and_json(tmp_path):
    yaml_file = tmp_path / "catalog.yml"
    yaml_file.write_text("locations:\n  Berlin:\n    services: [nova]\n")
    json_file = tmp_path / "catalog.json"
    json_file.write_text(json.dumps({"locations": {"Berlin": {"services": ["nova"]}}}))
    assert Catalog.from_file(str(yaml_file)).names == Catalog.from_file(str(json_file)).names == ["Berlin"]
    broken = tmp_path / "broken.yml"
    broken.write_text("locations: [\n")
    with pytest.raises(ScopeError, match="not valid YAML"):
        Catalog.from_file(str(broken))


# --- evaluation ------------------------------------------------------------


def run(expression, operation, **kwargs):
    return asyncio.run(evaluate(parse_expression(expression), operation, **kwargs))


def recorder(failing=(), values=None):
    calls = []

    async def operation(location):
        calls.append(location)
        if location in failing:
            raise ConnectionError(f"{location} refused")
        return (values or {}).get(location, f"from {location}")

    return operation, calls


def test_single_location():
    operation, calls = recorder()
    result = run("Berlin", operation)
    assert result.ok and result.value == "from Berlin" and calls == ["Berlin"]


def test_and_runs_everywhere_and_keeps_locations():
    operation, calls = recorder()
    result = run("Berlin&Denver", operation)
    assert result.ok
    assert result.values == [("Berlin", "from Berlin"), ("Denver", "from Denver")]
    assert sorted(calls) == ["Berlin", "Denver"]


def test_and_fails_when_any_branch_fails_and_reports_each_location():
    operation, _ = recorder(failing={"Denver"})
    result = run("Berlin&Denver", operation)
    assert not result.ok
    assert [(o.location, o.ok) for o in result.outcomes] == [("Berlin", True), ("Denver", False)]
    assert result.failures[0].describe() == "ConnectionError: Denver refused"


def test_or_stops_at_the_first_success():
    operation, calls = recorder()
    result = run("Denver|Paris", operation)
    assert result.value == "from Denver" and calls == ["Denver"]


def test_or_falls_back_and_reports_what_it_tried():
    operation, calls = recorder(failing={"Denver"})
    result = run("Denver|Paris", operation)
    assert result.ok and result.values == [("Paris", "from Paris")]
    assert calls == ["Denver", "Paris"]
    assert [(o.location, o.ok) for o in result.outcomes] == [("Denver", False), ("Paris", True)]


def test_or_fails_when_every_alternative_fails():
    operation, _ = recorder(failing={"Denver", "Paris"})
    result = run("Denver|Paris", operation)
    assert not result.ok and result.values == [] and len(result.failures) == 2


def test_pluggable_failure_rule():
    operation, calls = recorder(values={"Denver": 503, "Paris": 200})
    result = run("Denver|Paris", operation, is_failure=lambda status: status >= 500)
    assert result.value == 200 and calls == ["Denver", "Paris"]
    assert result.outcomes[0].describe() == "failed: 503"


def test_unavailable_locations_are_skipped_without_a_call():
    operation, calls = recorder()
    result = run("Denver|Paris", operation, is_available=lambda loc: loc != "Denver")
    assert result.value == "from Paris" and calls == ["Paris"]
    skipped = result.outcomes[0]
    assert skipped.skipped and isinstance(skipped.error, Unreachable)
    assert skipped.describe() == "skipped: known to be unreachable"


def test_mixed_expression_and_over_or():
    operation, calls = recorder(failing={"A"})
    result = run("(A|B)&C", operation)
    assert result.ok and dict(result.values) == {"B": "from B", "C": "from C"}


def test_value_of_a_multi_location_result_is_refused():
    operation, _ = recorder()
    with pytest.raises(ValueError, match="2 values"):
        _ = run("A&B", operation).value


def test_star_must_be_expanded_before_evaluation():
    operation, _ = recorder()
    with pytest.raises(ScopeError, match="normalize the scope first"):
        run("*", operation)


def test_evaluation_of_a_normalized_scope():
    scope = normalize("{nova: *}", CATALOG, "Berlin")
    operation, calls = recorder()
    result = asyncio.run(evaluate(scope["compute"], operation))
    assert [loc for loc, _ in result.values] == ["Berlin", "Denver", "Paris"]


# --- merging ---------------------------------------------------------------


def test_merged_list_keeps_the_type_and_annotates_locations():
    merged = merge_lists(
        [
            ("Berlin", {"servers": [{"id": "1"}], "servers_links": [{"rel": "next", "href": "x"}]}),
            ("Denver", {"servers": [{"id": "2"}, {"id": "3"}]}),
        ]
    )
    assert merged == {
        "servers": [
            {"id": "1", "oid_location": "Berlin"},
            {"id": "2", "oid_location": "Denver"},
            {"id": "3", "oid_location": "Denver"},
        ]
    }


def test_merge_drops_pagination_and_keeps_other_metadata():
    merged = merge_lists(
        [
            ("A", {"images": [{"id": "1"}], "next": "/v2/images?marker=1", "first": "/v2/images", "schema": "s"}),
            ("B", {"images": []}),
        ]
    )
    assert merged == {"images": [{"id": "1", "oid_location": "A"}]}


def test_merge_of_a_resource_provider_list_and_empty_lists():
    merged = merge_lists([("A", {"resource_providers": []}), ("B", {"resource_providers": [{"uuid": "u"}]})])
    assert merged == {"resource_providers": [{"uuid": "u", "oid_location": "B"}]}


def test_merge_refuses_lists_of_different_kinds():
    with pytest.raises(ValueError, match="not lists of the same kind"):
        merge_lists([("A", {"servers": []}), ("B", {"images": []})])
    with pytest.raises(ValueError, match="not lists of the same kind"):
        merge_lists([("A", {"server": {"id": "1"}}), ("B", {"server": {"id": "2"}})])


def test_scope_object_equality_and_hash():
    a = Scope({"compute": Location("A")})
    assert a == Scope({"compute": Location("A")}) and hash(a) == hash(Scope({"compute": Location("A")}))
    assert a != Scope({"compute": Location("B")})
