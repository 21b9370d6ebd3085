# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The scope option, shared by every module of the collection.
    DOCUMENTATION = r"""
options:
  scope:
    description:
      - Where the operation runs, per OpenStack service.
      - 'A string in the flow form C({nova: Berlin, glance: Denver|Paris}), the JSON form
        C({"compute": "Berlin", "image": "Denver"}), or a mapping of service names to location expressions.'
      - Keys are service types (C(compute), C(image), C(identity), C(network), C(placement), C(volume))
        or service names (C(nova), C(glance), C(keystone), C(neutron), C(cinder)).
      - Values combine location names of the inter-DC catalog with C(&) (at every location, concurrently),
        C(|) (at the first location that succeeds, left to right), parentheses and C(*) (every location).
        C(&) binds tighter than C(|).
      - Services the scope leaves out run at the entry DC.
    type: raw
"""
