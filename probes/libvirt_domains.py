"""`libvirt.domains`: every domain's state and passthrough config, checked against the host."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from probes.gpus import VFIO_DRIVER
from probes.group_findings import group_findings, shared_groups
from probes.libvirt_conn import HYPERVISOR_HUNG
from probes.looking_glass import LG_RESOLUTION, required_mib
from probes.names import describe
from probes.parsers import parse_resolution
from workbench.core.host import Host
from workbench.core.pci import PciInventory
from workbench.core.probe import Probe, ProbeContext, ProbeOption
from workbench.core.report import Finding, Outcome, worst
from workbench.core.text import safe_text
from workbench.core.viability import group_viability

DOMAINS_FILE = "libvirt/domains.json"  # a recording's list of domains (workbench.virt.recorded)
AGENT_XML = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"


def is_local(uri: str) -> bool:
    """A hypervisor on this machine (no host in the URI): its QEMU processes are ours to see."""
    return not urlsplit(uri).hostname


def check_hostdevs(
    vm: str,
    running: bool,
    bdfs: list[tuple[str, bool]],
    inv: PciInventory,
    host: Host | None = None,
) -> list[Finding]:
    """Each PCI hostdev exists, is on vfio-pci or managed, and its IOMMU group is viable by the
    kernel's rule (workbench.core.viability): its other members may be given to no VM at all."""
    out: list[Finding] = []
    passed = {bdf for bdf, _ in bdfs}
    groups: list[int] = []
    for bdf, managed in bdfs:
        dev = inv.by_bdf.get(bdf)
        if dev is None:
            out.append(
                Finding(
                    "DOMAIN_HOSTDEV_MISSING",
                    "fail",
                    f"{vm}: hostdev {bdf} does not exist on this host.",
                    "Fix the address in the domain XML (`virsh edit`); cards move "
                    "when slots or firmware settings change.",
                )
            )
            continue
        if dev.driver is None and not dev.driver_known:  # a driver may be bound: not judged
            out.append(
                Finding(
                    "DOMAIN_HOSTDEV_DRIVER_NOT_RECORDED",
                    "info",
                    f"{vm}: hostdev {describe(dev)}: which driver it is on is not recorded; "
                    "not judged.",
                )
            )
        elif dev.driver != VFIO_DRIVER and (running or not managed):
            out.append(
                Finding(
                    "DOMAIN_HOSTDEV_NOT_VFIO",
                    "fail",
                    f"{vm}: hostdev {describe(dev)} is on {dev.driver or 'no driver'}, not vfio-pci"
                    + (" while the VM runs." if running else ", and it is not managed."),
                    f"Set managed='yes' on the hostdev or bind {bdf} to vfio-pci before starting.",
                    cause="HOST_DRIVER_BOUND" if dev.driver else None,
                )
            )
        if dev.iommu_group is not None and dev.iommu_group not in groups:
            groups.append(dev.iommu_group)
        if dev.is_gpu:
            missing = [f.bdf for f in inv.card_functions(dev) if f.bdf not in passed]
            if missing:
                out.append(
                    Finding(
                        "DOMAIN_CARD_PARTIAL",
                        "warn",
                        f"{vm}: GPU {bdf} is passed through without its other functions "
                        f"({', '.join(missing)}).",
                        "Add a hostdev for each function of the card (the HDMI audio too).",
                        cause="INCOMPLETE_DEVICE_FUNCTIONS",
                    )
                )
    for group in groups:  # once per group, however many of its devices the VM gets
        out += group_findings(vm, group_viability(inv, group, frozenset(passed)), host)
    return out


def domains_not_recorded(host: Host, listed: list[Any]) -> str | None:
    """Why a recording that lists no domain does not show there are none (a sosreport with
    no domain XML and no virsh list: "not in this sosreport: needs ..."), as its manifest
    says; None when the empty list is a fact (live, a capture, a report that collected them)."""
    if listed or host.live:
        return None
    return host.record_hint(DOMAINS_FILE)


def _none_from(host: Host) -> str:
    """The summary of no domain: where a sosreport's empty list comes from."""
    sources = host.manifest.get("sources") if host.recorded_by == "sosreport" else None
    said = sources.get(DOMAINS_FILE) if isinstance(sources, dict) else None
    if isinstance(said, str) and said:
        return f"0 domains (none in the sosreport's {safe_text(said[:200])})"
    return "0 domain(s), 0 running"


