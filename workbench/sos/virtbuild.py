"""The hypervisor part of a sosreport's root: a `libvirt/` recording (as a capture writes it)
made from the domain XML (`etc/libvirt/qemu/*.xml`, `run/libvirt/qemu/*.xml`) and the
`virsh -r` outputs the report holds, and the QEMU logs under `var/log/libvirt/qemu/`."""

from __future__ import annotations

from workbench.sos.model import SosNotes


def build_virt(notes: SosNotes) -> None:
    """Nothing yet: a report without a recording has no hypervisor."""
    del notes
