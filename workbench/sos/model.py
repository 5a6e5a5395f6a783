"""What the builders of a sosreport's machine root share: the notes that become its manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.host import SOSREPORT, Host

SOURCE = SOSREPORT  # the manifest's `source` of a root made from a sosreport (Host.recorded_by)
# The plugins that hold what Workbench judges: said in every "not in this sosreport" hint, so
# every plugin a hint names (`collected_by`) is one of them (tests/test_sos_hints.py).
PLUGIN_NAMES = (
    "pci", "kernel", "processor", "memory", "hardware", "filesys", "cgroups", "block",
    "process", "libvirt", "virsh", "logs",
)  # fmt: skip
PLUGINS = ",".join(PLUGIN_NAMES)
ASK_FOR = f"sos report -o {PLUGINS}"


def needs(what: str, how: str) -> str:
    """The words of a hint: `not in this sosreport: needs WHAT (HOW)`."""
    return f"not in this sosreport: needs {what} ({how})"


@dataclass
class KernelLog:
    """The report's kernel log of this boot as `sos.journal.kernel_log` chose it: bounded
    bytes (its first part and its newest, a gap line between), read by every builder."""

    origin: str | None  # the report's file; None: the report holds no kernel log
    data: bytes = b""
    truncated: bool = False
    from_boot: bool = False  # whether it starts at boot (then the boot's lines are all there)
    tried: list[str] = field(default_factory=list)  # the files read for it
    passed_over: list[str] = field(default_factory=list)  # why a file read was not the one

    @property
    def text(self) -> str:
        """Its bytes as text (what is not UTF-8 replaced)."""
        return self.data.decode("utf-8", errors="replace")


@dataclass
class SosNotes:
    """What the builders learn about a report, kept for the manifest.

    `facts` become the manifest's `facts` (device_nodes, processes, kernel_log, ...) as a
    capture records them; `not_recorded` maps a path of the machine root (`sys/kernel/
    iommu_groups`, `dev/kvm`) to why the report cannot show it and what would record it;
    `evidence` holds lines the report proves something with (`iommu`: kernel lines that say
    the IOMMU is on); `sources` says which of the report's files gave what; `kernel_log` is the
    one kernel log every builder reads."""

    report: Host  # the report's top directory, read confined and read-only
    out: Path  # the machine root being written
    facts: dict[str, Any] = field(default_factory=dict)
    not_recorded: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # version, hostname, plugins, ...
    cache: dict[str, Any] = field(default_factory=dict)  # builders' shared reads, not written
    kernel_log: KernelLog | None = None  # chosen once (sos.journal.kernel_log); None: not yet

    def missing(self, path: str, what: str, how: str) -> None:
        """Record that `path` of the machine root is not in the report."""
        self.not_recorded[path] = needs(what, how)

    def write(self, rel: str, data: str | bytes) -> None:
        """Write a file of the machine root (parents made; never outside `out`)."""
        path = self.out.joinpath(*_inside(rel))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        with path.open("xb") as fh:  # never over a file another builder wrote, never a link
            fh.write(data)

    def mkdir(self, rel: str) -> None:
        """A directory of the machine root (parents made; never outside `out`)."""
        self.out.joinpath(*_inside(rel)).mkdir(parents=True, exist_ok=True)

    def link(self, rel: str, target_rel: str) -> None:
        """A relative symlink at `rel` to `target_rel` (both paths of the machine root)."""
        import os

        link = self.out.joinpath(*_inside(rel))
        target = self.out.joinpath(*_inside(target_rel))
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(target, link.parent))


def _inside(rel: str) -> list[str]:
    """The components of a path of the machine root; a path that could leave it is refused
    (names come from the report: a builder must have checked them, this is the last guard)."""
    parts = [p for p in rel.split("/") if p and p != "."]
    if not parts or ".." in parts or "\0" in rel:
        raise ValueError(f"not a path inside the machine root: {rel!r}")
    return parts
