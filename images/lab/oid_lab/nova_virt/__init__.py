"""nova.virt.oid_lab: where Nova looks for the lab's fake hypervisor.

Nova loads `compute_driver` relative to nova.virt (as out-of-tree drivers such
as nova-zvm do, the package installs itself there): compute_driver =
oid_lab.GlanceFetchingDriver.
"""

from oid_lab.nova_fake import GlanceFetchingDriver

__all__ = ["GlanceFetchingDriver"]
