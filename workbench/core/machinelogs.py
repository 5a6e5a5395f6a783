"""The logs a machine holds that explain its failures: the kernel log of this boot, each
domain's QEMU log, libvirt's own log. Live, read from the journal, /dev/kmsg, `dmesg` and
/var/log; recorded (captures, later sosreports), read from the files the recording wrote.

Where a recorded machine keeps them (a contract between captures and the readers):
- `logs/kernel.log`: this boot's kernel messages, one per line, dmesg style
  (`[   12.345678] message`); the manifest's `facts.kernel_log` says from where
  (`{"origin": "journal|kmsg|dmesg", "lines": N, "truncated": bool}`).
- `var/log/libvirt/qemu/NAME.log`: each domain's QEMU log (a bounded tail), where libvirt
  writes it on a live machine.
- `logs/libvirt.log`: libvirt's daemon log of this boot (journal of libvirtd/virtqemud), tail.
A log that is absent says why (`why`): not recorded, not readable, no journal, ...; absence of a
log is never read as absence of a failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.host import Host

KERNEL_LOG = "logs/kernel.log"
LIBVIRT_LOG = "logs/libvirt.log"
QEMU_LOG_DIR = "var/log/libvirt/qemu"
TAIL_BYTES = 1 << 20  # the most of one log read (the newest part: a failure is at the end)


@dataclass(frozen=True)
class MachineLog:
    """One log of a machine: its text (None when it could not be had, `why` says why)."""

    name: str  # "kernel", "qemu:NAME", "libvirt"
    source: str  # where it came from: "journal", "/dev/kmsg", "dmesg", a path
    text: str | None
    why: str | None = None
    truncated: bool = False


def qemu_log_path(vm: str) -> str:
    """The QEMU log of domain `vm`, relative to the machine root."""
    return f"{QEMU_LOG_DIR}/{vm}.log"


def kernel_log(host: Host) -> MachineLog:
    """This boot's kernel messages: live from the journal, else /dev/kmsg, else `dmesg`;
    recorded from `logs/kernel.log`."""
    raise NotImplementedError  # i13-probes fills this in


def qemu_log(host: Host, vm: str) -> MachineLog:
    """The tail of domain `vm`'s QEMU log."""
    raise NotImplementedError  # i13-probes fills this in
