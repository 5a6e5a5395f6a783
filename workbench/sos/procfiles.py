"""The /proc files a sosreport mirrors, and the machine's name and kernel release."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.sos.machineid import build_machine_id
from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import collected_by, copy, read

# Path in the report (and the root) -> (what it is, the plugin that collects it).
PROC_FILES = {
    "proc/cmdline": ("/proc/cmdline", "kernel"),
    "proc/cpuinfo": ("/proc/cpuinfo", "processor"),
    "proc/meminfo": ("/proc/meminfo", "memory"),
    "proc/iomem": ("/proc/iomem", "pci"),
    "proc/interrupts": ("/proc/interrupts", "hardware"),
    "proc/mounts": ("/proc/mounts", "filesys"),  # host.cgroups: the cgroup mounts
}
# The cgroup2 controllers host.cgroups reads, at the mount points of v2 and of hybrid systemd.
CGROUP_FILES = ("sys/fs/cgroup/cgroup.controllers", "sys/fs/cgroup/unified/cgroup.controllers")
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
    for rel in CGROUP_FILES:  # absent from a report whose cgroups plugin ran: not on the machine
        if not copy(notes, rel) and not notes.report.is_dir("sys/fs/cgroup"):
            notes.missing(rel, f"/{rel}", collected_by("cgroups"))
    _identity(notes)
    build_machine_id(notes)


@dataclass(frozen=True)
class Identity:
    """The machine's name and kernel release as the report says them, each with its file."""

    hostname: tuple[str, str] | None  # (name, the report's file); None: the report has none
    release: tuple[str, str] | None


def identity(notes: SosNotes) -> Identity:
    """The host name (its `hostname` output or /etc/hostname, else `uname -a`'s node name) and
    the kernel release (/proc/sys/kernel/osrelease, else `uname -a`'s), read once per report:
    the one reading every builder uses."""
    cached = notes.cache.get("identity")
    if isinstance(cached, Identity):
        return cached
    found = Identity(
        _first_word(notes, HOSTNAME_FILES, 0) or _first_word(notes, UNAME_FILES, 1),
        _first_word(notes, (OSRELEASE,), 0) or _first_word(notes, UNAME_FILES, 2),
    )
    notes.cache["identity"] = found
    return found


def _first_word(notes: SosNotes, files: tuple[str, ...], field: int) -> tuple[str, str] | None:
    for rel in files:
        data = read(notes, rel, limit=64 * 1024)
        if data is None:
            continue
        words = data.decode("utf-8", errors="replace").split()
        if len(words) > field and _WORD.match(words[field]):
            if rel in UNAME_FILES and words[0] != "Linux":
                continue
            return words[field], rel
    return None


def _identity(notes: SosNotes) -> None:
    found = identity(notes)
    if found.hostname is not None:
        notes.write(HOSTNAME, found.hostname[0] + "\n")
        notes.sources[HOSTNAME] = found.hostname[1]
        notes.info.setdefault("hostname", found.hostname[0])
    if found.release is not None:
        notes.write(OSRELEASE, found.release[0] + "\n")
        notes.sources[OSRELEASE] = found.release[1]
        notes.info.setdefault("kernel", found.release[0])
    else:
        notes.missing(OSRELEASE, "the kernel release (uname -a)", collected_by("kernel"))
