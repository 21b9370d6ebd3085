#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_info
short_description: List images at the locations of a scope
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Lists images with one request to the entry DC's interposer, which runs it where the scope's C(image)
    expression says. Under C(&) the lists of every location come back as one list, each image with the
    location it came from; under C(|) the list of the first location that answers.
options:
  name:
    description:
      - Only images with this name.
    type: str
  filters:
    description:
      - Other query filters of the image API (for example C(visibility), C(status), C(owner)).
    type: dict
    default: {}
extends_documentation_fragment:
  - oid.cloud.openstack
  - oid.cloud.scope
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Images of Berlin and Denver, in one list
  oid.cloud.image_info:
    cloud: berlin
    scope: "{glance: Berlin&Denver}"
  register: images

- name: Where is debian-12?
  ansible.builtin.debug:
    msg: "{{ images.images | selectattr('name', 'equalto', 'debian-12') | map(attribute='location') }}"
"""

RETURN = r"""
images:
  description: The images, each with the location that returned it.
  returned: always
  type: list
  elements: dict
  contains:
    location:
      description: The DC the image is in.
      type: str
      sample: Denver
  sample: [{id: 1b1c..., name: debian-12, status: active, location: Berlin}]
"""

from ansible_collections.oid.cloud.plugins.module_utils.oid_cloud import OidModule


class ImageInfoModule(OidModule):
    service = "image"
    argument_spec = dict(
        name=dict(),
        filters=dict(type="dict", default={}),
    )

    def run(self):
        query = dict(self.params["filters"])
        if self.params["name"]:
            query["name"] = self.params["name"]
        self.results["images"] = self.list_resources(self.conn.image, "/images", "images", query)


def main():
    ImageInfoModule()()


if __name__ == "__main__":
    main()
