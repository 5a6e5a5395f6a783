"""`host.cgroups`: the cgroup controllers libvirt's QEMU driver uses, found as libvirt finds
them (src/util/vircgroup*.c, as `virt-host-validate qemu` runs it): /proc/mounts names the
cgroup (v1) and cgroup2 mounts; v2 counts when its first cgroup2 mount's `cgroup.controllers`
is readable; its controllers are the root's `cgroup.controllers` (`io` is blkio) plus cpuacct
(cpu.stat) and devices when this process could query the cgroup's BPF programs
(probes.cgroup_devices); a v1 controller is one named in a cgroup mount's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from probes.cgroup_devices import bpf_query_allowed
from workbench.core.host import Host
from workbench.core.mounts import unescape_mount
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, not_recorded, unreadable
from workbench.core.text import safe_text

CHECKED = ("cpu", "cpuacct", "cpuset", "memory", "devices", "blkio")  # vhv's order
V1_NAMES = frozenset(
    ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "net_cls", "perf_event")
)
V2_NAMES = {name: name for name in V1_NAMES - {"blkio"}} | {"io": "blkio"}
MAX_MOUNTS = 10_000


def hint(name: str) -> str:
    """virt-host-validate's hint for a missing controller, word for word."""
    return (
        f"Enable '{name}' in kernel Kconfig file or mount/enable cgroup controller in your system"
    )


def parse_mounts(text: str) -> list[tuple[str, str, str]]:
    """(mount point, type, options) of each /proc/mounts line (octal escapes such as \\040
    decoded); malformed lines are skipped, at most MAX_MOUNTS lines read."""
    out = []
    for line in text.splitlines()[:MAX_MOUNTS]:
        fields = line.split()
        if len(fields) >= 4:
            out.append((unescape_mount(fields[1]), fields[2], fields[3]))
    return out


@dataclass
class Cgroups:
    """What libvirt would find: its backends, the controllers present, or why it cannot start."""

    backends: list[str] = field(default_factory=list)  # "v2", "v1" (both: hybrid)
    controllers: set[str] = field(default_factory=set)
    error: str | None = None  # virCgroupNew failed: vhv prints no controller line at all
    unrecorded: str | None = None  # a file the verdict needs that the recording lacks
    devices_why: str | None = None  # v2 `devices`: why libvirt could (not) use it, or unknown
    devices_unknown: bool = False  # v2 only, and whether libvirt could query BPF not recorded


def _controllers_file(mount: str) -> str:
    return f"{mount.strip('/')}/cgroup.controllers".lstrip("/")


def find_cgroups(host: Host, mounts: list[tuple[str, str, str]]) -> Cgroups:
    """libvirt's detection over the machine's mounts (see the module's docstring)."""
    found = Cgroups()
    v2_mounts = [where for where, kind, _ in mounts if kind == "cgroup2"]
    v1_named = {
        opt for _, kind, opts in mounts if kind == "cgroup" for opt in opts.split(",")
    } & V1_NAMES
    if v2_mounts:
        rel = _controllers_file(v2_mounts[0])
        text, _ = host.try_read(rel)
        if text is None and not host.live and not host.exists(rel):
            found.unrecorded = rel
            return found
        if text is not None and text != "":  # the kernel writes "\n" even for none: available
            found.backends.append("v2")
            rel = _controllers_file(v2_mounts[-1])  # the last cgroup2 mount, placement "/"
            text, _ = host.try_read(rel)
            if text is None:
                found.error = f"Unable to read from '/{rel}'"
                return found
            found.controllers |= {V2_NAMES[n] for n in text.split()[:20] if n in V2_NAMES}
            found.controllers.add("cpuacct")  # cpu.stat
            allowed, found.devices_why = bpf_query_allowed(host)
            if allowed:
                found.controllers.add("devices")  # the BPF device filter
            found.devices_unknown = allowed is None
    if any(kind == "cgroup" for _, kind, _ in mounts):
        found.backends.append("v1")
        found.controllers |= v1_named
    if not found.backends:
        found.error = "no cgroup backend available"
    if "devices" in found.controllers:
        found.devices_unknown = False  # v1's devices controller: no BPF needed
    return found


def placement(host: Host) -> dict[str, str] | None:
    """This process's cgroup per hierarchy (/proc/self/cgroup: "" is v2's), as libvirt reads
    it for the placement of a group it makes; None when not recorded."""
    text, _ = host.try_read("proc/self/cgroup")
    if text is None:
        return None
    out: dict[str, str] = {}
    for line in text.splitlines()[:64]:
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[safe_text(parts[1][:100])] = safe_text(parts[2][:300])
    return out


class CgroupControllers(Probe):
    id = "host.cgroups"
    title = "cgroup controllers"
    area = "host"
    order = 94

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        # /proc/mounts is a link to self/mounts, which a live read does not follow.
        text, problem = host.try_read("proc/self/mounts" if host.live else "proc/mounts")
        if text is None:
            return unreadable("proc/mounts", problem or "missing", live=host.live, host=host)
        found = find_cgroups(host, parse_mounts(text))
        if found.unrecorded:
            return not_recorded(found.unrecorded, host=host)
        facts: dict[str, Any] = {
            "backends": found.backends,
            # null: not recorded (v2 devices: whether this process could query BPF)
            "controllers": {
                name: None
                if name == "devices" and found.devices_unknown
                else name in found.controllers
                for name in CHECKED
            },
            "devices_bpf": found.devices_why,
            "placement": placement(host),
            "error": found.error,
        }
        mode = {("v2",): "v2", ("v1",): "v1", ("v2", "v1"): "hybrid"}.get(tuple(found.backends))
        if found.error:
            why = safe_text(found.error[:300])
            finding = Finding(
                "CGROUPS_UNUSABLE",
                "warn",
                f"libvirt cannot initialize cgroups ({why}): no VM gets CPU, memory or "
                "device limits.",
                "Mount the cgroup2 hierarchy at /sys/fs/cgroup (systemd does at boot), or the "
                "v1 controllers, then restart libvirtd/virtqemud.",
            )
            return Outcome("warn", f"cgroups unusable: {why}", facts, [finding])
        unknown = ["devices"] if found.devices_unknown else []
        missing = [n for n in CHECKED if n not in found.controllers and n not in unknown]
        notes = [
            Finding(
                "CGROUP_DEVICES_NOT_RECORDED",
                "info",
                f"cgroup v2 'devices' is not judged: {found.devices_why}; libvirt uses it only "
                "when its process may query the cgroup's BPF programs (CAP_NET_ADMIN).",
                "Capture the machine again with `workbench capture` (it records the "
                "capturing process's capabilities), as the user libvirtd runs as.",
            )
            for _ in unknown
        ]
        have = [n for n in CHECKED if n in found.controllers]
        if not missing:
            said = ", ".join(have) + ("; devices not recorded" if unknown else "")
            return Outcome("pass", f"cgroup {mode}: {said}", facts, notes)
        bpf = f" On cgroup v2 libvirt needs a BPF query for it: {found.devices_why}."
        findings = [
            Finding(
                "CGROUP_CONTROLLER_MISSING",
                "warn",
                f"cgroup controller '{name}' is not available ({mode}): libvirt cannot apply "
                "the limits it governs." + (bpf if name == "devices" and found.devices_why else ""),
                hint(name) + ".",
            )
            for name in missing
        ]
        return Outcome(
            "warn", f"cgroup {mode}: missing {', '.join(missing)}", facts, findings + notes
        )
