"""The digest of the oid package inside the filters' wheel, read on the controller.

read_host.py (the role's files) computes the same digest of the tree unpacked
on a host, with the same function, imported from there: where the two agree,
the host already runs this wheel's code and the role neither copies the wheel
(92 KB) nor unpacks it, which saves three module runs per host and run
(docs/performance.md). Where they differ (new code, a file edited by hand,
nothing unpacked yet), unpack_filters.py puts the wheel's tree in place.

    lookup('oid_paste_package_digest', wheel_path)
"""

from __future__ import annotations

import importlib.util
import os
import zipfile

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

PACKAGE = "oid/"  # unpack_filters.py unpacks this directory of the wheel, nothing else
READ_HOST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "files", "read_host.py")


def package_digest_function():
    spec = importlib.util.spec_from_file_location("oid_paste_read_host", READ_HOST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.package_digest


def wheel_package_digest(wheel: str) -> str:
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [
                (name[len(PACKAGE) :], archive.read(name))
                for name in archive.namelist()
                if name.startswith(PACKAGE) and not name.endswith("/")
            ]
    except (OSError, zipfile.BadZipFile) as error:
        raise AnsibleLookupError(f"the filters' wheel {wheel} cannot be read: {error}") from error
    if not members:
        raise AnsibleLookupError(f"the filters' wheel {wheel} has no {PACKAGE} package inside")
    return package_digest_function()(members)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [wheel_package_digest(str(term)) for term in terms]
