"""The machine part of a sosreport's root: everything that is not PCI or libvirt's domains.

The report mirrors the machine's own paths for /proc, /sys/module and /etc: those are copied
as they are (through the confined reader, size-capped, names checked). Command outputs become
what a capture records: `lsmod` -> `sys/module/NAME/`, the /dev listing -> `facts.device_nodes`,
`ps` -> `facts.processes`, the kernel and libvirt logs -> `logs/*.log` with their facts. What
the report lacks is said in `not_recorded`, with the plugin that collects it.
"""

from __future__ import annotations

from workbench.sos.devlisting import build_devices
from workbench.sos.kernellog import build_kernel_log
from workbench.sos.model import SosNotes
from workbench.sos.modules import build_modules
from workbench.sos.processes import build_processes
from workbench.sos.procfiles import build_proc
from workbench.sos.reportfiles import copy

__all__ = ["build_machine", "copy"]


def build_machine(notes: SosNotes) -> None:
    """Write the machine part of the root (see the module's docstring)."""
    build_proc(notes)
    build_modules(notes)
    build_devices(notes)
    build_processes(notes)
    build_kernel_log(notes)
