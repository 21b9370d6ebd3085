"""An ML2 mechanism driver that binds every port without an agent.

The lab's hypervisor is fake and plugs nothing, so there is no dataplane to
program. Binding is still Neutron's real code path: Nova asks for a binding
on its compute host, ML2 calls bind_port, the port gets a VIF type Nova
accepts, and the server goes ACTIVE; deleting the server unbinds and deletes
the port. Why not ML2/OVN: see docs/lab.md.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class AgentlessMechanismDriver(api.MechanismDriver):
    """Binds ports on any host, to the first segment offered, with VIF type 'ovs'."""

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: False, portbindings.VIF_DETAILS_CONNECTIVITY: self.connectivity},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
