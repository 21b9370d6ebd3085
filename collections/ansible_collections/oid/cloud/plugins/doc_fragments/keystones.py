# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Modules that work in several Keystones at once authenticate at each.
    DOCUMENTATION = r"""
options:
  clouds:
    description:
      - A clouds.yaml entry per location, for Keystones where the module's own credentials are not valid.
      - Without an entry, the module's own credentials are sent to that location's Keystone through the
        entry interposer.
    type: dict
    default: {}
"""
