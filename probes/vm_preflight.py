"""`vm.preflight`: can each VM start now, and why did its last start fail?

Per domain: its hostdevs present, their IOMMU groups viable by the kernel's rule, the whole
card given, its memory against the free hugepages of its page size (and host NUMA nodes), the
files QEMU's user must open (`/dev/vfio/N`, ROM, firmware), the devices' own state as
`pci.device_state` found it (vm_devstate), and, for a shut-off domain whose last start failed,
that failure explained from its QEMU log with the cause catalogue.

`libvirt.domains` already reports a missing hostdev, a hostdev on a host driver and a partial
card as findings (with their causes), `pci.device_state` a device's broken state: here they are
checks and causes of the VM, not findings again. Absent evidence is "not recorded" (`ready`
null), never ready; a hypervisor on another machine (its URI's host) has its domains' devices,
files and logs there: none is judged here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probes.gpus import VFIO_DRIVER
from probes.group_findings import group_users
from probes.libvirt_conn import HYPERVISOR_HUNG
from probes.libvirt_domains import domains_not_recorded
from probes.vm_access import (
    READ,
    WRITE,
    Node,
    QemuUser,
    live_node,
    may,
    qemu_user,
    recorded_node,
    user_groups,
)
from probes.vm_checks import NOT_RECORDED, Check
from probes.vm_devstate import CHECK as DEVSTATE_CHECK
from probes.vm_devstate import state_checks, vm_devices
from probes.vm_hugepages import check_hugepages
from probes.vm_startlog import LastStart, last_start
from workbench.core.host import Host
from workbench.core.pci import PciInventory
from workbench.core.probe import Probe, ProbeContext
from workbench.core.remote import machine_names, remote_host
from workbench.core.report import Finding, Outcome, ProbeResult, worst
from workbench.core.text import safe_text
from workbench.core.viability import group_viability
from workbench.explain.model import CauseMatch, Evidence, Severity
from workbench.explain.shown import shown_by_facts
from workbench.virt.hypervisor import DomainSnapshot

# What a remote hypervisor's domain would need checked on its own machine.
REMOTE_CHECKS = ("hostdev", "iommu_group", "hugepages", "files")
# Causes of a start that cannot happen now though nothing is wrong: a warning, and not ready.
BLOCKS_NOW = frozenset({"VFIO_GROUP_BUSY"})


class _Vm:
    """What is found for one domain while it is judged."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.checks: list[Check] = []
        self.causes: list[CauseMatch] = []

    def add(self, check: Check, *evidence: Evidence, **subject: str) -> None:
        self.checks.append(check)
        if check.cause is not None:
            where = list(evidence) or [Evidence(0, check.detail, check.subject)]
            severity: Severity | None = "warn" if check.status == "warn" else None
            cause = shown_by_facts(
                check.cause, {"vm": self.name, **subject}, where, severity=severity
            )
            self.causes.append(cause)

    def add_found(self, check: Check, cause: CauseMatch | None) -> None:
        """A check carrying a cause another probe found (kept as found, about this VM)."""
        self.checks.append(check)
        if cause is not None:
            self.causes.append(replace(cause, subject={"vm": self.name, **cause.subject}))

    @property
    def ready(self) -> bool | None:
        statuses = {c.status for c in self.checks}
        if "fail" in statuses or any(c.cause in BLOCKS_NOW for c in self.checks):
            return False
        return None if NOT_RECORDED in statuses else True


