# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options of every oid.cloud module: the same names and
    # meanings as openstack.cloud's, plus the scope (see the scope fragment).
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Named cloud of a C(clouds.yaml) file, or a dict with a complete cloud configuration.
      - For a module with a C(scope), the cloud is the entry DC. Its Keystone catalog points at its oid
        interposer, which routes every request according to the scope.
    type: raw
  auth:
    description:
      - Auth information for the cloud's auth plugin (for the password plugin C(auth_url),
        C(username), C(password), C(project_name) and the domains).
    type: dict
  auth_type:
    description:
      - Name of the auth plugin to use.
    type: str
  region_name:
    description:
      - Name of the region of the entry DC.
    type: str
  wait:
    description:
      - Wait until the requested resource is complete at every location of the scope.
    type: bool
    default: true
  timeout:
    description:
      - How long to wait for the requested resource, in seconds.
    type: int
    default: 180
  api_timeout:
    description:
      - How long the socket layer waits before timing out API calls.
    type: int
  validate_certs:
    description:
      - Whether SSL API requests are verified.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - A path to a CA certificate bundle to verify SSL API requests.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - A path to a client certificate for the SSL transaction.
    type: str
    aliases: [cert]
  client_key:
    description:
      - A path to a client key for the SSL transaction.
    type: str
    aliases: [key]
  interface:
    description:
      - The endpoint URL type to fetch from the service catalog.
    type: str
    choices: [admin, internal, public]
    default: public
    aliases: [endpoint_type]
requirements:
  - python >= 3.9
  - openstacksdk >= 1.0.0
notes:
  - Credentials are never returned or logged (O(auth) is C(no_log)).
"""
