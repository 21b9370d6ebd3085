# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The scope language of oid: one implementation for modules, interposer and filters.

A scope says, per OpenStack service, at which locations (DCs) a request runs:

    {nova: Berlin, glance: Denver|Paris}
    {"compute": "CloudOne", "image": "CloudTwo"}     (the proof-of-concept's JSON form)

Values are expressions over location names: ``A&B`` (here AND there,
concurrently), ``A|B`` (here, or else there), parentheses and ``*`` (every
location of the catalog offering the service).  ``&`` binds tighter than ``|``.

This module is pure Python (standard library only, PyYAML lazily for catalog
files) so that it can be imported by Ansible modules, by the interposer and by
paste filters mounted into Kolla's API containers.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field

# Service types and the names operators use for them.  Keys of a scope are
# normalized to the service type (the left column).
SERVICE_ALIASES = {
    "compute": ("nova",),
    "image": ("glance",),
    "identity": ("keystone",),
    "network": ("neutron",),
    "placement": (),
    "volume": ("cinder", "block-storage", "block_storage", "volumev3"),
}
_SERVICE_BY_NAME = {alias: stype for stype, aliases in SERVICE_ALIASES.items() for alias in (stype,) + aliases}

# Hard bounds: a scope travels in HTTP headers and is parsed on every hop.
MAX_SCOPE_LENGTH = 8192
MAX_EXPRESSION_DEPTH = 32

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_WHITESPACE = " \t\r\n"


class ScopeError(ValueError):
    """A scope that cannot be used, with a message fit for an operator.

    ``position`` is the 0-based offset in the scope text where the problem
    was found, or None when the problem is not about one place (an unknown
    location in a mapping, for instance).
    """

    def __init__(self, message, position=None, text=None):
        self.message = message
        self.position = position
        self.text = text
        super().__init__(str(self))

    def __str__(self):
        if self.position is None:
            return "bad scope: %s" % self.message
        return "bad scope at position %d: %s" % (self.position, self.message)


# ---------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    name: str

    def locations(self):
        return [self.name]


@dataclass(frozen=True)
class Everywhere:
    """``*``: every location of the catalog offering the service."""

    def locations(self):
        raise ScopeError("'*' must be expanded against a catalog first")


@dataclass(frozen=True)
class AllOf:
    """``A & B``: run at every operand, concurrently."""

    operands: tuple

    def locations(self):
        return _unique(loc for op in self.operands for loc in op.locations())


@dataclass(frozen=True)
class AnyOf:
    """``A | B``: run at the first operand that succeeds, left to right."""

    operands: tuple

    def locations(self):
        return _unique(loc for op in self.operands for loc in op.locations())


def _unique(items):
    """Items in order, later duplicates dropped; a dict keeps insertion order
    and finds a duplicate in O(1) (a list scan made a hostile scope of
    thousands of operands quadratic)."""
    return list(dict.fromkeys(items))


def format_expression(expr):
    """Canonical text of an expression: no spaces, parentheses only where needed."""
    if isinstance(expr, Location):
        return expr.name
    if isinstance(expr, Everywhere):
        return "*"
    if isinstance(expr, AllOf):
        return "&".join(
            "(%s)" % format_expression(op) if isinstance(op, AnyOf) else format_expression(op) for op in expr.operands
        )
    return "|".join(format_expression(op) for op in expr.operands)


def _all_of(operands):
    """Build ``&``: flattened, duplicates dropped, sorted (``&`` is commutative)."""
    flat = []
    for op in operands:
        flat.extend(op.operands if isinstance(op, AllOf) else (op,))
    unique = sorted(set(flat), key=format_expression)
    return unique[0] if len(unique) == 1 else AllOf(tuple(unique))


def _any_of(operands):
    """Build ``|``: flattened, later duplicates dropped, order kept (``|`` is ordered)."""
    flat = _unique(item for op in operands for item in (op.operands if isinstance(op, AnyOf) else (op,)))
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


class _Reader:
    """A cursor over the scope text; ``offset`` maps positions of a quoted
    value back to the position in the whole scope."""

    def __init__(self, text, offset=0, full_text=None):
        self.text = text
        self.pos = 0
        self.offset = offset
        self.full_text = text if full_text is None else full_text

    def error(self, message, at=None):
        pos = self.pos if at is None else at
        return ScopeError(message, self.offset + pos, self.full_text)

    def skip_space(self):
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self):
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def describe_next(self):
        char = self.peek()
        return "end of scope" if not char else repr(char)

    def expect(self, char, what):
        if self.peek() != char:
            raise self.error("expected %s, found %s" % (what, self.describe_next()))
        self.pos += 1

    def name(self, what):
        self.skip_space()
        match = _NAME_RE.match(self.text, self.pos)
        if not match:
            raise self.error("expected %s, found %s" % (what, self.describe_next()))
        self.pos = match.end()
        return match.group(0), match.start()