def check_devices(vm: _Vm, dom: DomainSnapshot, inv: PciInventory, live: bool) -> None:
    """Hostdevs present and bound as a start needs; groups viable; whole cards given."""
    config = dom.config
    if config is None:  # unreadable XML: libvirt.domains says so
        return
    passed = {h.bdf for h in config.hostdevs}
    groups: dict[int, list[str]] = {}
    for hostdev in config.hostdevs:
        bdf = hostdev.bdf
        dev = inv.by_bdf.get(bdf)
        if dev is None:
            if live or inv.devices_recorded:
                vm.add(Check("hostdev", bdf, "fail", f"{bdf} does not exist on this machine"))
            else:
                vm.add(Check("hostdev", bdf, NOT_RECORDED, "the machine's PCI devices"))
            continue
        driver = dev.driver
        if driver is None and not dev.driver_known:  # a driver may be bound: which is not known
            vm.add(Check("hostdev", bdf, NOT_RECORDED, "which driver it is on"))
        elif driver == VFIO_DRIVER:
            vm.add(Check("hostdev", bdf, "pass", "present, on vfio-pci"))
        elif hostdev.managed:
            vm.add(
                Check(
                    "hostdev",
                    bdf,
                    "pass",
                    f"present, on {driver or 'no driver'}; managed='yes': libvirt detaches it "
                    "to vfio-pci at start",
                )
            )
        else:
            vm.add(
                Check(
                    "hostdev",
                    bdf,
                    "fail",
                    f"on {driver or 'no driver'}, not vfio-pci, and managed='no': libvirt "
                    "leaves it there",
                    "HOST_DRIVER_BOUND" if driver else None,
                ),
                bdf=bdf,
                **({"driver": driver} if driver else {}),
            )
        if dev.iommu_group is not None:
            groups.setdefault(dev.iommu_group, []).append(bdf)
        elif live or inv.groups_recorded:
            vm.add(
                Check("iommu_group", bdf, "fail", f"{bdf} is in no IOMMU group", "NO_IOMMU_GROUP"),
                bdf=bdf,
            )
        else:
            vm.add(Check("iommu_group", bdf, NOT_RECORDED, "the machine's IOMMU groups"))
        if dev.is_gpu:
            missing = [f.bdf for f in inv.card_functions(dev) if f.bdf not in passed]
            if missing:
                vm.add(
                    Check(
                        "card",
                        bdf,
                        "warn",
                        f"the card's other functions are not given: {', '.join(missing)}",
                        "INCOMPLETE_DEVICE_FUNCTIONS",
                    ),
                    bdf=bdf,
                    device=missing[0],
                )
            else:
                vm.add(Check("card", bdf, "pass", "every function of the card is given"))
    for group, mine in sorted(groups.items()):
        check_group(vm, group, mine, passed, inv)


def check_group(vm: _Vm, group: int, mine: list[str], passed: set[str], inv: PciInventory) -> None:
    """The kernel's rule (workbench.core.viability; the VM's own hostdevs are judged as
    hostdevs): a member on a host driver fails it, one whose driver is not recorded is not
    judged."""
    via = group_viability(inv, group, frozenset(passed))
    for member in via.not_recorded:
        vm.add(Check("iommu_group", str(group), NOT_RECORDED, f"member {member}'s driver"))
    subject = f"group {group}"
    blockers = via.blockers
    if not blockers:
        if via.viable:
            vm.add(Check("iommu_group", subject, "pass", f"viable (of {', '.join(mine)})"))
        return
    named = "; ".join(f"{b.bdf} on {b.driver}" for b in blockers)
    evidence = [
        Evidence(0, f"{b.bdf} driver {b.driver}", f"/{b.sysfs or 'sys/bus/pci/devices/' + b.bdf}")
        for b in blockers
    ]
    vm.add(
        Check(
            "iommu_group",
            subject,
            "fail",
            f"not viable: {named} (members must be on vfio-pci or pci-stub, on no driver, or be "
            "bridges on pcieport)",
            "GROUP_MEMBER_NOT_VFIO",
        ),
        *evidence,
        group=str(group),
        device=blockers[0].bdf,
        driver=blockers[0].driver or "",
    )


def groups_held(listed: list[DomainSnapshot], inv: PciInventory) -> dict[int, list[str]]:
    """The IOMMU groups running domains hold (group -> their names)."""
    running = [d for d in listed if d.running and d.config is not None]
    return group_users(
        ((d.name, [h.bdf for h in d.config.hostdevs]) for d in running if d.config), inv
    )


def check_held(vm: _Vm, dom: DomainSnapshot, inv: PciInventory, held: dict[int, list[str]]) -> None:
    """A group of this VM's hostdevs that a running VM holds: its start would find the group
    busy (one VFIO container per group)."""
    config = dom.config
    groups = sorted(
        {
            d.iommu_group
            for h in (config.hostdevs if config else [])
            if (d := inv.by_bdf.get(h.bdf)) and d.iommu_group is not None
        }
    )
    for group in groups:
        others = [n for n in held.get(group, []) if n != dom.name]
        if others:
            vm.add(
                Check(  # a warning: it cannot start now, yet nothing is broken (see BLOCKS_NOW)
                    "iommu_group",
                    f"group {group}",
                    "warn",
                    f"held by running VM {', '.join(others)}: a group is given to one VM at a "
                    "time, so it cannot start while that one runs",
                    "VFIO_GROUP_BUSY",
                ),
                group=str(group),
            )


