"""Paste filters that let an OpenStack API accept scopes and other DCs' tokens.

Inserted into a service's api-paste.ini by configuration only (see
:mod:`oid.paste.pipeline`); the service's code is untouched.  Only webob,
keystonemiddleware, keystoneauth1 and oslo.config (all in Kolla's API images)
and oid.scope are imported, so the overlay can mount this package as is.

``oid_scope`` (before auth): takes the scope from ``X-Scope`` or the token's
``!SCOPE!`` suffix, hands authentication a clean token, and drops internal
``X-Oid-*`` headers unless the request carries this DC's secret (only its
interposer has it; ``oid_federation_secret_file`` names its file).

``oid_auth`` (in place of ``authtoken``): validates the token at the Keystone
the scope's ``identity`` names, among the catalog's Keystones only: the
local Keystone with the service's own ``[keystone_authtoken]`` (stock
keystonemiddleware), every other one with an auth_token instance of its own,
created on first use, validating through this DC's interposer
(``oid_interposer``) and that Keystone's DC's: no account of this DC anywhere
but in its own Keystone (oid/interposer/validation.py).  The old model's
accounts at other Keystones (``oid_keystones``) are refused at start
(docs/identity.md, migration).  After authentication it shows the service its own
DC's catalog and puts the scope back on the token, so the service's own calls
(Nova to Glance, nova-compute downloading an image) carry it.

Both re-read the catalog and this DC's secret when one
of the files changes (``Watched``: checked at most once every
``oid_reload_seconds``, 1 by default): adding a DC reloads the catalog of
the others without restarting any OpenStack service.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import webob
import webob.dec
import webob.exc
from keystoneauth1 import access as ks_access
from keystonemiddleware import auth_token
from keystonemiddleware.auth_token import _user_plugin

from oid.entry import (
    AUTH_HEADER,
    ORIGIN_HEADER,
    SCOPE_HEADER,
    TOKEN_SCOPE_SEPARATOR,
    BadPath,
    entry_scope,
    normalize_path,
    secret_matches,
    split_token,
    wsgi_raw_path,
)
from oid.scope import SERVICE_ALIASES, Catalog, ScopeError

log = logging.getLogger(__name__)

TOKEN_HEADERS = ("X-Auth-Token", "X-Service-Token")
ENV_SCOPE = "oid.scope"
ENV_ORIGIN = "oid.origin"
ENV_SERVICE_IDENTITY = "oid.service_identity"
# Catalog paths appended to the interposer's URL for each service type, the
# way Kolla registers its endpoints.
VERSION_SUFFIX = {"compute": "/v2.1", "identity": "/v3", "volume": "/v3"}


def _read_secret(conf):
    if conf.get("oid_federation_secret_file"):
        with open(conf["oid_federation_secret_file"], encoding="utf-8") as handle:
            return handle.read().strip()
    return conf.get("oid_federation_secret", "")


def _oid_options(global_conf, local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    missing = [key for key in ("oid_catalog", "oid_location") if not conf.get(key)]
    if missing:
        raise ValueError(f"oid paste filter: missing option(s) {', '.join(missing)}")
    if "oid_keystones" in conf:
        # An api-paste.ini of the old trust model, kept past an upgrade: accounts
        # at other DCs' Keystones are what the new model removes, so the service
        # stops with the reason rather than validating with them.
        raise ValueError(
            "oid paste filter: oid_keystones (accounts at other DCs' Keystones) is no longer supported; "
            "other Keystones are validated through this DC's interposer (oid_interposer): run site.yml "
            "to rewrite this api-paste.ini (docs/identity.md, migration)"
        )
    return conf


class Watched:
    """What ``load()`` makes of some files, made again when one of them changes
    (inode, size or modification time: Ansible replaces a file by renaming a
    new one over it), checked at most once every ``interval`` seconds: a
    stat() per file per second, whatever the request rate. A new version that
    cannot be loaded is logged and the previous one kept."""

    def __init__(self, paths, load, interval=1.0, clock=time.monotonic):
        self.paths = [path for path in paths if path]
        self.load = load
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._signature = self.signature()
        self.value = load()  # at start, a bad file is the service's error, as before
        self._checked = clock()

    def signature(self):
        signature = []
        for path in self.paths:
            try:
                stat = os.stat(path)
            except OSError:
                signature.append(None)
            else:
                signature.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return tuple(signature)

    def current(self):
        if self.clock() - self._checked < self.interval:
            return self.value
        with self._lock:
            if self.clock() - self._checked >= self.interval:
                self._checked = self.clock()
                signature = self.signature()
                if signature != self._signature:
                    self._signature = signature  # a bad version is reported once, not every second
                    try:
                        self.value = self.load()
                        log.info("oid: reloaded %s", ", ".join(self.paths))
                    except Exception as exc:  # noqa: BLE001 - any error: the running version stays
                        log.error("oid: cannot reload %s, keeping the previous version: %s", ", ".join(self.paths), exc)
        return self.value


def _reload_seconds(conf):
    return float(conf.get("oid_reload_seconds", 1.0))


def _error(status, message):
    body = json.dumps({"error": {"code": status, "title": webob.exc.status_map[status].title, "message": message}})
    return webob.Response(body=body, status=status, content_type="application/json", charset="utf-8")


class ScopeFilter:
    """``oid_scope``: read the scope, clean the tokens, distrust clients' internal
    headers; the path and the scope get the same normalization and the same
    policy check as at the interposer (oid.entry), so a client that reaches the
    service directly gets no other answer than through the interposer."""

    def __init__(self, app, conf):
        self.app = app
        self.location = conf["oid_location"]
        self.service = conf.get("oid_service")
        if self.service not in SERVICE_ALIASES:
            raise ValueError(
                f"oid paste filter: oid_service must be the service type of this API ({', '.join(SERVICE_ALIASES)}), "
                f"not {self.service!r}"
            )
        self.catalog_file = conf["oid_catalog"]

        def load():
            catalog = Catalog.from_file(self.catalog_file)
            return catalog, catalog.resolve(self.location), _read_secret(conf)

        self.files = Watched([self.catalog_file, conf.get("oid_federation_secret_file")], load, _reload_seconds(conf))

    @property
    def catalog(self):
        return self.files.current()[0]

    @property
    def here(self):
        return self.files.current()[1]

    @property
    def secret(self):
        return self.files.current()[2]

    def trusted(self, req):
        return secret_matches(req.headers.get(AUTH_HEADER, ""), self.secret)

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            normalize_path(wsgi_raw_path(req.environ))
        except BadPath as exc:
            return _error(400, f"bad path: {exc}")
        trusted = self.trusted(req)
        origin = req.headers.get(ORIGIN_HEADER) if trusted else None
        for name in [key for key in req.headers if key.lower().startswith("x-oid-")]:
            del req.headers[name]
        scope_text = req.headers.get(SCOPE_HEADER)
        for name in TOKEN_HEADERS:
            token, token_scope = split_token(req.headers.get(name))
            if token_scope is not None:
                req.headers[name] = token
                if name == "X-Auth-Token":
                    scope_text = scope_text or token_scope
        catalog, here, _secret = self.files.current()
        try:
            scope = entry_scope(scope_text, catalog, here, self.service, req.method, trusted)
        except ScopeError as exc:
            return _error(400, str(exc))
        req.environ[ENV_SCOPE] = scope
        req.environ[ENV_ORIGIN] = origin or here
        req.headers[SCOPE_HEADER] = scope.canonical()
        return req.get_response(self.app)


class AuthFilter:
    """``oid_auth``: keystonemiddleware's auth_token, one instance per Keystone."""

    def __init__(self, app, conf, local_conf):
        self.app = app

        def load():
            catalog = Catalog.from_file(conf["oid_catalog"])
            return _AuthFiles(catalog, catalog.resolve(conf["oid_location"]), _read_secret(conf))

        watched = [conf["oid_catalog"], conf.get("oid_federation_secret_file")]
        self.files = Watched(watched, load, _reload_seconds(conf))
        # This DC's interposer: tokens of a Keystone this DC has no account at are
        # validated there, through that Keystone's DC's interposer (below).
        self.interposer = conf.get("oid_interposer", "").rstrip("/")
        # Options of the stock filter (delay_auth_decision, oslo_config_project, ...)
        # apply to every instance; oid's own options are not auth_token's.
        self.authtoken_conf = {k: v for k, v in local_conf.items() if not k.startswith("oid_")}
        self.inner = _AfterAuth(app, self)
        self._instances = {}
        self._service_validators = {}
        self._instances_of = self.files.value  # the files the instances were built from
        self._lock = threading.Lock()

    @property
    def catalog(self):
        return self.files.current().catalog

    @property
    def here(self):
        return self.files.current().here

    def _forget_if_reloaded(self):
        """Instances built from files that changed since are built again (a new
        secret, a DC gone from the catalog)."""
        if self.files.current() is not self._instances_of:
            self._instances_of = self.files.current()
            self._instances, self._service_validators = {}, {}

    def instance(self, location):
        """The auth_token middleware validating at ``location``'s Keystone (lazily built)."""
        with self._lock:
            self._forget_if_reloaded()
            if location not in self._instances:
                self._instances[location] = self._build(location)
            return self._instances[location]

    def service_validator(self, location):
        """An auth_token instance at ``location``'s Keystone that only reports
        what it found (for service tokens sent by that DC's services)."""
        with self._lock:
            self._forget_if_reloaded()
            if location not in self._service_validators:
                self._service_validators[location] = self._build(location, _capture_identity, delay=True)
            return self._service_validators[location]

    def _build(self, location, app=None, delay=None):
        app = app or self.inner
        if location == self.here:
            conf = dict(self.authtoken_conf)
            if delay is not None:
                conf["delay_auth_decision"] = str(delay).lower()
            return auth_token.AuthProtocol(app, conf)
        conf = {k: v for k, v in self.authtoken_conf.items() if k not in ("oslo_config_project", "oslo_config_file")}
        if delay is not None:
            conf["delay_auth_decision"] = str(delay).lower()
        if not self.interposer or not self.files.current().secret:
            raise KeyError(location)
        return auth_token.AuthProtocol(app, dict(conf, **self.relayed(location)))

    def relayed(self, location):
        """auth_token's options for validating at ``location``'s Keystone through
        the interposers (oid/interposer/validation.py): the request goes to this
        DC's own interposer, with this DC's secret as the caller's token (static:
        keystoneauth's admin_token plugin), and the validation URL of the
        Keystone's DC; that DC's interposer asks its Keystone with its own account."""
        return {
            "auth_type": "admin_token",
            "endpoint": f"{self.interposer}/oid/v1/keystone/{location}/v3",
            "token": self.files.current().secret,
            "auth_version": "v3",  # no discovery: that URL serves validation only
            "www_authenticate_uri": f"{self.interposer}/identity/v3",
        }

    @webob.dec.wsgify
    def __call__(self, req):
        scope = req.environ.get(ENV_SCOPE)
        if scope is None:
            return _error(500, "oid_auth needs oid_scope before it in the pipeline")
        identity = scope.services.get("identity")
        locations = identity.locations() if identity is not None else [self.here]
        if len(locations) != 1:
            return _error(
                400,
                "a request to a service is authenticated by one Keystone; the scope names " + " and ".join(locations),
            )
        keystone = locations[0]
        if keystone not in self.catalog.sites:
            known = ", ".join(self.catalog.names)
            return _error(401, f"Keystone of {keystone!r} is not in the catalog; known: {known}")
        try:
            middleware = self.instance(keystone)
        except KeyError:
            return _error(
                401,
                f"no way to validate at the Keystone of {keystone} (this service's filters have no oid_interposer "
                "or no secret for it): tokens from it are not accepted here",
            )
        origin = req.environ.get(ENV_ORIGIN, self.here)
        if req.headers.get("X-Service-Token") and origin != keystone:
            self.validate_service_token_at(origin, req)
        return req.get_response(middleware)

    def validate_service_token_at(self, origin, req):
        """The service token comes from a service of the ``origin`` DC: validate
        it at that DC's Keystone; the user token's Keystone never sees it."""
        token = req.headers.pop("X-Service-Token")
        probe = webob.Request.blank("/", headers={"X-Auth-Token": token})
        try:
            found = probe.get_response(self.service_validator(origin)).json_body
        except KeyError:
            found = {"X-Identity-Status": "Invalid"}
        req.environ[ENV_SERVICE_IDENTITY] = found


