# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The policy of good and bad collaborations: which services may be split
across DCs, for which operations.  One table, read by the interposer (which
refuses before forwarding anything) and by the modules.

A *bound* service runs where the service it is bound to runs, because the
two share state that does not cross DCs:

- placement is bound to compute for writes: Nova schedules (a boot, a resize,
  a migration) on its own DC's Placement inventory, and another DC's Placement
  knows none of this DC's hypervisors; Nova's reads (a list of servers) never
  ask Placement, so a scope that names another Placement does not stop them
  (the proof of concept's clients fill every service of a scope, Placement
  included, with the entry's DC);
- network is bound to compute for writes: a server's ports are bound to this
  DC's hypervisors by this DC's Neutron; a network local to another DC
  cannot be plugged here;
- volume is bound to compute for writes: attaching a volume is an iSCSI/RBD
  connection from the hypervisor to the DC's own storage.

Every other split is allowed: an image from another DC (Nova and
nova-compute download it through the interposer), a token from another
DC's Keystone (validated there by the paste filters), lists under ``&``.

But a service without oid's paste filters validates only its own DC's
tokens: Placement (15 ships no api-paste.ini: its middleware is built in
code, so the filters cannot be inserted). A request to Placement elsewhere
than the scope's Keystone is refused with the reason, instead of the 401
Placement would answer; with a token of that DC (``{keystone: Denver,
placement: Denver}``) it goes.

When a scope leaves a bound service out, it follows the service it is bound
to (``{nova: Denver}`` entered in Berlin uses Denver's network); when the
scope puts them in different places, a request to the service they are bound
to (Nova's: a boot, an attach) is refused with the reason, before it reaches
Nova. A request to the bound service alone (a network made in Denver from
Berlin's entry, Denver's Placement read) plugs nothing into another DC's
hypervisors and is allowed; Nova's own calls to it never happen, since the
request that would make them was refused at the entry.
"""

from __future__ import absolute_import, division, print_function

# Relative import: this file is also imported as oid.policy (a link) by
# the interposer, outside Ansible's ansible_collections package.
import json

from .scope import ScopeError, Scope, format_expression

READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))

# (bound service, service it is bound to, bound for reads too?, reason)
BINDINGS = (
    (
        "placement",
        "compute",
        False,
        "Nova schedules on its own DC's Placement inventory; another DC's Placement knows none of its hypervisors",
    ),
    (
        "network",
        "compute",
        False,
        "a server's ports are bound to its DC's hypervisors by that DC's Neutron; a "
        "network of another DC cannot be plugged in",
    ),
    (
        "volume",
        "compute",
        False,
        "a volume is attached over the DC's own storage network; a volume of another DC cannot be attached",
    ),
)


# Services that accept only their own DC's Keystone's tokens, and why.
OWN_TOKENS_ONLY = {
    "placement": "Placement has no paste pipeline for oid's filters (it ships no api-paste.ini), "
    "so it accepts only its own DC's tokens",
}


def followers(stype):
    """The services bound to ``stype``: they follow it where a scope omits them."""
    return [bound for bound, leader, _reads, _reason in BINDINGS if leader == stype]


def default_expressions(given):
    """Expressions for services a scope omits, taken from what they are bound to.

    ``given`` is the parsed scope ({service type: expression}); the result
    maps each omitted bound service to its leader's expression.
    """
    return dict(
        (bound, given[leader]) for bound, leader, _reads, _reason in BINDINGS if bound not in given and leader in given
    )


class PolicyError(ScopeError):
    """A scope that would make a bad collaboration."""


def check(scope, service, method):
    """Refuse ``method`` on ``service`` under ``scope`` if the policy forbids it.

    Raises PolicyError naming the services, their locations and the reason.
    """
    if not isinstance(scope, Scope):
        raise TypeError("check() takes a normalized Scope")
    _check_own_tokens(scope, service, method)
    is_read = method.upper() in READ_METHODS
    for bound, leader, for_reads, reason in BINDINGS:
        if service != leader or (is_read and not for_reads):
            continue
        if bound not in scope.services or leader not in scope.services:
            continue
        if scope.services[bound] != scope.services[leader]:
            raise PolicyError(
                "%s at %s with %s at %s is refused for %s %s: %s"
                % (
                    leader,
                    format_expression(scope.services[leader]),
                    bound,
                    format_expression(scope.services[bound]),
                    method.upper(),
                    service,
                    reason,
                )
            )


def _check_own_tokens(scope, service, method):
    reason = OWN_TOKENS_ONLY.get(service)
    identity = scope.services.get("identity")
    if reason is None or identity is None or service not in scope.services:
        return
    keystones = identity.locations()
    if len(keystones) == 1 and set(scope.services[service].locations()) == set(keystones):
        return
    where = format_expression(scope.services[service])
    raise PolicyError(
        "%s at %s with identity at %s is refused for %s %s: %s; log in at that DC's Keystone ({keystone: %s, %s: %s})"
        % (service, where, format_expression(identity), method.upper(), service, reason, where, service, where)
    )


# The services each service calls with the user's token (so with the
# request's scope) while it serves a request; its own service accounts'
# calls (Neutron's port events to Nova, Nova's to Placement) carry no scope.
# Identity is in every row: the paste filters validate the token at the
# Keystone the scope's identity names.
CALLS = {
    "compute": ("identity", "image", "network", "volume", "placement"),
    "image": ("identity",),
    "identity": ("identity",),
    "network": ("identity",),
    "placement": ("identity",),
    "volume": ("identity", "image", "compute"),
}


def _kept(scope, service):
    kept = set(CALLS.get(service, ())) | set(followers(service)) | {service}
    return [stype for stype in scope.services if stype in kept]


def narrow(scope, service, location_expr):
    """The scope forwarded for one branch of ``service``: the service and
    every service bound to it run at ``location_expr``; of the others, only
    those ``service`` calls with the user's scope (CALLS) are kept. A branch
    of ``{nova: *, glance: *}``'s image list carries two locations, not the
    thousand of compute's ``*`` (which made every branch's scope O(N), the
    fan-out O(N^2), and the scope past its size limit near 1000 DCs)."""
    services = dict((stype, scope.services[stype]) for stype in _kept(scope, service))
    services[service] = location_expr
    for bound in followers(service):
        if bound in services:
            services[bound] = location_expr
    return Scope(services)


class Narrowing(object):
    """``narrow(scope, service, Location(name)).canonical()`` for every branch
    of one request, with what does not depend on the branch done once (an
    '&' over 1000 DCs formats the other services' expressions once, not 1000
    times)."""

    def __init__(self, scope, service):
        self.moved = [service] + [bound for bound in followers(service) if bound in scope.services]
        self.fixed = dict(
            (stype, format_expression(scope.services[stype]))
            for stype in _kept(scope, service)
            if stype not in self.moved
        )

    def canonical(self, location):
        services = dict(self.fixed)
        for stype in self.moved:
            services[stype] = location
        return json.dumps(services, sort_keys=True, separators=(",", ":"))