def _parse_or(reader, depth):
    operands = [_parse_and(reader, depth)]
    while reader.peek() == "|":
        reader.pos += 1
        operands.append(_parse_and(reader, depth))
    return _any_of(operands)


def _parse_and(reader, depth):
    operands = [_parse_atom(reader, depth)]
    while reader.peek() == "&":
        reader.pos += 1
        operands.append(_parse_atom(reader, depth))
    return _all_of(operands)


def _parse_atom(reader, depth):
    char = reader.peek()
    if char == "(":
        if depth >= MAX_EXPRESSION_DEPTH:
            raise reader.error("parentheses nested deeper than %d" % MAX_EXPRESSION_DEPTH)
        reader.pos += 1
        inner = _parse_or(reader, depth + 1)
        reader.expect(")", "')'")
        return inner
    if char == "*":
        reader.pos += 1
        return Everywhere()
    name, _position = reader.name("a location name, '*' or '('")
    return Location(name)


def parse_expression(text, _offset=0, _full_text=None):
    """Parse a location expression such as ``Denver|Paris`` or ``(A|B)&C``."""
    if not isinstance(text, str):
        raise ScopeError("a location expression must be a string, not %s" % type(text).__name__)
    _check_length(text)
    reader = _Reader(text, _offset, _full_text)
    if not reader.peek():
        raise reader.error("empty location expression")
    expr = _parse_or(reader, 0)
    if reader.peek():
        raise reader.error("expected '&', '|' or the end of the expression, found %s" % reader.describe_next())
    return expr


def service_type(name, position=None, text=None):
    """The service type a scope key stands for (``nova`` -> ``compute``)."""
    stype = _SERVICE_BY_NAME.get(name.lower())
    if stype is None:
        raise ScopeError(
            "unknown service %r; known services: %s" % (name, ", ".join(sorted(_SERVICE_BY_NAME))),
            position,
            text,
        )
    return stype


def _check_length(text):
    if len(text) > MAX_SCOPE_LENGTH:
        raise ScopeError("scope longer than %d characters" % MAX_SCOPE_LENGTH)


def _read_key(reader):
    if reader.peek() == '"':
        start = reader.pos
        key, _value_start = _read_quoted(reader)
        return key, start
    return reader.name("a service name")


def _read_quoted(reader):
    """A JSON string; returns its value and the position of its first character."""
    start = reader.pos
    try:
        value, end = json.JSONDecoder().raw_decode(reader.text, start)
    except ValueError:
        raise reader.error("unterminated or invalid quoted string") from None
    if not isinstance(value, str):  # pragma: no cover - raw_decode at '"' yields a str
        raise reader.error("expected a quoted string")
    reader.pos = end
    return value, start + 1


def _read_value(reader):
    """A location expression, bare (up to ',' or '}') or quoted (the JSON form)."""
    if reader.peek() == '"':
        value, start = _read_quoted(reader)
        # Positions inside a JSON string are exact unless it holds escapes.
        return parse_expression(value, reader.offset + start, reader.full_text)
    return _parse_or(reader, 0)