class _AuthFiles:
    """What oid_auth reads from its files: the catalog, this DC's name in it, its secret;
    and this DC's service catalog, shown for remote tokens, made from them once."""

    def __init__(self, catalog, here, secret):
        self.catalog = catalog
        self.here = here
        self.secret = secret
        self.local_catalog = local_catalog(catalog, here)
        self.local_catalog_header = json.dumps(v2_catalog(self.local_catalog))


class _AfterAuth:
    """Runs after auth_token accepted the token: local catalog, scope back on the token."""

    def __init__(self, app, auth):
        self.app = app
        self.auth = auth

    @webob.dec.wsgify
    def __call__(self, req):
        scope = req.environ[ENV_SCOPE]
        service = req.environ.get(ENV_SERVICE_IDENTITY)
        if service is not None:
            # auth_token removed any X-Service-* the client sent; these come
            # from the origin DC's Keystone.
            for key, value in service.items():
                req.headers[key.replace("X-", "X-Service-", 1)] = value
        files = self.auth.files.current()
        identity = scope.services.get("identity")
        remote = identity is not None and identity.locations() != [files.here]
        # Nova's API calls Glance, Neutron and Cinder with auth_token's own plugin
        # (environ['keystone.token_auth']), not with the header: it is fixed too.
        plugin = req.environ.get("keystone.token_auth")
        if remote:
            # A remote token carries its Keystone's catalog: show the service its own DC's.
            req.headers["X-Service-Catalog"] = files.local_catalog_header
            if plugin is not None and plugin.user is not None:
                plugin = with_catalog(plugin, files.local_catalog)
        token = req.headers.get("X-Auth-Token")
        if token:
            # The service hands this token to its own clients (context.auth_token,
            # and what it sends over RPC): the suffix carries the scope to the
            # interposer on every later call.
            suffix = TOKEN_SCOPE_SEPARATOR + scope.canonical()
            req.headers["X-Auth-Token"] = token + suffix
            if plugin is not None:
                plugin = ScopedTokenPlugin(plugin, suffix)
        if plugin is not None:
            req.environ["keystone.token_auth"] = plugin
        return req.get_response(self.app)


