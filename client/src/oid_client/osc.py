"""The python-openstackclient extension: ``--os-scope`` and ``OS_SCOPE``.

OSC calls ``build_option_parser`` at start. The option stores the scope in the
``auth`` options (where the oid-* auth plugins read it, auth.py), not at the top
of the configuration, which openstacksdk formats with ``str.format``: the talk's
``--os-scope '{nova: Denver}'`` would otherwise stop the CLI with KeyError 'nova'.
With an auth type that takes no scope (stock ``password``), the plugin is then
given an option it does not know and OSC stops with that error: a scope is never
silently dropped.
"""

from __future__ import annotations

import argparse
import os

API_NAME = "oid"
API_VERSION_OPTION = "os_oid_api_version"
API_VERSIONS = {"1": "oid_client.osc"}
DEFAULT_API_VERSION = "1"


def make_client(instance):
    """No API client of its own: the scope rides on the session's auth plugin."""
    return None


class ScopeIntoAuth(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        auth = dict(getattr(namespace, self.dest, None) or {})
        auth["scope"] = values
        setattr(namespace, self.dest, auth)


def build_option_parser(parser):
    scope = os.environ.get("OS_SCOPE")
    parser.add_argument(
        "--os-scope",
        metavar="<scope>",
        dest="auth",
        action=ScopeIntoAuth,
        default={"scope": scope} if scope else None,
        help="oid scope of every request, e.g. '{nova: Berlin, glance: Denver|Paris}'; needs an "
        "--os-auth-type of oid-password, oid-token or oid-applicationcredential (Env: OS_SCOPE)",
    )
    return parser
