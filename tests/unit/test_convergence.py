"""Per-location idempotency plans of the modules."""

from __future__ import annotations

import pytest
from ansible_collections.oid.cloud.plugins.module_utils.convergence import (
    creation_targets,
    deletion_targets,
    satisfied,
    target_locations,
)

# The same file as oid.scope, imported the way modules import it: mixing the
# two import paths in one process would make two distinct sets of classes.
from ansible_collections.oid.cloud.plugins.module_utils.scope import format_expression, parse_expression


def plan(expression, **state):
    return [format_expression(t) for t in creation_targets(parse_expression(expression), state)]


def test_and_creates_only_where_missing():
    assert plan("Berlin&Denver", Berlin=True, Denver=False) == ["Denver"]
    assert plan("Berlin&Denver", Berlin=False, Denver=False) == ["Berlin", "Denver"]


def test_and_present_everywhere_changes_nothing():
    assert plan("Berlin&Denver", Berlin=True, Denver=True) == []


def test_or_present_in_any_alternative_is_enough():
    assert plan("Denver|Paris", Denver=False, Paris=True) == []
    assert plan("Denver|Paris", Denver=None, Paris=True) == []


def test_or_absent_everywhere_is_left_to_the_interposer():
    assert plan("Denver|Paris", Denver=False, Paris=False) == ["Denver|Paris"]
    assert plan("Denver|Paris", Denver=None, Paris=False) == ["Denver|Paris"]


def test_or_completes_a_partly_present_alternative():
    assert plan("A&B|C", A=True, B=False, C=False) == ["B"]


def test_mixed_and_over_or():
    assert plan("(A|B)&C", A=False, B=True, C=False) == ["C"]
    assert plan("(A|B)&C", A=False, B=False, C=True) == ["A|B"]


def test_unknown_locations_are_targets_so_that_the_failure_is_reported():
    assert plan("Berlin&Denver", Berlin=True, Denver=None) == ["Denver"]


def test_deletion_targets_every_location_where_it_is_or_may_be():
    expr = parse_expression("Berlin&Denver|Paris")
    assert deletion_targets(expr, {"Berlin": True, "Denver": False, "Paris": None}) == ["Berlin", "Paris"]
    assert deletion_targets(expr, {"Berlin": False, "Denver": False, "Paris": False}) == []


def test_satisfied_rejects_unexpanded_star():
    with pytest.raises(ValueError, match="normalize the scope first"):
        satisfied(parse_expression("*"), {})


def test_target_locations_are_unique_and_ordered():
    targets = [parse_expression("B|A"), parse_expression("A"), parse_expression("C")]
    assert target_locations(targets) == ["B", "A", "C"]