def with_catalog(plugin, catalog):
    """auth_token's user plugin for the same token, with ``catalog`` in place of the
    token's: Nova finds Glance and Neutron through the plugin, in its own region."""
    # _data is the validated token as auth_token received it; a copy, since
    # auth_token may cache that dict.
    token = dict(plugin.user._data["token"], catalog=catalog)
    user = ks_access.create(body={"token": token}, auth_token=plugin.user.auth_token)
    return _user_plugin.UserAuthPlugin(user, plugin.service, session=plugin._session, auth=plugin._auth)


class ScopedTokenPlugin:
    """auth_token's user plugin, whose token carries the scope suffix on the way out.

    Everything else (the user, the catalog, endpoint lookup) is the wrapped
    plugin's; keystoneauth only asks a plugin for headers and endpoints."""

    def __init__(self, plugin, suffix):
        self._plugin = plugin
        self._suffix = suffix

    def __getattr__(self, name):
        return getattr(self._plugin, name)

    def get_token(self, session=None, **kwargs):
        return self._plugin.get_token(session, **kwargs) + self._suffix

    def get_headers(self, session=None, **kwargs):
        headers = self._plugin.get_headers(session, **kwargs)
        if headers and headers.get("X-Auth-Token"):
            headers = dict(headers, **{"X-Auth-Token": headers["X-Auth-Token"] + self._suffix})
        return headers


