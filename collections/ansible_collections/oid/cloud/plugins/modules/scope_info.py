#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: scope_info
short_description: Check and normalize an oid scope against the inter-DC catalog
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Parses a scope, checks every service and location against the inter-DC catalog, fills the
    services it leaves out with the entry DC (Placement, Neutron and Cinder follow Nova when the scope
    names Nova, as the interposer does), expands C(*) and returns the canonical form that travels
    in the C(X-Scope) header.
  - Fails with the reason (position of a syntax error, unknown names with the known ones) when the
    scope cannot be used, before any playbook task acts on it.
extends_documentation_fragment:
  - oid.cloud.scope
options:
  catalog:
    description:
      - Path of the inter-DC catalog (YAML or JSON) on the host the module runs on.
    type: path
    required: true
  entry:
    description:
      - The DC where requests enter the federation.
      - Defaults to the first location of the catalog file.
    type: str
attributes:
  check_mode:
    support: full
    description: The module only reads the catalog.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

EXAMPLES = r"""
- name: Check a scope before using it
  oid.cloud.scope_info:
    catalog: /etc/kolla/oid-interposer/catalog.yml
    entry: Berlin
    scope: "{nova: Berlin, glance: Denver|Paris}"
  register: checked

- name: A mapping works too
  oid.cloud.scope_info:
    catalog: /etc/kolla/oid-interposer/catalog.yml
    scope:
      nova: Berlin&Denver
"""

RETURN = r"""
canonical:
  description: The normalized scope as canonical JSON, the form sent in C(X-Scope).
  returned: success
  type: str
  sample: '{"compute":"Berlin","identity":"Berlin","image":"Denver|Paris","network":"Berlin","placement":"Berlin"}'
scope:
  description: The normalized scope as a mapping of service type to location expression.
  returned: success
  type: dict
  sample: {"compute": "Berlin", "image": "Denver|Paris"}
locations:
  description: For each service type, every location the scope may involve.
  returned: success
  type: dict
  sample: {"compute": ["Berlin"], "image": ["Denver", "Paris"]}
entry:
  description: The entry DC, in the catalog's spelling.
  returned: success
  type: str
  sample: Berlin
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oid.cloud.plugins.module_utils.policy import default_expressions
from ansible_collections.oid.cloud.plugins.module_utils.scope import Catalog, ScopeError, normalize


def main():
    module = AnsibleModule(
        argument_spec=dict(
            scope=dict(type="raw"),
            catalog=dict(type="path", required=True),
            entry=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    try:
        catalog = Catalog.from_file(module.params["catalog"])
        entry = catalog.resolve(module.params["entry"] or catalog.first)
        scope = normalize(module.params["scope"], catalog, entry, defaults=default_expressions)
    except (ScopeError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=False,
        canonical=scope.canonical(),
        scope=scope.as_dict(),
        locations=dict((stype, scope.locations(stype)) for stype in scope.services),
        entry=entry,
    )


if __name__ == "__main__":
    main()
