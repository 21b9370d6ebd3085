"""Property tests of the scope language (hypothesis)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from oid.scope import (
    SERVICE_ALIASES,
    AllOf,
    AnyOf,
    Catalog,
    Location,
    Scope,
    ScopeError,
    evaluate,
    format_expression,
    normalize,
    parse_canonical,
    parse_expression,
    parse_scope,
)

NAMES = ["Berlin", "Denver", "Paris", "Tokyo", "Rio", "dc-1", "dc_2", "x.y"]
CATALOG = Catalog.from_mapping({"locations": {name: {"services": list(SERVICE_ALIASES)} for name in NAMES}})

names = st.sampled_from(NAMES)
expressions = st.recursive(
    names.map(Location),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda ops: AllOf(tuple(ops))),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: AnyOf(tuple(ops))),
    ),
    max_leaves=12,
)
services = st.sampled_from(sorted({alias for stype, aliases in SERVICE_ALIASES.items() for alias in (stype, *aliases)}))


def loose_text(expr):
    """A valid, non-canonical spelling: redundant parentheses and spaces."""
    if isinstance(expr, Location):
        return expr.name
    op = " & " if isinstance(expr, AllOf) else " | "
    return "( " + op.join(loose_text(o) for o in expr.operands) + " )"


@given(expressions)
def test_canonical_expression_round_trips(expr):
    text = format_expression(parse_expression(loose_text(expr)))
    assert format_expression(parse_expression(text)) == text


@given(st.dictionaries(st.sampled_from(list(SERVICE_ALIASES)), expressions, max_size=6), names)
def test_canonical_scope_round_trips(mapping, entry):
    flow = "{" + ", ".join(f"{key}: {loose_text(expr)}" for key, expr in mapping.items()) + "}"
    scope = normalize(flow, CATALOG, entry)
    assert parse_canonical(scope.canonical()) == scope
    assert Scope(parse_scope(scope.canonical())).canonical() == scope.canonical()


@given(expressions)
def test_canonical_form_keeps_the_set_of_locations(expr):
    assert set(parse_expression(format_expression(expr)).locations()) == set(expr.locations())


TOKENS = list("{}(),:&|*\"' \t\\-_.") + ["nova", "glance", "Berlin", "Denver", '"image"', '"Paris"', "x"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_random_text_raises_only_scope_errors(text):
    try:
        parse_scope(text)
    except ScopeError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)


@given(st.text(max_size=60))
def test_arbitrary_unicode_raises_only_scope_errors(text):
    try:
        normalize(text, CATALOG, "Berlin")
    except ScopeError:
        pass


@given(services, names)
def test_aliases_and_case_do_not_change_the_scope(service, name):
    assert normalize({service.upper(): name.lower()}, CATALOG, "Berlin") == normalize(
        f"{{{service}: {name}}}", CATALOG, "Berlin"
    )


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=2, max_value=200))
def test_and_runs_branches_concurrently(width):
    """Each branch waits until every branch has started: a sequential
    evaluator would wait forever in the first branch (and hit the timeout),
    a concurrent one finishes in one round.  No wall-clock threshold."""

    async def scenario():
        started = 0
        all_started = asyncio.Event()

        async def branch(location):
            nonlocal started
            started += 1
            if started == width:
                all_started.set()
            await all_started.wait()
            return location

        expr = AllOf(tuple(Location(f"dc{i}") for i in range(width)))
        return await asyncio.wait_for(evaluate(expr, branch), timeout=30)

    result = asyncio.run(scenario())
    assert result.ok and len(result.values) == width


@given(st.lists(st.booleans(), min_size=1, max_size=10))
def test_or_stops_at_the_first_success(successes):
    calls = []

    async def operation(location):
        calls.append(location)
        if not successes[int(location[2:])]:
            raise ConnectionError("down")
        return location

    expr = AnyOf(tuple(Location(f"dc{i}") for i in range(len(successes))))
    if len(successes) == 1:
        expr = Location("dc0")
    result = asyncio.run(evaluate(expr, operation))
    if True in successes:
        first = successes.index(True)
        assert result.ok and result.value == f"dc{first}"
        assert calls == [f"dc{i}" for i in range(first + 1)]
    else:
        assert not result.ok and len(calls) == len(successes)
