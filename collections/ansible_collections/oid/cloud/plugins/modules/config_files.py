#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, oid developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: config_files
short_description: A host's configuration files and directories, in one module run
version_added: 0.1.0
author: oid developers (@oid-cloud)
description:
  - Makes each item of O(files) what it says, in order, in one run of one module on the host.
  - "Why: over 1000 DCs, site.yml's time on the controller is mostly its module runs (docs/performance.md).
    A role that wrote its six files with M(ansible.builtin.copy) and M(ansible.builtin.file) ran about
    twelve modules per host (copy runs two); with this module it runs one."
  - A file's content is given as text, from the controller (a template lookup, a file lookup with
    C(rstrip=false), or an expression). It is written only when it differs, atomically (a temporary file
    in the same directory, then renamed), then its mode and owner are set when they differ.
  - Directories are made with their parents. C(absent) removes a file, or a directory and what it holds.
  - The first item that cannot be made fails the task, with the items before it done and named in
    RV(files).
options:
  files:
    description:
      - The files and directories, made in this order (a directory before the files in it).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Absolute path on the host.
        type: path
        required: true
      state:
        description:
          - C(file) (its O(files[].content)), C(directory), or C(absent).
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description:
          - The file's whole content, as text (UTF-8). Required with O(files[].state=file).
          - A task that writes a secret sets C(no_log), as with M(ansible.builtin.template), since the
            module's arguments are shown at C(-vvv). A diff (C(--diff)) is shown only for files that every user of
            the host may read (O(files[].mode) has the others' read bit), so that a key or a password
            is not printed by a task that forgot C(no_log).
        type: str
      mode:
        description:
          - Permissions, as for M(ansible.builtin.file) (give it quoted, V("0644")).
        type: raw
      owner:
        description:
          - Owner, by name or number. Unset, a new file is the connecting user's.
        type: str
      group:
        description:
          - Group, by name or number.
        type: str
notes:
  - Supports check mode (what would change, nothing written) and diff mode.
  - Not for large or binary files (an image, a wheel), whose content would travel in the module's arguments;
    M(ansible.builtin.copy) is for those.
"""

EXAMPLES = r"""
- name: The catalog and the endpoints, in one module run
  oid.cloud.config_files:
    files:
      - {path: /etc/kolla/oid, state: directory, mode: "0755"}
      - path: /etc/kolla/oid/catalog.yml
        content: "{{ oid_catalog_text }}"
        mode: "0644"
      - path: /etc/kolla/oid/interposer.yml
        content: "{{ lookup('ansible.builtin.template', 'interposer.yml.j2') }}"
        mode: "0644"
      - path: /etc/kolla/oid/tls/dc.key
        content: "{{ lookup('ansible.builtin.file', '/root/oid-pki/Berlin.key', rstrip=false) }}"
        mode: "0600"
      - {path: /etc/kolla/oid/keystones.yml, state: absent}
  notify: oid catalog changed
"""

RETURN = r"""
files:
  description: Each item, in order, and whether it changed (or would, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The item's path.
      type: str
      sample: /etc/kolla/oid/catalog.yml
    state:
      description: The item's state.
      type: str
      sample: file
    changed:
      description: Whether this item changed.
      type: bool
      sample: false
changed_paths:
  description: The paths of the items that changed.
  returned: always
  type: list
  elements: str
  sample: [/etc/kolla/oid/catalog.yml]
"""

import errno
import os
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

ITEM_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["file", "directory", "absent"], default="file"),
    content=dict(type="str"),
    mode=dict(type="raw"),
    owner=dict(type="str"),
    group=dict(type="str"),
)


class ItemError(Exception):
    """An item that cannot be made as it says."""


def file_arguments(module, item):
    """The arguments AnsibleModule's attribute setters take, for one item."""
    return module.load_file_common_arguments(
        {"path": item["path"], "mode": item["mode"], "owner": item["owner"], "group": item["group"]}
    )


def others_may_read(mode):
    """Whether a diff of the file may be shown: only of files every user of the host may read."""
    if mode is None:
        return False
    try:
        return bool(int(str(mode), 8) & stat.S_IROTH)
    except ValueError:  # a symbolic mode: show nothing rather than guess
        return False


def read_if_file(path):
    try:
        with open(path, "rb") as existing:
            return existing.read()
    except (IOError, OSError) as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def make_file(module, item, diffs):
    path = item["path"]
    if item["content"] is None:
        raise ItemError("%s: a file needs its content" % path)
    if os.path.isdir(path):
        raise ItemError("%s is a directory: a file cannot be written there" % path)
    wanted = to_bytes(item["content"], errors="surrogate_or_strict")
    before = read_if_file(path)
    changed = before != wanted
    if changed and others_may_read(item["mode"]):
        diffs.append(
            {
                "before_header": path,
                "after_header": path,
                "before": "" if before is None else to_native(before, errors="surrogate_or_replace"),
                "after": item["content"],
            }
        )
    if module.check_mode:
        # The attributes of a file still to be written cannot be compared.
        return changed or (
            before is not None and module.set_fs_attributes_if_different(file_arguments(module, item), False)
        )
    if changed:
        write_atomically(module, path, wanted)
    return module.set_fs_attributes_if_different(file_arguments(module, item), changed)


def write_atomically(module, path, content):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ItemError("%s: its directory %s does not exist (list the directory before it)" % (path, directory))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        # keep_dest_attrs: an existing file keeps its owner and mode until they are set after.
        module.atomic_move(temporary, path, keep_dest_attrs=True)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def make_directory(module, item):
    path = item["path"]
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ItemError("%s exists and is not a directory" % path)
    changed = not os.path.isdir(path)
    if module.check_mode:
        return changed or module.set_fs_attributes_if_different(file_arguments(module, item), False)
    if changed:
        os.makedirs(path)
    return module.set_fs_attributes_if_different(file_arguments(module, item), changed)


def make_absent(module, item):
    path = item["path"]
    if not os.path.lexists(path):
        return False
    if not module.check_mode:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(files=dict(type="list", elements="dict", required=True, options=ITEM_SPEC)),
        supports_check_mode=True,
    )
    results, diffs = [], []
    for item in module.params["files"]:
        try:
            if not os.path.isabs(item["path"]):
                raise ItemError("%s: a path must be absolute" % item["path"])
            if item["state"] == "file":
                changed = make_file(module, item, diffs)
            elif item["state"] == "directory":
                changed = make_directory(module, item)
            else:
                changed = make_absent(module, item)
        except ItemError as error:
            module.fail_json(msg=to_native(error), files=results)
        except (IOError, OSError) as error:
            module.fail_json(msg="%s: %s" % (item["path"], to_native(error)), files=results)
        results.append({"path": item["path"], "state": item["state"], "changed": changed})
    changed_paths = [result["path"] for result in results if result["changed"]]
    module.exit_json(changed=bool(changed_paths), files=results, changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