def parse_scope(scope):
    """Parse a scope given as text (flow or JSON form) or as a mapping.

    Returns a dict {service type: expression}.  Keys are normalized to
    service types; locations are not checked (see :func:`normalize`).
    ``None`` and the empty string mean "no scope": an empty dict.
    """
    if scope is None:
        return {}
    if isinstance(scope, dict):
        return _parse_mapping(scope)
    if not isinstance(scope, str):
        raise ScopeError("a scope must be a string or a mapping, not %s" % type(scope).__name__)
    _check_length(scope)
    reader = _Reader(scope)
    if not reader.peek():
        return {}
    braced = reader.peek() == "{"
    if braced:
        reader.pos += 1
    result = {}
    while reader.peek() not in ("}", ""):
        key, key_pos = _read_key(reader)
        stype = service_type(key, key_pos, scope)
        if stype in result:
            raise ScopeError("service %r given twice (as %r)" % (stype, key), key_pos, scope)
        reader.expect(":", "':' after the service name")
        result[stype] = _read_value(reader)
        if reader.peek() != ",":
            break
        reader.pos += 1
    if braced:
        reader.expect("}", "',' or '}'")
    if reader.peek():
        raise reader.error("unexpected %s after the scope" % reader.describe_next())
    return result


def _parse_mapping(mapping):
    result = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ScopeError("service names must be strings, not %r" % (key,))
        stype = service_type(key)
        if stype in result:
            raise ScopeError("service %r given twice (as %r)" % (stype, key))
        if isinstance(value, (list, tuple)):
            # YAML convenience: a list means "all of these".
            value = "&".join(str(v) for v in value)
        try:
            result[stype] = parse_expression(value)
        except ScopeError as exc:
            raise ScopeError("in %s: %s" % (key, exc.message)) from None
    return result


# ---------------------------------------------------------------------------
# Catalog and normalization
# ---------------------------------------------------------------------------


@dataclass
class Site:
    """One location of the inter-DC catalog.

    ``services`` maps each service type the location offers to its local
    endpoint URL (Kolla's internal URL), or None when only its presence is
    known.  ``extra`` keeps every other key of the catalog entry so that the
    parts that need more (interposer URL, timeouts, Keystone account) read it
    from the same catalog.
    """

    name: str
    services: dict
    extra: dict = field(default_factory=dict)


class Catalog:
    """The inter-DC catalog: the locations of the federation and their services.

    File format (YAML or JSON)::

        locations:
          Berlin:
            services:               # a list of service names or types ...
              - nova
              - glance
          Denver:
            services:               # ... or a mapping type -> local endpoint
              compute: http://10.0.2.10:8774/v2.1
              image: http://10.0.2.10:9292
    """

    def __init__(self, sites):
        if not sites:
            raise ScopeError("the catalog has no location")
        self.sites = {site.name: site for site in sites}
        self._by_folded_name = {}
        for site in sites:
            folded = site.name.lower()
            if folded in self._by_folded_name:
                raise ScopeError("the catalog names location %r twice" % site.name)
            self._by_folded_name[folded] = site.name

    @classmethod
    def from_mapping(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("locations"), dict):
            raise ScopeError("a catalog is a mapping with a 'locations' mapping")
        sites = []
        for name, entry in data["locations"].items():
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise ScopeError("invalid location name in the catalog: %r" % (name,))
            entry = dict(entry or {})
            services = entry.pop("services", None)
            if services is None:
                raise ScopeError("catalog location %r lists no services" % name)
            if not isinstance(services, dict):
                services = dict.fromkeys(services)
            normalized = {service_type(str(key)): url for key, url in services.items()}
            sites.append(Site(name, normalized, entry))
        return cls(sites)

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        try:
            if path.endswith(".json"):
                data = json.loads(text)
            else:
                import yaml  # only needed for YAML catalogs; PyYAML is in every Kolla image

                # libyaml's loader where PyYAML has it: a 1000-DC catalog loads 7-17x faster.
                data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except ValueError as exc:  # JSONDecodeError and YAMLError's subclasses alike
            raise ScopeError("catalog %s is not valid: %s" % (path, exc)) from None
        except Exception as exc:  # yaml.YAMLError does not derive from ValueError
            raise ScopeError("catalog %s is not valid YAML: %s" % (path, " ".join(str(exc).split()))) from None
        return cls.from_mapping(data)

    @property
    def names(self):
        return sorted(self.sites)

    @property
    def first(self):
        """The first location in the catalog's own order."""
        return next(iter(self.sites))

    def resolve(self, name):
        """The catalog's spelling of a location name (names are case-insensitive)."""
        resolved = self._by_folded_name.get(name.lower())
        if resolved is None:
            raise ScopeError("unknown location %r; known locations: %s" % (name, ", ".join(self.names)))
        return resolved

    def offering(self, stype):
        return [name for name in self.names if stype in self.sites[name].services]


