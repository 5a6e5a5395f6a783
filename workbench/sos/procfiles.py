"""The /proc files a sosreport mirrors, and the machine's name and kernel release."""

from __future__ import annotations

import re

from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import collected_by, copy, read

# Path in the report (and the root) -> (what it is, the plugin that collects it).
PROC_FILES = {
    "proc/cmdline": ("/proc/cmdline", "kernel"),
    "proc/cpuinfo": ("/proc/cpuinfo", "processor"),
    "proc/meminfo": ("/proc/meminfo", "memory"),
    "proc/iomem": ("/proc/iomem", "pci"),
    "proc/interrupts": ("/proc/interrupts", "hardware"),
}
HOSTNAME = "proc/sys/kernel/hostname"
OSRELEASE = "proc/sys/kernel/osrelease"
HOSTNAME_FILES = (HOSTNAME, "hostname", "sos_commands/host/hostname", "etc/hostname")
UNAME_FILES = ("sos_commands/kernel/uname_-a", "uname")
_WORD = re.compile(r"^[A-Za-z0-9_.+~-]{1,128}$")  # a host name or a kernel release


def build_proc(notes: SosNotes) -> None:
    """Copy the /proc files; say which the report lacks and which plugin collects each."""
    for rel, (what, plugin) in PROC_FILES.items():
        if not copy(notes, rel):
            notes.missing(rel, what, collected_by(plugin))
    _identity(notes)


def _first_word(notes: SosNotes, files: tuple[str, ...], field: int) -> tuple[str, str] | None:
    for rel in files:
        data = read(notes, rel, limit=64 * 1024)
        if data is None:
            continue
        words = data.decode("utf-8", errors="replace").split()
        if len(words) > field and _WORD.match(words[field]):
            return words[field], rel
    return None


def _identity(notes: SosNotes) -> None:
    name = _first_word(notes, HOSTNAME_FILES, 0) or _first_word(notes, UNAME_FILES, 1)
    if name is not None:
        notes.write(HOSTNAME, name[0] + "\n")
        notes.sources[HOSTNAME] = name[1]
        notes.info.setdefault("hostname", name[0])
    release = _first_word(notes, (OSRELEASE,), 0) or _first_word(notes, UNAME_FILES, 2)
    if release is not None:
        notes.write(OSRELEASE, release[0] + "\n")
        notes.sources[OSRELEASE] = release[1]
        notes.info.setdefault("kernel", release[0])
    else:
        notes.missing(OSRELEASE, "the kernel release (uname -a)", collected_by("kernel"))
