"""Which hypervisor a machine has: the one function that makes a Hypervisor of a URI or a
recording."""

from __future__ import annotations

from workbench.core.host import Host
from workbench.virt.hypervisor import Hypervisor


def open_hypervisor(host: Host, uri: str | None) -> Hypervisor | None:
    """The live hypervisor at `uri` (opened lazily, read-only), else the recording a non-live
    root holds, else None. Nothing is connected (or read) until the first call."""
    if uri:
        from workbench.virt.live import LiveHypervisor  # imports libvirt: only when asked for

        return LiveHypervisor(uri)
    from workbench.virt.recorded import RecordedHypervisor, has_recording

    return RecordedHypervisor(host) if has_recording(host) else None