class Scope:
    """A normalized scope: every known service type mapped to an expression
    whose locations exist in the catalog and offer that service."""

    def __init__(self, services):
        self.services = dict(services)

    def __getitem__(self, stype):
        return self.services[service_type(stype)]

    def __eq__(self, other):
        return isinstance(other, Scope) and self.services == other.services

    def __hash__(self):
        return hash(self.canonical())

    def __repr__(self):
        return "Scope(%s)" % self.canonical()

    def locations(self, stype):
        return self[stype].locations()

    def as_dict(self):
        return {stype: format_expression(expr) for stype, expr in sorted(self.services.items())}

    def canonical(self):
        """Stable, compact, sorted JSON; parses back to an equal scope."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))


def normalize(scope, catalog, entry, defaults=None):
    """Check ``scope`` against ``catalog`` and complete it.

    Services the scope leaves out run at ``entry`` (the DC where the request
    entered the federation), unless ``defaults(parsed)`` gives them another
    expression (the policy makes bound services follow the service they are
    bound to); ``*`` becomes every location offering the service; names
    take the catalog's spelling.  Returns a :class:`Scope`.
    """
    parsed = scope.services if isinstance(scope, Scope) else parse_scope(scope)
    entry_name = catalog.resolve(entry)
    implied = defaults(parsed) if defaults is not None else {}
    result = {}
    for stype in SERVICE_ALIASES:
        expr = parsed.get(stype)
        if expr is not None:
            result[stype] = _resolve(expr, stype, catalog)
            continue
        try:
            # A default only holds where every location it names offers the service.
            result[stype] = _resolve(implied[stype], stype, catalog)
            continue
        except (KeyError, ScopeError):
            pass
        if stype in catalog.sites[entry_name].services:
            result[stype] = Location(entry_name)
    return Scope(result)


def _resolve(expr, stype, catalog):
    if isinstance(expr, Everywhere):
        offering = catalog.offering(stype)
        if not offering:
            raise ScopeError("'*' for %s: no location of the catalog offers it" % stype)
        return _all_of([Location(name) for name in offering])
    if isinstance(expr, Location):
        name = catalog.resolve(expr.name)
        if stype not in catalog.sites[name].services:
            raise ScopeError(
                "location %r offers no %s service; locations offering it: %s"
                % (name, stype, ", ".join(catalog.offering(stype)) or "none")
            )
        return Location(name)
    operands = [_resolve(op, stype, catalog) for op in expr.operands]
    return _all_of(operands) if isinstance(expr, AllOf) else _any_of(operands)


def parse_canonical(text):
    """Parse a scope already normalized upstream (a downstream hop never guesses)."""
    return Scope(parse_scope(text))


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


class Unreachable(Exception):
    """The location was skipped: it is known to be cut off."""


@dataclass
class Outcome:
    """What happened at one location."""

    location: str
    ok: bool
    value: object = None
    error: BaseException | None = None
    skipped: bool = False

    def describe(self):
        if self.ok:
            return "ok"
        if self.skipped:
            return "skipped: known to be unreachable"
        if self.error is not None:
            return "%s: %s" % (type(self.error).__name__, self.error)
        return "failed: %r" % (self.value,)


@dataclass
class Result:
    """The result of an expression.

    ``values`` holds (location, value) for every location whose answer makes
    the result (all operands of ``&``, the winning operand of ``|``);
    ``outcomes`` holds every location that was tried or skipped, in order.
    """

    ok: bool
    values: list
    outcomes: list

    @property
    def value(self):
        """The single value of a one-location result."""
        if len(self.values) != 1:
            raise ValueError("result has %d values, not one" % len(self.values))
        return self.values[0][1]

    @property
    def failures(self):
        return [outcome for outcome in self.outcomes if not outcome.ok]


def _never_failed(value):
    return False


async def evaluate(expr, operation, is_failure=_never_failed, is_available=None, partial=False):
    """Run ``await operation(location)`` over ``expr``.

    ``&`` runs its operands concurrently and succeeds when all do (with
    ``partial``, when any does: the reachable part); ``|`` tries operands
    left to right and stops at the first success.  An exception, or a value
    for which ``is_failure(value)`` is true, is a failure.  Locations for
    which ``is_available(location)`` is false are not called at all (the
    caller knows they are cut off) and count as failures.
    """
    if isinstance(expr, Location):
        return await _evaluate_location(expr.name, operation, is_failure, is_available)
    if isinstance(expr, AllOf):
        # A location operand is evaluated directly: one coroutine less per
        # branch, which shows in an '&' over a thousand.
        results = await asyncio.gather(
            *(
                _evaluate_location(op.name, operation, is_failure, is_available)
                if isinstance(op, Location)
                else evaluate(op, operation, is_failure, is_available, partial)
                for op in expr.operands
            )
        )
        return Result(
            ok=any(r.ok for r in results) if partial else all(r.ok for r in results),
            values=[pair for r in results for pair in r.values],
            outcomes=[o for r in results for o in r.outcomes],
        )
    if isinstance(expr, AnyOf):
        outcomes = []
        for op in expr.operands:
            result = await evaluate(op, operation, is_failure, is_available, partial)
            outcomes.extend(result.outcomes)
            if result.ok:
                return Result(True, result.values, outcomes)
        return Result(False, [], outcomes)
    raise ScopeError("cannot evaluate %s: normalize the scope first" % format_expression(expr))


async def _evaluate_location(name, operation, is_failure, is_available):
    if is_available is not None and not is_available(name):
        outcome = Outcome(name, ok=False, error=Unreachable(name), skipped=True)
        return Result(False, [], [outcome])
    try:
        value = await operation(name)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure of one location is reported, never raised
        return Result(False, [], [Outcome(name, ok=False, error=exc)])
    if is_failure(value):
        return Result(False, [], [Outcome(name, ok=False, value=value)])
    return Result(True, [(name, value)], [Outcome(name, ok=True, value=value)])


# ---------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------

LOCATION_KEY = "oid_location"


def collection_keys(body):
    """The keys of a JSON body that hold the listed resources.

    OpenStack APIs answer a list request with one top-level key holding a
    list of objects (``servers``, ``images``, ``networks``, ``users``,
    ``resource_providers``, ...) next to metadata such as ``links`` or
    ``next``.  The rule is derived from the shape, not from a list of names:
    a key whose value is a list of mappings, other than the link keys.
    """
    if not isinstance(body, dict):
        return []
    return [
        key
        for key, value in body.items()
        if isinstance(value, list) and not key.endswith("links") and all(isinstance(item, dict) for item in value)
    ]


def merge_lists(bodies, location_key=LOCATION_KEY):
    """Merge list bodies from several locations into one body of the same type.

    ``bodies`` is a list of (location, body).  Items are concatenated in the
    order of the bodies and annotated with ``location_key``.  Pagination
    keys cannot be merged across locations and are dropped; every other
    scalar key is kept from the first body.  Raises ValueError when the
    bodies are not lists of the same kind.
    """
    if not bodies:
        raise ValueError("nothing to merge")
    kinds = {tuple(sorted(collection_keys(body))) for _location, body in bodies}
    if len(kinds) != 1 or not next(iter(kinds)):
        raise ValueError("responses are not lists of the same kind: %s" % sorted(kinds))
    keys = next(iter(kinds))
    merged = {
        key: value
        for key, value in bodies[0][1].items()
        if key not in keys and not key.endswith("links") and key not in ("next", "first", "schema")
    }
    for key in keys:
        merged[key] = [dict(item, **{location_key: location}) for location, body in bodies for item in body[key]]
    return merged
