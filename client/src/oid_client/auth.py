"""keystoneauth1 auth plugins that carry an oid scope.

``oid-password``, ``oid-token`` and ``oid-applicationcredential`` are Keystone v3's
password, token and application-credential plugins with one more option, the
scope (``scope`` in clouds.yaml's ``auth:`` and in ``openstack.connect(auth=...)``;
``--os-scope`` and ``OS_SCOPE`` through the OSC extension, osc.py). The scope is
sent as the ``X-Scope`` header on every request, the token request included (the
scope's identity decides which Keystone issues the token), to the federation's
entry: a DC's interposer, at the ``auth_url`` ``http://<interposer>/identity/v3``.

A scope is never silently dropped: before its first token the plugin asks the
entry interposer to normalize the scope (``GET /oid/v1/scope``); an ``auth_url``
that is not an interposer, or a scope the federation refuses, is an error with
the reason, before any request has been sent in the wrong place.

The scope language itself is the interposer's: this package only carries the text.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from keystoneauth1 import exceptions, loading
from keystoneauth1.identity import v3
from keystoneauth1.loading._plugins.identity import v3 as v3_loaders

SCOPE_HEADER = "X-Scope"
IDENTITY_TOKENS_HEADER = "X-Scope-Tokens"  # a token of each Keystone the scope names (interposer's admission)
SCOPE_PATH = "/oid/v1/scope"  # the interposer's scope endpoint (docs/interposer.md)
IDENTITY_PREFIX = "/identity"  # where an interposer serves its DC's Keystone


class ScopeError(exceptions.ClientException):
    """The federation refused the scope, or nothing here would apply it."""


def scope_text(value: Any) -> str | None:
    """The scope as it is sent: the talk's spelling, the proof of concept's JSON,
    or a mapping (``openstack.connect(auth={"scope": {"compute": "Denver"}})``)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":")) if value else None
    text = str(value).strip()
    # openstacksdk runs str.format on some configuration strings (a top-level
    # OS_SCOPE with no cloud named): written there as '{{nova: Denver}}' to get
    # through it, a scope arrives either way. No scope has '{{' of its own.
    if text.startswith("{{") and text.endswith("}}"):
        text = text.replace("{{", "{").replace("}}", "}")
    return text or None


def entry_of(auth_url: str) -> str:
    """``http://host:8790/identity/v3`` -> ``http://host:8790``: the entry interposer."""
    parts = urlsplit(auth_url)
    path = parts.path.rstrip("/")
    index = path.find(IDENTITY_PREFIX + "/")
    if index < 0 and path.endswith(IDENTITY_PREFIX):
        index = len(path) - len(IDENTITY_PREFIX)
    if index < 0:
        raise ScopeError(
            f"auth_url {auth_url} is not a DC's interposer: a scope is applied only by the federation's "
            f"entry, whose Keystone is at http://<interposer>:<port>{IDENTITY_PREFIX}/v3"
        )
    return urlunsplit((parts.scheme, parts.netloc, path[:index], "", ""))


def check_scope(session, auth_url: str, text: str) -> dict:
    """The scope as the entry interposer normalizes it, or ScopeError with the reason."""
    url = entry_of(auth_url) + SCOPE_PATH
    answer = session.get(url, headers={SCOPE_HEADER: text}, authenticated=False, raise_exc=False, log=False)
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code == 200 and isinstance(body, dict) and isinstance(body.get("scope"), dict):
        return body
    if answer.status_code == 400 and isinstance(body, dict) and "error" in body:
        raise ScopeError(f"the federation refused the scope {text!r}: {body['error'].get('message', body)}")
    raise ScopeError(
        f"{url} answered {answer.status_code}: {auth_url} is not reached through an oid interposer, "
        "so nothing would apply the scope"
    )


class _ScopedMethod:
    """The token request carries the scope: its identity picks the Keystone."""

    def get_auth_data(self, session, auth, headers, **kwargs):
        if getattr(auth, "oid_scope", None):
            headers[SCOPE_HEADER] = auth.oid_scope
        return super().get_auth_data(session, auth, headers, **kwargs)