IDENTITY_HEADERS = (
    "X-Identity-Status",
    "X-User-Id",
    "X-User-Name",
    "X-User-Domain-Id",
    "X-Project-Id",
    "X-Project-Name",
    "X-Project-Domain-Id",
    "X-Roles",
)


@webob.dec.wsgify
def _capture_identity(req):
    """The end of a service-token validator: answers what auth_token found."""
    return webob.Response(json_body={key: req.headers[key] for key in IDENTITY_HEADERS if key in req.headers})


def local_catalog(catalog, here):
    """The service catalog of DC ``here``: its interposer's URL for each service."""
    site = catalog.sites[here]
    base = site.extra.get("interposer", "").rstrip("/")
    region = site.extra.get("region", here)
    entries = []
    for stype in sorted(site.services):
        url = f"{base}/{stype}{VERSION_SUFFIX.get(stype, '')}"
        entries.append(
            {
                "type": stype,
                "name": stype,
                "endpoints": [
                    {"interface": interface, "region": region, "region_id": region, "url": url}
                    for interface in ("public", "internal", "admin")
                ],
            }
        )
    return entries


def v2_catalog(catalog):
    """The catalog as auth_token's X-Service-Catalog header carries it (Keystone v2's
    shape, which Nova's request context reads: internalURL, publicURL, region)."""
    entries = []
    for entry in catalog:
        by_interface = {endpoint["interface"]: endpoint for endpoint in entry["endpoints"]}
        endpoint = {f"{interface}URL": value["url"] for interface, value in by_interface.items()}
        endpoint["region"] = next(iter(by_interface.values()))["region"]
        entries.append({"type": entry["type"], "name": entry["name"], "endpoints": [endpoint]})
    return entries


def scope_filter_factory(global_conf, **local_conf):
    conf = _oid_options(global_conf, local_conf)

    def factory(app):
        return ScopeFilter(app, conf)

    return factory


def auth_filter_factory(global_conf, **local_conf):
    conf = _oid_options(global_conf, local_conf)

    def factory(app):
        return AuthFilter(app, conf, local_conf)

    return factory
