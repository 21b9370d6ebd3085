# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The shared base of oid.cloud's modules, on openstacksdk.

A module talks to the entry DC's interposer (the cloud's catalog points at
it) and sends the scope in ``X-Scope``; it never routes by itself.  To be
idempotent across the locations of its scope, a resource module reads its
resource at each location with the scope narrowed to that location, plans
with :mod:`convergence`, then writes with the scope narrowed to the targets.
"""

from __future__ import absolute_import, division, print_function

import json
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oid.cloud.plugins.module_utils.convergence import (
    creation_targets,
    deletion_targets,
)
from ansible_collections.oid.cloud.plugins.module_utils.policy import followers
from ansible_collections.oid.cloud.plugins.module_utils.scope import (
    LOCATION_KEY,
    AllOf,
    Everywhere,
    Location,
    ScopeError,
    format_expression,
    parse_canonical,
    parse_scope,
    service_type,
)

try:
    import openstack
    from keystoneauth1 import session as ks_session

    HAS_SDK = True
    SDK_IMPORT_ERROR = None
except ImportError as exc:  # reported by fail_json in OidModule
    HAS_SDK = False
    SDK_IMPORT_ERROR = exc

SCOPE_HEADER = "X-Scope"
# The location that answered a request the interposer ran at one location.
LOCATION_HEADER = "X-Oid-Location"
# The interposer answers scope questions here (normalization, '*').
SCOPE_PATH = "/oid/v1/scope"
# Reads and writes at different locations run concurrently, like '&' does.
MAX_PARALLEL_LOCATIONS = 16


def oid_argument_spec(**kwargs):
    spec = dict(
        cloud=dict(type="raw"),
        auth_type=dict(),
        auth=dict(type="dict", no_log=True),
        region_name=dict(),
        validate_certs=dict(type="bool", aliases=["verify"]),
        ca_cert=dict(aliases=["cacert"]),
        client_cert=dict(aliases=["cert"]),
        client_key=dict(no_log=True, aliases=["key"]),
        wait=dict(default=True, type="bool"),
        timeout=dict(default=180, type="int"),
        api_timeout=dict(type="int"),
        interface=dict(default="public", choices=["public", "internal", "admin"], aliases=["endpoint_type"]),
        scope=dict(type="raw"),
    )
    spec.update(kwargs)
    return spec


def scope_text(services):
    """Canonical JSON of a {service type: expression} mapping."""
    return json.dumps(
        dict((stype, format_expression(expr)) for stype, expr in services.items()),
        sort_keys=True,
        separators=(",", ":"),
    )


def has_everywhere(expr):
    if isinstance(expr, Everywhere):
        return True
    return any(has_everywhere(op) for op in getattr(expr, "operands", ()))


def next_page(body, key):
    """The next page of a list body: Glance's ``next`` (relative to its
    version root), or Nova's and Neutron's ``<key>_links`` (absolute)."""
    if body.get("next"):
        url = body["next"]
        return url[len("/v2") :] if url.startswith("/v2/") else url
    for link in body.get(key + "_links") or []:
        if link.get("rel") == "next":
            return link["href"]
    return None


class LocationError(Exception):
    """An operation failed at one location; the module reports it per location."""


class OidModule(object):
    """Base of every module: options, connection, scope, per-location calls.

    Subclasses set ``argument_spec``, ``module_kwargs`` and ``service``
    (the service type their resource lives in) and implement ``run``.
    """

    argument_spec = {}
    module_kwargs = {}
    service = None
    # A module of one cloud's own resources, talking to its Keystone directly
    # (service_account, for the roles), has no scope option.
    scoped = True

    def __init__(self):
        spec = oid_argument_spec(**self.argument_spec)
        if not self.scoped:
            del spec["scope"]
        self.ansible = AnsibleModule(spec, supports_check_mode=True, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.results = dict(changed=False)
        if not HAS_SDK:
            self.ansible.fail_json(msg=missing_required_lib("openstacksdk"), exception=str(SDK_IMPORT_ERROR))
        try:
            self.scope = parse_scope(self.params.get("scope"))
        except ScopeError as exc:
            self.ansible.fail_json(msg=str(exc))
        self.conn = self._connect()

    # -- connections ---------------------------------------------------------

    def _connect(self, cloud=None, **overrides):
        params = self.params
        cloud = cloud or params["cloud"]
        try:
            if isinstance(cloud, dict):
                conn = openstack.connect(**cloud)
            else:
                conn = openstack.connect(
                    cloud=cloud,
                    auth_type=params["auth_type"],
                    auth=params["auth"],
                    region_name=params["region_name"],
                    verify=params["validate_certs"],
                    cacert=params["ca_cert"],
                    key=params["client_key"],
                    cert=params["client_cert"],
                    api_timeout=params["api_timeout"],
                    interface=params["interface"],
                    **overrides,
                )
        except openstack.exceptions.SDKException as exc:
            self.ansible.fail_json(msg="cannot connect: %s" % exc)
        # The token request itself goes through the interposer: the scope's
        # identity decides which Keystone issues it.
        if self.scope:
            conn.session.additional_headers[SCOPE_HEADER] = scope_text(self.scope)
        return conn

    def connection(self, expr=None, service=None, also=None):
        """A connection whose requests carry the module's scope with
        ``service`` (default: the module's) narrowed to ``expr``, the
        services bound to it (policy: a server's network) with it, and the
        services of ``also`` ({service: expression}) narrowed too.

        It shares the entry connection's authentication (one token), so that
        per-location connections cost no extra login.
        """
        services = dict(self.scope)
        if expr is not None:
            stype = service_type(service or self.service)
            # Bound services go with it when the scope put them together; a
            # scope that splits them is sent as it is, for the interposer to
            # refuse (the module never turns a bad collaboration into a good one).
            for bound in followers(stype):
                if bound in services and services[bound] == services.get(stype):
                    services[bound] = expr
            services[stype] = expr
        services.update(also or {})
        base = self.conn.session
        session = ks_session.Session(
            auth=base.auth,
            verify=base.verify,
            cert=base.cert,
            timeout=base.timeout,
            additional_headers={SCOPE_HEADER: scope_text(services)} if services else {},
        )
        return openstack.connection.Connection(
            session=session,
            region_name=self.conn.config.get_region_name(),
            interface=self.params["interface"],
        )

    def location_connection(self, location, service=None):
        """A connection for the module's service (or ``service``) at one location."""
        return self.connection(Location(location), service=service)

    def target_connection(self, target):
        """A connection for a write at ``target`` (a location, or '|' left to the interposer)."""
        return self.connection(target)

    # -- scope ---------------------------------------------------------------

    def expression(self, service=None):
        """The module's service expression, '*' expanded by the interposer.

        Without a scope for the service, the interposer runs it at the entry
        DC; that DC's name comes from the interposer too.
        """
        stype = service_type(service or self.service)
        expr = self.scope.get(stype)
        if expr is None or has_everywhere(expr):
            expr = self.normalized_scope()[stype]
        return expr

    def normalized_scope(self):
        """The scope as the entry interposer normalizes it."""
        endpoint = self.conn.session.get_endpoint(service_type="identity", interface=self.params["interface"])
        base = endpoint.split("/identity", 1)[0]
        response = self.conn.session.get(base + SCOPE_PATH, authenticated=False, raise_exc=False)
        if response.status_code != 200:
            self.ansible.fail_json(msg="the interposer refused the scope: %s" % response.text)
        return parse_canonical(json.dumps(response.json()["scope"])).services

    # -- per-location work ---------------------------------------------------

    def each_location(self, locations, work, service=None):
        """Run ``work(location, connection)`` at every location concurrently,
        the connection narrowed to that location for the module's service (or
        ``service``).

        Returns {location: (True, value)} or {location: (False, message)};
        one location's failure never hides another's result.
        """

        def one(location):
            try:
                conn = self.location_connection(location, service) if service else self.location_connection(location)
                return location, (True, work(location, conn))
            except Exception as exc:  # reported per location, never raised
                return location, (False, "%s: %s" % (type(exc).__name__, exc))

        if not locations:
            return {}
        with ThreadPoolExecutor(max_workers=min(len(locations), MAX_PARALLEL_LOCATIONS)) as pool:
            return dict(pool.map(one, locations))

    def fail_per_location(self, failures, **extra):
        """Fail with what happened at each location, keeping what succeeded."""
        details = "; ".join("%s: %s" % (location, message) for location, message in sorted(failures.items()))
        self.results.update(extra)
        self.ansible.fail_json(msg="failed at %d location(s): %s" % (len(failures), details), **self.results)

    def list_resources(self, adapter, path, key, query=None):
        """One list request through the interposer, every page, each item
        with its location (under '&' the interposer annotates the items;
        otherwise the one location that answered is in a header)."""
        items, url, params = [], path, query
        while url:
            body_response = adapter.get(url, params=params)
            # An '&' with a failed location is an error naming it (the body
            # has each location's outcome), never an empty list.
            openstack.exceptions.raise_from_response(body_response)
            body = body_response.json()
            answered = body_response.headers.get(LOCATION_HEADER)
            for item in body.get(key, []):
                item["location"] = item.pop(LOCATION_KEY, answered)
                items.append(item)
            url, params = next_page(body, key), None
        return items

    def __call__(self):
        try:
            self.run()
        except ScopeError as exc:
            self.ansible.fail_json(msg=str(exc), **self.results)
        except openstack.exceptions.SDKException as exc:
            self.ansible.fail_json(msg=str(exc), **self.results)
        self.ansible.exit_json(**self.results)

    def run(self):
        raise NotImplementedError


class ScopedResourceModule(OidModule):
    """A resource with ``state: present/absent`` kept at every location of
    the scope.  Subclasses implement find, create, delete and, optionally,
    ``updates`` (attribute changes) and ``update``; and ``to_dict``.
    """

    def find(self, conn):
        raise NotImplementedError

    def create(self, conn):
        raise NotImplementedError

    def delete(self, conn, resource):
        raise NotImplementedError

    # Options that map to attributes of the resource and may change after creation.
    mutable = ()
    # True when creating refers to other resources by ids that differ per DC
    # (a server's flavor and network, a subnet's network): then a '|' create
    # cannot be handed to the interposer whole, since the ids must be looked
    # up where it lands; the module creates at the first alternative it could
    # read (a cut-off DC was not read, so it is skipped).
    references_per_location = False

    # Option -> attribute of the openstacksdk resource, where their names differ.
    attribute_names = {}

    def wanted(self):
        """The mutable attributes the module's options ask for."""
        return dict(
            (self.attribute_names.get(key, key), self.params[key])
            for key in self.mutable
            if self.params[key] is not None
        )

    def updates(self, resource):
        """The attributes that differ from the module's options."""
        return dict((key, value) for key, value in self.wanted().items() if getattr(resource, key, None) != value)

    def update(self, conn, resource, changes):
        raise NotImplementedError

    def to_dict(self, resource):
        return resource.to_dict(computed=False) if hasattr(resource, "to_dict") else dict(resource)

    def run(self):
        expr = self.expression()
        locations = expr.locations()
        found = self.each_location(locations, lambda location, conn: self.find(conn))
        state = dict((loc, (outcome[1] is not None) if outcome[0] else None) for loc, outcome in found.items())
        failures = dict((loc, outcome[1]) for loc, outcome in found.items() if not outcome[0])
        report = dict((loc, dict(present=state[loc])) for loc in locations)
        before = dict(
            (loc, self.to_dict(outcome[1])) for loc, outcome in found.items() if outcome[0] and outcome[1] is not None
        )

        if self.params["state"] == "present":
            targets = creation_targets(expr, state)
            existing = [loc for loc in locations if state[loc]]
            self._present(targets, existing, found, report, failures)
        else:
            self._absent(deletion_targets(expr, state), found, report, failures)

        after = dict((loc, entry["resource"]) for loc, entry in report.items() if entry.get("resource") is not None)
        self.results["locations"] = report
        self.results["diff"] = dict(before=before, after=after)
        # Unknown locations that a plan did not need (an '|' satisfied
        # elsewhere) are reported, not failed.
        relevant = dict((loc, msg) for loc, msg in failures.items() if report.get(loc, {}).get("needed", False))
        if relevant:
            self.fail_per_location(relevant)

    def _present(self, targets, existing, found, report, failures):
        for location in existing:
            resource = found[location][1]
            changes = self.updates(resource)
            report[location].update(changed=bool(changes), resource=self.to_dict(resource))
            if changes:
                self.results["changed"] = True
                if not self.check_mode:
                    conn = self.location_connection(location)
                    report[location]["resource"] = self.to_dict(self.update(conn, resource, changes))
        for target in targets:
            if self.references_per_location and not isinstance(target, Location):
                target = self.first_readable(target, found)
            for location in target.locations():
                report.setdefault(location, {})["needed"] = location in failures or isinstance(target, Location)
            self.results["changed"] = True
            if self.check_mode:
                continue
            try:
                created = self.create(self.target_connection(target))
            except Exception as exc:
                for location in target.locations():
                    failures[location] = "%s: %s" % (type(exc).__name__, exc)
                    report[location]["needed"] = True
                continue
            where = self.created_at(target, created)
            report.setdefault(where, {}).update(changed=True, present=True, resource=self.to_dict(created))

    def first_readable(self, target, found):
        """The first location of an alternative that answered the read, or
        the whole alternative when none did (its failures are reported)."""
        for location in target.locations():
            if found.get(location, (False,))[0]:
                return Location(location)
        return target

    def created_at(self, target, created):
        """The location where a create under ``target`` landed: the target
        itself, or for '|' (the interposer chose) the first alternative that
        now has it."""
        if isinstance(target, Location):
            return target.name
        found = self.each_location(target.locations(), lambda location, conn: self.find(conn))
        for location in target.locations():
            ok, value = found[location]
            if ok and value is not None:
                return location
        return format_expression(target)

    def _absent(self, targets, found, report, failures):
        for location in targets:
            report[location]["needed"] = True
            outcome = found[location]
            if not outcome[0]:
                continue  # unknown: reported as a failure, nothing deleted blindly
            self.results["changed"] = True
            report[location].update(changed=True, present=False)
            if self.check_mode:
                continue
            try:
                self.delete(self.location_connection(location), outcome[1])
            except Exception as exc:
                failures[location] = "%s: %s" % (type(exc).__name__, exc)


class ImageFromScope(object):
    """For resources made from an image (a server, a volume): the image is
    looked up by name or id at the locations of the scope's C(image)
    expression, in order; the first one that has it gives the id the
    service is asked for, and the service fetches it through the
    interposer with the same scope."""

    _image = None

    def image_at(self):
        """(location, id) of the image named by the ``image`` option."""
        if self._image is None:
            expr = self.expression("image")
            locations = expr.locations()
            found = self.each_location(
                locations,
                lambda location, conn: conn.image.find_image(self.params["image"], ignore_missing=True),
                service="image",
            )
            for location in locations:
                ok, image = found[location]
                if ok and image is not None:
                    self._image = (location, image.id)
                    break
            else:
                reasons = "; ".join(
                    "%s: %s" % (location, found[location][1] if not found[location][0] else "not there")
                    for location in locations
                )
                raise LocationError(
                    "image %r is at no location of %s (%s)" % (self.params["image"], format_expression(expr), reasons)
                )
        return self._image

    def target_connection(self, target):
        also = None
        if self.params.get("image") and isinstance(self.expression("image"), AllOf):
            # Under '&' the service's read of one image would need it at
            # every location, under one id: use the copy the module chose.
            also = dict(image=Location(self.image_at()[0]))
        return self.connection(target, also=also)


class IdentityResourceModule(ScopedResourceModule):
    """A Keystone resource kept at every Keystone of the scope's ``identity``.

    Keystones share nothing, so every location needs a token of its own:
    each is authenticated with ``clouds[location]`` (one clouds.yaml entry
    per DC) or, by default, with the module's own credentials sent to that
    Keystone (the entry interposer routes the token request by the scope).
    For the same reason ``|`` is tried here, left to right, rather than by
    the interposer: a token of one Keystone means nothing at another.
    """

    service = "identity"

    def __init__(self):
        self._identity_connections = {}
        self._chosen = {}
        super(IdentityResourceModule, self).__init__()

    def location_connection(self, location):
        if location not in self._identity_connections:
            clouds = self.params.get("clouds") or {}
            if location in clouds:
                conn = self._connect(cloud=clouds[location])
            else:
                # The module's credentials, logged in at that Keystone through
                # the entry: the token's catalog is that DC's (its region, its
                # URLs), so Keystone calls go where the login went instead.
                conn = self._connect(identity_endpoint_override=self.conn.config.get_auth_args()["auth_url"])
            services = dict(self.scope)
            services["identity"] = Location(location)
            conn.session.additional_headers[SCOPE_HEADER] = scope_text(services)
            self._identity_connections[location] = conn
        return self._identity_connections[location]

    def target_connection(self, target):
        if isinstance(target, Location):
            return self.location_connection(target.name)
        errors = []
        for location in target.locations():
            conn = self.location_connection(location)
            try:
                conn.authorize()
                self._chosen[target] = location
                return conn
            except openstack.exceptions.SDKException as exc:
                errors.append("%s: %s" % (location, exc))
        raise LocationError("no Keystone of %s answered: %s" % (format_expression(target), "; ".join(errors)))

    def created_at(self, target, created):
        if isinstance(target, Location):
            return target.name
        return self._chosen.get(target, format_expression(target))