class _Scoped:
    """A v3 plugin whose every request carries ``scope``, checked at the entry first.

    A scope whose identity names several Keystones (``{keystone: Berlin&Denver}``)
    needs a token of each, since a Keystone validates only its own: the plugin
    logs in at each (the same credentials, each request narrowed to one Keystone)
    and sends them all in X-Scope-Tokens; the interposer gives each identity
    branch its own Keystone's token. X-Auth-Token is the entry's token (or the
    first named Keystone's)."""

    def __init__(self, *args: Any, scope: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.oid_arguments = (args, kwargs)
        self.oid_scope = scope_text(scope)
        self.oid_normalized: dict | None = None  # the entry's answer, once it accepted the scope
        self.oid_keystones: dict[str, _Scoped] = {}  # one plugin per Keystone, when several

    def get_auth_ref(self, session, **kwargs):
        if not self.oid_scope:
            return super().get_auth_ref(session, **kwargs)
        self.oid_normalized = check_scope(session, self.auth_url, self.oid_scope)
        named = self.oid_normalized.get("named", {}).get("identity", [])
        if len(named) <= 1:
            return super().get_auth_ref(session, **kwargs)
        self.oid_keystones = self.logged_in_everywhere(session, named)
        entry = self.oid_normalized.get("entry")
        primary = entry if entry in self.oid_keystones else next(iter(self.oid_keystones))
        return self.oid_keystones[primary].get_access(session)

    def logged_in_everywhere(self, session, named: list[str]) -> dict:
        """A plugin of each named Keystone, logged in. Under '&' every one is needed;
        under '|' those that answer are enough (the others are the ones '|' skips)."""
        every = "&" in self.oid_normalized["scope"]["identity"]
        args, kwargs = self.oid_arguments
        plugins, failures = {}, {}
        for name in named:
            plugin = type(self)(*args, scope=json.dumps({"identity": name}), **kwargs)
            try:
                plugin.get_access(session)
            except exceptions.ClientException as exc:
                if every:
                    message = f"no token from {name}'s Keystone, which the scope's identity needs: {exc}"
                    raise ScopeError(message) from exc
                failures[name] = exc
                continue
            plugins[name] = plugin
        if not plugins:
            raise ScopeError(f"no token from any Keystone of the scope: {failures}")
        return plugins

    def get_headers(self, session, **kwargs):
        headers = super().get_headers(session, **kwargs)
        if headers is not None and self.oid_scope:
            headers[SCOPE_HEADER] = self.oid_scope
            if self.oid_keystones:
                tokens = (f"{name}={plugin.get_token(session)}" for name, plugin in self.oid_keystones.items())
                headers[IDENTITY_TOKENS_HEADER] = ", ".join(tokens)
        return headers


class PasswordMethod(_ScopedMethod, v3.PasswordMethod):
    pass


class TokenMethod(_ScopedMethod, v3.TokenMethod):
    pass


class ApplicationCredentialMethod(_ScopedMethod, v3.ApplicationCredentialMethod):
    pass


class Password(_Scoped, v3.Password):
    _auth_method_class = PasswordMethod


class Token(_Scoped, v3.Token):
    _auth_method_class = TokenMethod


class ApplicationCredential(_Scoped, v3.ApplicationCredential):
    _auth_method_class = ApplicationCredentialMethod


class _ScopedLoader:
    """A v3 loader whose plugin is ``scoped`` and whose options gain the scope.
    Named oid-scope, with 'scope' as its other name: osc-lib makes a global
    --os-<name> of every plugin's options, and --os-scope belongs to the OSC
    extension (osc.py), which keeps the value out of openstacksdk's str.format."""

    scoped: type

    @property
    def plugin_class(self):
        return self.scoped

    def get_options(self):
        scope = loading.Opt(
            "oid-scope",
            dest="scope",
            deprecated=[loading.Opt("scope")],
            help="oid scope, e.g. '{nova: Berlin, glance: Denver|Paris}' (sent as X-Scope)",
        )
        return [*super().get_options(), scope]


class PasswordLoader(_ScopedLoader, v3_loaders.Password):
    """Keystone v3 password, with an oid scope."""

    scoped = Password


class TokenLoader(_ScopedLoader, v3_loaders.Token):
    """Keystone v3 token, with an oid scope."""

    scoped = Token


class ApplicationCredentialLoader(_ScopedLoader, v3_loaders.ApplicationCredential):
    """Keystone v3 application credential, with an oid scope."""

    scoped = ApplicationCredential