def check_files(
    vm: _Vm, dom: DomainSnapshot, host: Host, inv: PciInventory, user: QemuUser
) -> None:
    """`/dev/vfio/N` of each hostdev's group, ROM files and firmware, for QEMU's user."""
    config = dom.config
    if config is None:  # unreadable XML: libvirt.domains says so
        return
    groups = sorted(
        {
            d.iommu_group
            for h in config.hostdevs
            if (d := inv.by_bdf.get(h.bdf)) and d.iommu_group is not None
        }
    )
    for group in groups:
        path = f"/dev/vfio/{group}"
        if user.relabel:
            vm.add(Check("vfio_node", path, "pass", f"libvirt hands it to {user.shown} at start"))
        else:
            _judge(
                vm,
                host,
                user,
                path,
                READ | WRITE,
                "vfio_node",
                "VFIO_DEVICE_PERMISSION",
                absent="info",
            )
    for hostdev in config.hostdevs:
        if hostdev.rom:
            _judge(vm, host, user, hostdev.rom, READ, "rom", "ROMFILE_UNREADABLE", absent="fail")
            # A ROM that is not there is one QEMU cannot read: the same cause.
    if config.loader:
        _judge(
            vm, host, user, config.loader, READ, "loader", "IMAGE_PATH_PERMISSION", absent="fail"
        )
    if config.nvram:
        if user.relabel:
            shown = safe_text(config.nvram)
            vm.add(Check("nvram", shown, "pass", f"libvirt hands it to {user.shown} at start"))
        else:
            _judge(
                vm,
                host,
                user,
                config.nvram,
                READ | WRITE,
                "nvram",
                "IMAGE_PATH_PERMISSION",
                absent="info",
            )


def _judge(
    vm: _Vm, host: Host, user: QemuUser, path: str, need: int, check: str, cause: str, absent: str
) -> None:
    """Whether QEMU's user gets `need` on `path` (and can reach it: search on each parent)."""
    wants = "read and write" if need & WRITE else "read"
    if not path.startswith("/") or "\0" in path:
        vm.add(Check(check, safe_text(path), "fail", "not an absolute path"))
        return
    shown = safe_text(path)
    nodes = _nodes(host, path)
    if nodes is None:
        vm.add(
            Check(
                check,
                shown,
                NOT_RECORDED,
                "its owner and mode (a capture records only "
                "device nodes; run `workbench probe` on the machine)",
            )
        )
        return
    node = nodes[-1]
    if node is None:
        if absent == "fail":
            missing = cause if cause == "ROMFILE_UNREADABLE" else None
            vm.add(Check(check, shown, "fail", "does not exist", missing), path=shown)
        else:
            vm.add(Check(check, shown, absent, "does not exist yet (made at start)"))
        return
    groups = user_groups(host, user)
    verdicts = [may(parent, user, groups, 1) for parent in nodes[:-1] if parent is not None]
    verdicts.append(may(node, user, groups, need))
    mode = f"{node.mode:04o} {node.owner}:{node.group}"
    if False in verdicts:
        blocked = "cannot reach its directory" if False in verdicts[:-1] else f"cannot {wants} it"
        vm.add(
            Check(check, shown, "fail", f"{user.shown} ({user.source}) {blocked} ({mode})", cause),
            path=shown,
        )
    elif None in verdicts:
        vm.add(
            Check(
                check,
                shown,
                NOT_RECORDED,
                f"whether {user.shown} is in group {node.group} ({mode})",
            )
        )
    else:
        vm.add(Check(check, shown, "pass", f"{user.shown} ({user.source}) can {wants} it ({mode})"))


def _nodes(host: Host, path: str) -> list[Node | None] | None:
    """The parents' and the file's ownership (live: stat; recorded: the manifest's device
    nodes, for the file only); None when not recorded."""
    if not host.live:
        recorded, node = recorded_node(host, path)
        return [node] if recorded else None
    parts = path.strip("/").split("/")
    out: list[Node | None] = []
    for n in range(1, len(parts) + 1):
        try:
            out.append(live_node(host, "/".join(parts[:n])))
        except OSError:
            return None
        if out[-1] is None:
            break
    return out + [None] * (len(parts) - len(out))


