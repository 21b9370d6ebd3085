# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Per-location idempotency: what a module must change so that a scope holds.

A module first reads the resource at every location its scope names (one
request per location, each scoped to that location alone), then asks this
module where to create or delete.  Writes are sent with a scope narrowed to
those targets, so the interposer still does all routing: ``|`` alternatives
are handed to it whole and it picks the first location that answers.

``state`` below maps each location to True (the resource is there), False
(it is not) or None (the location could not be read; it is unknown).
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.oid.cloud.plugins.module_utils.scope import AllOf, AnyOf, Location, format_expression


def satisfied(expr, state):
    """Whether the resource is present as ``expr`` requires."""
    if isinstance(expr, Location):
        return state.get(expr.name) is True
    if isinstance(expr, AllOf):
        return all(satisfied(op, state) for op in expr.operands)
    if isinstance(expr, AnyOf):
        return any(satisfied(op, state) for op in expr.operands)
    raise ValueError("cannot plan over %s: normalize the scope first" % format_expression(expr))


def creation_targets(expr, state):
    """The expressions to create the resource at, so that ``expr`` holds.

    ``A&B``: every operand that does not hold yet.  ``A|B``: nothing when one
    alternative holds; when one alternative is partly there (``A&B|C`` with A
    present), complete that one rather than start another; otherwise the
    whole alternative, for the interposer to try left to right.
    """
    if satisfied(expr, state):
        return []
    if isinstance(expr, Location):
        return [expr]
    if isinstance(expr, AllOf):
        return [target for op in expr.operands for target in creation_targets(op, state)]
    for operand in expr.operands:
        if any(state.get(location) is True for location in operand.locations()):
            return creation_targets(operand, state)
    return [expr]


def deletion_targets(expr, state):
    """The locations to delete the resource at: wherever it is or may be."""
    return [location for location in expr.locations() if state.get(location) is not False]


def target_locations(targets):
    """Every location a list of targets may touch, in order, once."""
    seen = []
    for target in targets:
        for location in target.locations():
            if location not in seen:
                seen.append(location)
    return seen
