"""Make the checkout's collection importable as `ansible_collections.oid.cloud`,
the way Ansible imports it (next to the collections of the `ansible` package)."""

import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[1] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# The lab (real OpenStack DCs in containers), shared by every suite that needs it.
from tests.support.lab import lab  # noqa: E402,F401
