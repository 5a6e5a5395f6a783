"""Kernel modules, their parameters, hugepages and module/boot configuration of a sosreport.

`sos_commands/kernel/lsmod` becomes `sys/module/NAME/` for each loaded module, as a live sysfs
has them; without it the root's `sys/module` is "not in this sosreport" even where some
parameter directories were copied, so no probe reads "not loaded" from a partial list.
"""

from __future__ import annotations

import re

from workbench.sos.cmdstatus import how
from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import collected_by, copy, names, read

LSMOD_FILES = ("sos_commands/kernel/lsmod", "lsmod")
PROC_MODULES = "proc/modules"
MODULES = "sys/module"
# The modules whose parameters the probes read (nesting, unsafe interrupts, kvmfr's size).
PARAM_MODULES = ("kvm", "kvm_intel", "kvm_amd", "vfio", "vfio_pci", "vfio_iommu_type1", "kvmfr")
HUGEPAGES = "sys/kernel/mm/hugepages"
HUGEPAGE_FILES = (
    "nr_hugepages",
    "free_hugepages",
    "resv_hugepages",
    "surplus_hugepages",
    "nr_overcommit_hugepages",
)
CONFIG_DIRS = ("etc/modprobe.d",)
CONFIG_FILES = ("etc/default/grub",)
MAX_MODULES = 10_000
_MODULE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_PAGE_DIR = re.compile(r"^hugepages-[0-9]{1,9}kB$")
PARAM_BYTES = 64 * 1024


def parse_lsmod(text: str) -> list[str] | None:
    """The module names of `lsmod` output (the header line first); None when it is not one."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Module"):
        return None
    found: list[str] = []
    for line in lines[1 : MAX_MODULES + 1]:
        words = line.split()
        if words and _MODULE.match(words[0]):
            found.append(words[0])
    return found


def _proc_modules(notes: SosNotes) -> list[str] | None:
    """The loaded modules of /proc/modules (what lsmod reads: no header), when collected."""
    data = read(notes, PROC_MODULES)
    if data is None:
        return None
    found = [
        w[0] for line in data.decode("utf-8", errors="replace").splitlines() if (w := line.split())
    ]
    notes.sources[MODULES] = PROC_MODULES
    return [name for name in found[:MAX_MODULES] if _MODULE.match(name)]


def build_modules(notes: SosNotes) -> None:
    """sys/module from lsmod, the parameters of PARAM_MODULES, hugepages, modprobe.d, grub."""
    loaded = None
    for rel in LSMOD_FILES:
        data = read(notes, rel)
        if data is not None:
            loaded = parse_lsmod(data.decode("utf-8", errors="replace"))
            if loaded is None:
                notes.problems.append(f"{rel}: not lsmod output (no `Module` header)")
                continue
            notes.sources[MODULES] = rel
            break
    if loaded is None:
        loaded = _proc_modules(notes)
    if loaded is None:
        said = how(notes, "kernel", "lsmod", collected_by("kernel"))
        notes.missing(MODULES, "the loaded modules (lsmod or /proc/modules)", said)
    else:
        notes.facts["modules_loaded"] = len(loaded)
        for name in loaded:
            notes.mkdir(f"{MODULES}/{name}")
    for module in PARAM_MODULES:
        base = f"{MODULES}/{module}/parameters"
        for param in names(notes, base):
            data = read(notes, f"{base}/{param}", limit=PARAM_BYTES)
            if data is not None:
                notes.write(f"{base}/{param}", data)
    _hugepages(notes)
    for folder in CONFIG_DIRS:
        for name in names(notes, folder):
            if notes.report.is_dir(f"{folder}/{name}"):
                continue
            copy(notes, f"{folder}/{name}")
    for rel in CONFIG_FILES:
        copy(notes, rel)


def _hugepages(notes: SosNotes) -> None:
    if not notes.report.is_dir(HUGEPAGES):
        notes.missing(HUGEPAGES, "/sys/kernel/mm/hugepages", collected_by("memory"))
        return
    notes.mkdir(HUGEPAGES)
    for size in names(notes, HUGEPAGES):
        if not _PAGE_DIR.match(size):
            continue
        notes.mkdir(f"{HUGEPAGES}/{size}")
        for name in HUGEPAGE_FILES:
            data = read(notes, f"{HUGEPAGES}/{size}/{name}", limit=PARAM_BYTES)
            if data is not None:
                notes.write(f"{HUGEPAGES}/{size}/{name}", data)