def _reported(result: ProbeResult | None, vm: str, key: str, bdf: str) -> bool:
    """Whether libvirt.domains already said this (a cause code or its own code, for `vm`)."""
    return result is not None and any(
        key in (f.cause, f.code) and f.message.startswith(f"{vm}:") and bdf in f.message
        for f in result.findings
    )


def _state_reported(result: ProbeResult | None, cause: CauseMatch) -> bool:
    """Whether pci.device_state already has this cause (of this device) as a finding."""
    bdf = cause.subject.get("bdf", "")
    return result is not None and any(
        f.cause == cause.code and bdf in f.message for f in result.findings
    )


def _log_findings(causes: list[CauseMatch], log: str) -> list[CauseMatch]:
    """The causes a log shows that deserve a finding: ranked first, each needs a line of the
    log no better-ranked cause explains (an ambiguous line's other candidates stay facts)."""
    explained: set[int] = set()
    out = []
    for cause in causes:
        lines = {e.line for e in cause.evidence if e.source == log}
        if lines and lines <= explained:
            continue
        explained |= lines
        out.append(cause)
    return out


def _finding(vm: str, cause: CauseMatch, prefix: str = "") -> Finding:
    subject = ", ".join(f"{k} {v}" for k, v in cause.subject.items() if k != "vm")
    message = f"{vm}: {prefix}{cause.title}" + (f" ({subject})" if subject else "") + "."
    return Finding(cause.code, cause.severity, safe_text(message), cause.remedy, cause=cause.code)


class VmPreflight(Probe):
    id = "vm.preflight"
    title = "Can each VM start now?"
    area = "libvirt"
    order = 115
    requires = ("libvirt.connection",)
    uses = ("libvirt.domains",)
    consults = ("pci.device_state",)  # when it skipped or errored: device state not judged
    timeout_s = 20.0
    timeout_remedy = HYPERVISOR_HUNG

    def run(self, ctx: ProbeContext) -> Outcome:
        hv = ctx.hypervisor
        if hv is None:  # libvirt.connection skipped already; never reached through the runner
            return Outcome("skip", "no hypervisor (libvirt.connection says why)")
        host = ctx.host
        listed = hv.domains()
        unrecorded = domains_not_recorded(host, listed)
        if unrecorded is not None:
            return Outcome("skip", f"domains: {safe_text(unrecorded)}", {"vms": {}, "causes": []})
        inv = host.pci()
        domains = ctx.results.get("libvirt.domains")
        state = ctx.results.get("pci.device_state")
        vms: dict[str, dict[str, Any]] = {}
        findings: list[Finding] = []
        remote = remote_host(hv.uri, machine_names(host))
        if remote is not None:  # its devices, files and logs are not this machine's
            vms = {dom.name: _remote_entry(dom, remote) for dom in listed}
            summary = f"not recorded: remote hypervisor (run workbench on {remote})"
            return Outcome("skip", summary, {"vms": vms, "causes": [], "remote": remote})
        held = groups_held(listed, inv)
        for dom in listed:
            config = dom.config
            if config is None:  # libvirt.domains reports the unreadable XML
                vms[dom.name] = {
                    "state": dom.state if dom.state_recorded else None,
                    "running": dom.running,
                    "ready": None,
                    "checks": [],
                    "causes": [],
                }
                continue
            vm = _Vm(dom.name)
            check_devices(vm, dom, inv, host.live)
            if not dom.running:
                check_held(vm, dom, inv, held)
            for check, found in state_checks(state, vm_devices(dom, inv)):
                vm.add_found(check, found)
            user = qemu_user(host, dom, hv.uri)
            check_files(vm, dom, host, inv, user)
            if not dom.running:
                for check, evidence, subject in check_hugepages(host, dom):
                    vm.add(check, *(evidence or []), **subject)
            for cause in vm.causes:
                key, bdf = cause.code, cause.subject.get("bdf", "")
                if cause.code == "INCOMPLETE_DEVICE_FUNCTIONS":
                    key = "DOMAIN_CARD_PARTIAL"
                if not _reported(domains, vm.name, key, bdf) and not _state_reported(state, cause):
                    findings.append(_finding(vm.name, cause))
            for check in vm.checks:
                if (
                    check.status == "fail"
                    and check.cause is None
                    and not _reported(domains, vm.name, "DOMAIN_HOSTDEV_MISSING", check.subject)
                    and not _reported(domains, vm.name, "DOMAIN_HOSTDEV_NOT_VFIO", check.subject)
                ):
                    findings.append(
                        Finding(
                            "VM_START_BLOCKED",
                            "fail",
                            safe_text(f"{vm.name}: {check.check} {check.subject}: {check.detail}."),
                            "Fix it before starting the VM (the domain XML with `virsh edit`, or "
                            "the machine).",
                        )
                    )
            ready = vm.ready
            if ready is False and not dom.running:
                _said_elsewhere(findings, vm)
            entry: dict[str, Any] = {
                "state": dom.state if dom.state_recorded else None,
                "running": dom.running,
                "ready": ready,
                "qemu_user": user.to_dict(),
                "checks": [c.to_dict() for c in vm.checks],
            }
            if not dom.running:
                start = last_start(host, vm.name)
                entry["last_start"] = start.to_dict()
                now = {c.code for c in vm.causes}
                for cause in _log_findings(start.causes, start.log):
                    if cause.code not in now:  # already a finding of what it needs now
                        findings.append(_finding(vm.name, cause, "last start failed: "))
                for cause in start.causes:
                    cause.subject.setdefault("vm", vm.name)
                vm.causes += start.causes
                if start.failed and not start.causes:
                    findings.append(
                        Finding(
                            "VM_LAST_START_FAILED",
                            "warn",
                            f"{vm.name}: its last start failed; its QEMU log names no known cause.",
                            f"Read the end of {safe_text(start.log)}.",
                        )
                    )
                if start.failed and ready:
                    entry["ready"] = None  # the checks pass, yet it failed: it may again
            entry["causes"] = [c.to_dict() for c in vm.causes]
            vms[vm.name] = entry
        facts: dict[str, Any] = {
            "vms": vms,
            "causes": [c for v in vms.values() for c in v["causes"]],
        }
        return Outcome(worst(findings), _summary(vms), facts, findings)


