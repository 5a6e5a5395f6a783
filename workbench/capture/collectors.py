"""What a capture collects: each collector fills its own Tree (and facts) from one source.

A collector reads exactly what the probes read (see ../shared/design.md, machine roots); on a
recorded source (a directory root) it copies what that root holds, so a capture of a capture is
the same machine."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.capture.logcollectors import (
    collect_kernel_log,
    collect_libvirt_log,
    collect_qemu_logs,
)
from workbench.capture.tree import Copier, Tree
from workbench.core.errors import HostReadError
from workbench.core.host import WATCHED_PROCESSES, Host
from workbench.core.identity import machine_facts
from workbench.core.lifecycle import STATES
from workbench.core.mounts import unescape_mount
from workbench.core.pci import is_bdf
from workbench.virt.recorded import LIBVIRT_DIR, domain_member

if TYPE_CHECKING:
    from workbench.virt.hypervisor import Hypervisor

PCI_ATTRS = (
    "vendor",
    "device",
    "class",
    "revision",
    "subsystem_vendor",
    "subsystem_device",
    "boot_vga",
    "reset_method",
    "resource",  # the BARs' ranges: a boot framebuffer inside one still holds it
    "power_state",  # D0 .. D3cold: a device stuck in D3cold cannot be handed to a guest
)
PCI_CONFIG_BYTES = 64  # config space: the standard header only, never the rest (a device's
# capabilities and vendor registers are the device's business; reading them can wake it)
MODULES_WITH_PARAMS = (
    "kvm",
    "kvm_intel",
    "kvm_amd",
    "vfio",
    "vfio_pci",
    "vfio_iommu_type1",
    "kvmfr",
)
DEVICE_NODES = (
    "/dev/kvm",
    "/dev/kvmfr0",
    "/dev/vfio/vfio",
    "/dev/vhost-net",  # host.vhost_net, host.tun, cpu.secure_guest (virt-host-validate's)
    "/dev/net/tun",
    "/dev/sev",
)
LOG_TAIL_BYTES = 4 * 1024 * 1024
LOG_MEMBER = "logs/workbench.log"


@dataclass
class Source:
    """Where a capture reads from.

    A capture asks one hypervisor (`hypervisor()`): made on first use by `new_hypervisor`
    (a Target's), else by the gateway from `host` and `connect`; collect_agents hands it to
    its probe run, which closes it, and the capture closes it again at the end."""

    host: Host
    connect: str | None = None
    log_path: Path | None = None
    agent_timeout_s: float = 3.0
    new_hypervisor: Callable[[], Hypervisor | None] | None = None
    _hypervisor: list[Hypervisor | None] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def hypervisor(self) -> Hypervisor | None:
        """The capture's hypervisor (live, recorded or none, as the gateway decides)."""
        with self._lock:
            if not self._hypervisor:
                if self.new_hypervisor is not None:
                    made = self.new_hypervisor()
                else:
                    from workbench.virt.gateway import open_hypervisor

                    made = open_hypervisor(self.host, self.connect)
                self._hypervisor.append(made)
            return self._hypervisor[0]

    def close(self) -> None:
        """Close the hypervisor, if one was made (idempotent)."""
        with self._lock:
            made = self._hypervisor[0] if self._hypervisor else None
        if made is not None:
            made.close()


@dataclass
class Collected:
    tree: Tree = field(default_factory=Tree)
    facts: dict[str, Any] = field(default_factory=dict)


Collector = Callable[[Source, Collected], None]


def collect_pci(src: Source, out: Collected) -> None:
    """Every PCI function's directory (the attributes probes read), its driver and group links."""
    copy = Copier(src.host, out.tree)
    skipped: dict[str, str] = {}
    for name in copy.listdir("sys/bus/pci/devices"):
        if not is_bdf(name):
            continue
        rel = f"sys/bus/pci/devices/{name}"
        for attr in PCI_ATTRS:
            copy.file(f"{rel}/{attr}")
        if _d3cold(copy, f"{rel}/power_state"):
            # Reading config space resumes a runtime-suspended device: a capture never wakes
            # a GPU it is asked to observe (its power state, just recorded, is the evidence).
            # The same on a recorded root: a capture of a capture is the same machine.
            skipped[name] = "D3cold: reading config space would wake it"
        else:
            copy.head(f"{rel}/config", PCI_CONFIG_BYTES)  # all ones: the device fell off
        copy.link(f"{rel}/driver")
        copy.link(f"{rel}/iommu_group")
    for driver in copy.listdir("sys/bus/pci/drivers"):
        out.tree.add_dir(f"sys/bus/pci/drivers/{driver}")
    if skipped:
        out.facts["pci_config_not_read"] = skipped


def _d3cold(copy: Copier, rel: str) -> bool:
    """Whether the power state just copied to the tree says D3cold."""
    real = copy.resolve(rel)
    data = copy.tree.files.get(real or "", b"")
    return data.strip() == b"D3cold"


def collect_iommu(src: Source, out: Collected) -> None:
    """IOMMU groups and their members, IOMMU units, the names of the ACPI tables (DMAR, IVRS)."""
    copy = Copier(src.host, out.tree)
    for group in copy.listdir("sys/kernel/iommu_groups"):
        base = f"sys/kernel/iommu_groups/{group}"
        copy.file(f"{base}/type")
        for member in copy.listdir(f"{base}/devices"):
            copy.link(f"{base}/devices/{member}")
    for unit in copy.listdir("sys/class/iommu"):
        copy.link(f"sys/class/iommu/{unit}")
    for table in copy.listdir("sys/firmware/acpi/tables"):
        if table.isalnum():  # the tables themselves are binary and root-only: names suffice
            out.tree.add_bytes(f"sys/firmware/acpi/tables/{table}", b"")


def collect_kernel(src: Source, out: Collected) -> None:
    """Command line, CPU, memory (and /proc/iomem), host name, kernel release, modules and
    their parameters (vfio_pci's disable_idle_d3 among them), hugepages."""
    copy = Copier(src.host, out.tree)
    out.facts["iomem"] = _iomem(src, copy)
    # What tells this machine from others, for `diff` and `fleet --compare` (a recorded
    # machine keeps what its own manifest said).
    out.facts["identity"] = machine_facts(src.host)
    for rel in (
        "proc/cmdline",
        "proc/cpuinfo",
        "proc/meminfo",
        "proc/sys/kernel/hostname",
        "proc/sys/kernel/osrelease",
    ):
        copy.file(rel)
    for module in copy.listdir("sys/module"):
        out.tree.add_dir(f"sys/module/{module}")
        if module in MODULES_WITH_PARAMS:
            for param in copy.listdir(f"sys/module/{module}/parameters"):
                copy.file(f"sys/module/{module}/parameters/{param}")
    base = "sys/kernel/mm/hugepages"
    for size in copy.listdir(base):
        for key in ("nr_hugepages", "free_hugepages", "resv_hugepages"):
            copy.file(f"{base}/{size}/{key}")
    _cgroups(src.host, copy)


def _cgroups(host: Host, copy: Copier) -> None:
    """What host.cgroups reads: the cgroup and cgroup2 lines of /proc/mounts (only those: other
    mounts name file servers and paths that are no business of a capture), each cgroup2
    mount's cgroup.controllers, this process's /proc/self/cgroup, and whether it could run
    libvirt's BPF query for v2's devices (its CapEff line and uid_map: probes.cgroup_devices)."""
    copy.file("proc/self/cgroup")
    copy.file("proc/self/uid_map")
    status, _ = host.try_read("proc/self/status")
    if status is not None:  # the capability line only: no pid, name or memory figures
        caps = [line for line in status.splitlines()[:200] if line.startswith("CapEff:")][:1]
        copy.tree.add_bytes("proc/self/status", "".join(f"{line}\n" for line in caps).encode())
    text, _ = host.try_read("proc/self/mounts" if host.live else "proc/mounts")
    if text is None:
        return
    kept = [line for line in text.splitlines() if line.split()[2:3] in (["cgroup"], ["cgroup2"])]
    copy.tree.add_bytes("proc/mounts", "".join(f"{line}\n" for line in kept).encode())
    for fields in (line.split() for line in kept):
        if fields[2] == "cgroup2":  # a mount point's spaces are octal escapes (\\040)
            copy.file(f"{unescape_mount(fields[1]).strip('/')}/cgroup.controllers")


def _iomem(src: Source, copy: Copier) -> dict[str, Any]:
    """Copy /proc/iomem and say how it was read: to anyone but root the kernel shows every
    address as zero, which hides a boot framebuffer inside a BAR (not the same as none)."""
    if not copy.file("proc/iomem"):
        return {"recorded": False}
    if src.host.live:
        as_root: bool | None = os.geteuid() == 0
    else:
        said = src.host.manifest.get("facts", {})
        said = said.get("iomem") if isinstance(said, dict) else None
        as_root = said.get("read_as_root") if isinstance(said, dict) else None
        as_root = as_root if isinstance(as_root, bool) else None  # not said: unknown
    text = copy.tree.files.get("proc/iomem", b"")
    zeroed = bool(text.strip()) and all(
        line.strip().startswith(b"00000000-00000000") for line in text.splitlines() if line.strip()
    )
    return {"recorded": True, "read_as_root": as_root, "addresses_zeroed": zeroed}


def collect_devices(src: Source, out: Collected) -> None:
    """/dev nodes as facts (type, mode, owner, whether this user can open them), the Looking
    Glass shared-memory files as sparse files of their size, the watched processes."""
    host = src.host
    nodes: dict[str, Any] = {}
    for path in DEVICE_NODES:
        if not host.device_recorded(path):
            continue
        node = host.device_node(path)
        nodes[path] = None if node is None else node.to_dict()
    out.facts["device_nodes"] = nodes
    sizes: dict[str, int] = {}
    for name in Copier(host, out.tree).listdir("dev/shm"):  # records a /dev/shm link too
        if name.startswith("looking-glass"):
            node = host.device_node(f"/dev/shm/{name}")  # noqa: S108 - read, never created
            if node is not None and node.size is not None:
                sizes[name] = node.size
    out.facts["shm_sizes"] = sizes  # written as sparse files by the archive
    processes = host.processes(WATCHED_PROCESSES)
    if processes is not None:
        out.facts["processes"] = [{"pid": p.pid, "name": p.name, "user": p.user} for p in processes]


def collect_libvirt(src: Source, out: Collected) -> None:
    """The hypervisor through a read-only connection: versions, capabilities, each domain's XML
    and state. Never secrets, keys or the secure XML (passwords). On a recorded source: what it
    recorded, as recorded."""
    from workbench.core.errors import WorkbenchError

    hv = src.hypervisor()
    if hv is None:
        return
    if hv.recorded:
        _copy_recorded_libvirt(src, out)
        return
    base = LIBVIRT_DIR
    try:
        info = hv.info()
        caps = hv.capabilities()
        domains = hv.domains()  # listed once: collect_agents' probes are answered from it
    except WorkbenchError as exc:
        out.tree.add_bytes(
            f"{base}/connection.json", _json({"uri": hv.uri, "error": exc.to_dict()})
        )
        return
    facts = {k: v for k, v in info.to_dict().items() if k not in ("readonly", "recorded")}
    out.tree.add_bytes(f"{base}/connection.json", _json(facts))
    out.tree.add_bytes(f"{base}/capabilities.xml", (caps.xml or "").encode())
    listing = []
    for dom in domains:
        if dom.xml is None:  # it could not be read: said in the manifest, never half-recorded
            out.tree.problems.append(f"libvirt domain {dom.name}: {dom.problem}")
            continue
        state = STATES.index(dom.state) if dom.state in STATES else 0
        listing.append(
            {"name": dom.name, "state": state, "reason": dom.reason, "persistent": dom.persistent}
        )
        out.tree.add_bytes(domain_member(dom.name), dom.xml.encode())
    out.tree.add_bytes(f"{base}/domains.json", _json(listing))


def collect_agents(src: Source, out: Collected) -> None:
    """What each running domain's guest agent answers (the guest.agent probe's own queries).
    The last to ask the capture's hypervisor: its run closes it."""
    hv = src.hypervisor()
    if hv is None or hv.recorded:
        return  # a recorded source's answers came with its libvirt directory
    from workbench.core.runner import run_probes

    report = run_probes(
        src.host,
        only=["libvirt.connection", "libvirt.domains", "guest.agent"],
        hypervisor=hv,
        options={"agent_timeout": src.agent_timeout_s},
    )
    result = next(p for p in report.probes if p.id == "guest.agent")
    out.tree.add_bytes(
        f"{LIBVIRT_DIR}/agents.json",
        _json(
            {
                "status": result.status,
                "summary": result.summary,
                "facts": result.facts,
                "findings": [f.to_dict() for f in result.findings],
            }
        ),
    )


def collect_log(src: Source, out: Collected) -> None:
    """The last few MiB of a workbench log, whole lines only: the capturing user's own log only
    when capturing the live machine (a recorded root is somebody else's machine: it brings its
    own `logs/workbench.log` or none). The manifest's `facts.log` says which."""
    if src.host.live:
        path, origin = src.log_path, "the capturing user's workbench log"
        if path is None:
            out.facts["log"] = {"source": None, "note": "no log file was named"}
            return
    else:
        try:
            path = src.host.path(LOG_MEMBER)  # resolved inside the root, links included
        except HostReadError as exc:
            out.tree.problems.append(exc.message)
            path = None
        origin = f"root:{LOG_MEMBER}"
    data = None if path is None else _log_tail(path, out)
    if data is None:
        note = (
            "the live machine's log was not found"
            if src.host.live
            else f"the recorded root has no log of its own ({LOG_MEMBER}); "
            "the analyst's own log is never bundled"
        )
        out.facts["log"] = {"source": None, "note": note}
        return
    out.facts["log"] = {"source": origin}
    out.tree.add_bytes(LOG_MEMBER, data)


def _log_tail(path: Path, out: Collected) -> bytes | None:
    """The tail of the log at `path`, read from one open file (a rotation meanwhile renames the
    file under us, which changes nothing for an open one); None when there is none."""
    # Mid-rotation the log is briefly missing (renamed to .1, not yet re-created): then the
    # file just rotated holds the newest records.
    for candidate in (path, path.with_name(path.name + ".1")):
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            break
        except FileNotFoundError:
            continue
        except OSError as exc:
            out.tree.problems.append(f"log {candidate}: {exc.strerror}")
            return None
    else:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            out.tree.problems.append(f"log {candidate}: not a regular file")
            return None
        start = max(0, st.st_size - LOG_TAIL_BYTES)
        data = os.pread(fd, st.st_size - start, start)
    finally:
        os.close(fd)
    if start > 0:
        data = data.partition(b"\n")[2]  # the first line was cut
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


def _copy_recorded_libvirt(src: Source, out: Collected) -> None:
    """A recorded source's hypervisor recording, read through the Host (inside its root)."""
    if src.host.live:
        return
    copy = Copier(src.host, out.tree)
    todo, seen = [LIBVIRT_DIR], set()
    while todo:
        folder = todo.pop()
        real = copy.resolve(folder)
        if real is None or real in seen:  # a link back up would walk for ever
            continue
        seen.add(real)
        for name in copy.listdir(folder):
            rel = f"{folder}/{name}"
            if src.host.is_dir(rel):
                todo.append(rel)
            else:
                copy.file(rel)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()


COLLECTORS: dict[str, Collector] = {
    "pci": collect_pci,
    "iommu": collect_iommu,
    "kernel": collect_kernel,
    "kernel_log": collect_kernel_log,
    "devices": collect_devices,
    "libvirt": collect_libvirt,
    "agents": collect_agents,
    "qemu_logs": collect_qemu_logs,
    "libvirt_log": collect_libvirt_log,
    "log": collect_log,
}