class LibvirtDomains(Probe):
    id = "libvirt.domains"
    title = "libvirt domains"
    area = "libvirt"
    order = 110
    requires = ("libvirt.connection",)
    timeout_remedy = HYPERVISOR_HUNG
    options: ClassVar[tuple[ProbeOption[Any], ...]] = (LG_RESOLUTION,)

    def run(self, ctx: ProbeContext) -> Outcome:
        hv = ctx.hypervisor
        if hv is None:  # libvirt.connection skipped already; never reached through the runner
            return Outcome("skip", "no hypervisor (libvirt.connection says why)")
        listed = hv.domains()  # raises with its gateway frame; the runner adds ours
        unrecorded = domains_not_recorded(ctx.host, listed)
        if unrecorded is not None:
            return Outcome("skip", f"domains: {safe_text(unrecorded)}", {"domains": []})
        inv = ctx.host.pci()
        resolution = parse_resolution(ctx.option(LG_RESOLUTION))
        need = required_mib(*(resolution or (1920, 1080)))
        # A recording's processes are the captured machine's; a remote hypervisor's are not ours.
        qemu = ctx.host.qemu_processes() if hv.recorded or is_local(hv.uri) else None
        domains: list[dict[str, Any]] = []
        findings: list[Finding] = []
        no_agent: list[str] = []
        # A recorded machine without PCI devices (a sosreport without lspci): no inventory to
        # check a hostdev against, which is not a hostdev that is gone (as vm.preflight).
        pci_known = ctx.host.live or inv.devices_recorded
        unchecked: list[str] = []
        passed: dict[str, tuple[bool, list[str]]] = {}
        for dom in listed:
            config = dom.config
            if config is None:
                code = dom.problem_code or "DOMAIN_UNREADABLE"
                findings.append(Finding(code, "warn", f"{dom.name}: {dom.problem}"))
                continue
            entry = {
                **config.to_dict(),
                "state": dom.state if dom.state_recorded else None,
                "persistent": dom.persistent,
                "process": (qemu or {}).get(config.name) if dom.running else None,
            }
            domains.append(entry)
            if not pci_known and config.hostdevs:
                unchecked.append(config.name)
            elif pci_known:
                hostdevs = [(h.bdf, h.managed) for h in config.hostdevs]
                findings += check_hostdevs(config.name, dom.running, hostdevs, inv, ctx.host)
                passed[config.name] = (dom.running, [h.bdf for h in config.hostdevs])
            for shm in config.shmem:
                if (
                    shm.name.startswith("looking-glass")
                    and shm.size_mib is not None
                    and shm.size_mib < need
                ):
                    findings.append(
                        Finding(
                            "DOMAIN_LG_SHMEM_SMALL",
                            "warn",
                            f"{config.name}: shmem {shm.name} is {shm.size_mib} MiB; "
                            f"{need} MiB are needed for {resolution[0] if resolution else 1920}x"
                            f"{resolution[1] if resolution else 1080}.",
                            f"Set <size unit='M'>{need}</size> in the domain's <shmem>.",
                        )
                    )
            if config.agent is None:
                no_agent.append(config.name)
        findings += shared_groups(passed, inv)
        if unchecked:
            hint = ctx.host.record_hint("sys/bus/pci/devices")
            why = hint or "the machine's PCI devices are not recorded"
            names = ", ".join(unchecked)
            findings.append(
                Finding(
                    "DOMAIN_HOSTDEVS_NOT_CHECKED",
                    "info",
                    f"{names}: PCI hostdevs not checked against the host: {why}",
                )
            )
        if no_agent:  # one finding for the cause, naming every domain it applies to
            findings.append(
                Finding(
                    "DOMAIN_NO_AGENT_CHANNEL",
                    "warn",
                    f"{', '.join(no_agent)}: no guest-agent channel (org.qemu.guest_agent.0).",
                    f"Add {AGENT_XML} under <devices> of each and install qemu-guest-agent in the "
                    "guest.",
                )
            )
        findings += _report_problems(ctx.host)
        up = [d["name"] for d in domains if d["state"] == "running"]
        summary = f"{len(domains)} domain(s), {len(up)} running" if listed else _none_from(ctx.host)
        unknown = [d["name"] for d in domains if d["state"] is None]
        if unknown:  # "nostate" would be a claim: the recording does not say
            summary += f"; state not recorded: {', '.join(unknown)}"
            hint = ctx.host.record_hint("libvirt/domains.json#state")
            findings.append(
                Finding(
                    "DOMAIN_STATE_NOT_RECORDED",
                    "info",
                    f"{', '.join(unknown)}: state not recorded"
                    + (f" ({hint})" if hint else "")
                    + "; checked as a domain that is not running.",
                )
            )
        with_gpu = [d["name"] for d in domains if d["hostdevs"]]
        if with_gpu:
            summary += f"; PCI passthrough: {', '.join(with_gpu)}"
        return Outcome(worst(findings), summary, {"domains": domains}, findings)


def _report_problems(host: Host) -> list[Finding]:
    """What a sosreport's libvirt files got wrong (a definition left out, a virsh table not
    read), as workbench.sos wrote it in the manifest: a domain left out is not absent."""
    sos = host.manifest.get("sos") if host.recorded_by == "sosreport" else None
    said = sos.get("libvirt_problems") if isinstance(sos, dict) else None
    if not isinstance(said, list):
        return []
    return [
        Finding("SOS_LIBVIRT_FILE_NOT_READ", "warn", f"in the sosreport: {safe_text(p[:300])}")
        for p in said[:50]
        if isinstance(p, str)
    ]