# Which probe reports a failing check this one does not repeat (the rest: libvirt.domains).
_REPORTED_BY = {DEVSTATE_CHECK: "pci.device_state"}


def _said_elsewhere(findings: list[Finding], vm: _Vm) -> None:
    """A VM that cannot start whose every failing check another probe already reported (its
    finding is not repeated here): still a failure of this probe, pointing there, so that
    vm.preflight never passes while it says "cannot"."""
    if any(
        f.severity == "fail" and f.message.startswith(f"{safe_text(vm.name)}:") for f in findings
    ):
        return
    failing = next((c for c in vm.checks if c.status == "fail"), None)
    if failing is None:
        return
    findings.append(
        Finding(
            "VM_CANNOT_START",
            "fail",
            safe_text(f"{vm.name}: cannot start ({failing.check} check failed)."),
            f"{_REPORTED_BY.get(failing.check, 'libvirt.domains')}'s finding about it says why, "
            "with its cause and remedy.",
        )
    )


def _remote_entry(dom: DomainSnapshot, remote: str) -> dict[str, Any]:
    """A domain of another machine's hypervisor: nothing this machine holds judges it."""
    why = f"remote hypervisor: run workbench on {remote}"
    checks = [Check(c, dom.name, NOT_RECORDED, why) for c in REMOTE_CHECKS]
    entry: dict[str, Any] = {
        "state": dom.state,
        "running": dom.running,
        "ready": None,
        "checks": [c.to_dict() for c in checks],
        "causes": [],
    }
    if not dom.running:
        entry["last_start"] = LastStart("none", False, why=why).to_dict()  # no log read
    return entry


def _summary(vms: dict[str, dict[str, Any]]) -> str:
    if not vms:
        return "no domains"
    parts = []
    for label, value in (("can start", True), ("cannot", False), ("not known", None)):
        names = [
            n + ("" if v["state"] is not None else " (state not recorded)")
            for n, v in vms.items()
            if v["ready"] is value and not v["running"]
        ]
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    running = [n for n, v in vms.items() if v["running"]]
    if running:
        parts.append(f"running: {', '.join(running)}")
    return "; ".join(parts)
