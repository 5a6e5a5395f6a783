"""Which hypervisor a machine has: the one function that makes a Hypervisor of a URI or a
recording. (Placeholder of the contract: the `hyper` branch implements it.)"""

from __future__ import annotations

from workbench.core.host import Host
from workbench.virt.hypervisor import Hypervisor


def open_hypervisor(host: Host, uri: str | None) -> Hypervisor | None:
    """The live hypervisor at `uri` (opened lazily, read-only), else the recording a non-live
    root holds, else None. Nothing is connected until the first call."""
    return None
