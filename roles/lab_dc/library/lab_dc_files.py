#!/usr/bin/python
# -*- coding: utf-8 -*-
"""A lab DC's directories and service files, in one module call.

Kolla writes each service's files with a template task per file; on the lab's
two cores a module start per item costs about 20 s of every converge of three
DCs (some forty files and directories each), for files that rarely change.
This module does the same idempotent work in one process: the controller
renders the contents, the module writes only what differs.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_dc_files
short_description: Directories and whole files of one lab DC, written only when they differ
description:
  - Creates the missing directories (and sets their mode), then writes each file
    whose content or mode differs, atomically (a service never reads half a file).
  - Returns the paths it changed, so that the services whose files changed restart.
options:
  directories: {description: directories to ensure, type: list, elements: path, default: []}
  directory_mode: {description: their mode, type: str, default: "0750"}
  files:
    description: files to ensure
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: where, type: path, required: true}
      content: {description: the whole file (it holds secrets, never logged), type: str, required: true}
      mode: {description: its mode, type: str, required: true}
"""

RETURN = r"""
changed_paths: {description: the directories and files created or changed, type: list, returned: always}
"""

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule


def ensure_directory(path, mode, check_mode):
    """Whether the directory had to be created or its mode set."""
    if os.path.isdir(path):
        if stat.S_IMODE(os.stat(path).st_mode) == mode:
            return False
        if not check_mode:
            os.chmod(path, mode)
        return True
    if os.path.exists(path):
        raise ValueError("%s exists and is not a directory" % path)
    if not check_mode:
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)  # makedirs' mode is masked by the umask
    return True


def ensure_file(path, content, mode, check_mode):
    """Whether the file had to be written or its mode set."""
    wanted = content.encode("utf-8")
    try:
        with open(path, "rb") as existing:
            same_content = existing.read() == wanted
        same_mode = stat.S_IMODE(os.stat(path).st_mode) == mode
    except FileNotFoundError:
        same_content = same_mode = False
    if same_content and same_mode:
        return False
    if check_mode:
        return True
    if same_content:
        os.chmod(path, mode)
        return True
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".lab_dc_files.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(wanted)
        os.chmod(temporary, mode)
        # Same directory: the rename is atomic, and keeps the mode set above
        # (AnsibleModule.atomic_move gives a new file the umask's instead).
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise
    return True


def main():
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "list", "elements": "path", "default": []},
            "directory_mode": {"type": "str", "default": "0750"},
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True, "no_log": True},
                    "mode": {"type": "str", "required": True},
                },
            },
        },
        supports_check_mode=True,
    )
    changed = []
    try:
        directory_mode = int(module.params["directory_mode"], 8)
        for path in module.params["directories"]:
            if ensure_directory(path, directory_mode, module.check_mode):
                changed.append(path)
        for spec in module.params["files"]:
            path = spec["path"]
            if ensure_file(path, spec["content"], int(spec["mode"], 8), module.check_mode):
                changed.append(path)
    except (OSError, ValueError) as error:
        module.fail_json(msg=str(error), changed_paths=changed)
    module.exit_json(changed=bool(changed), changed_paths=changed)


if __name__ == "__main__":
    main()
