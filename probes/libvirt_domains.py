"""`libvirt.domains`: every domain's state and passthrough config, checked against the host."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from probes.gpus import VFIO_DRIVER
from probes.libvirt_conn import SHARED_CONN, connect_uri
from probes.looking_glass import DEFAULT_RESOLUTION, required_mib
from probes.names import describe
from probes.parsers import parse_resolution
from workbench.core.pci import PciInventory
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst

SHARED_DOMAINS = "libvirt.domains"
AGENT_XML = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"


def is_local(uri: str) -> bool:
    """A hypervisor on this machine (no host in the URI): its QEMU processes are ours to see."""
    return not urlsplit(uri).hostname


def check_hostdevs(
    vm: str, running: bool, bdfs: list[tuple[str, bool]], inv: PciInventory
) -> list[Finding]:
    """Each PCI hostdev exists, is on vfio-pci or managed, and its IOMMU group is viable."""
    out: list[Finding] = []
    passed = {bdf for bdf, _ in bdfs}
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
        if dev.driver != VFIO_DRIVER and (running or not managed):
            out.append(
                Finding(
                    "DOMAIN_HOSTDEV_NOT_VFIO",
                    "fail",
                    f"{vm}: hostdev {describe(dev)} is on {dev.driver or 'no driver'}, not vfio-pci"
                    + (" while the VM runs." if running else ", and it is not managed."),
                    f"Set managed='yes' on the hostdev or bind {bdf} to vfio-pci before starting.",
                )
            )
        blockers = []
        for member in inv.group_members(dev.iommu_group):
            other = inv.by_bdf.get(member)
            if member not in passed and not (other is not None and other.is_bridge):
                blockers.append(describe(other) if other else member)
        if blockers:
            out.append(
                Finding(
                    "DOMAIN_GROUP_NOT_VIABLE",
                    "fail",
                    f"{vm}: IOMMU group {dev.iommu_group} of {bdf} also holds devices the VM does "
                    f"not get: {'; '.join(blockers)}.",
                    "Pass the whole group, or move the card to a slot with an isolated group.",
                )
            )
        if dev.is_gpu:
            missing = [f.bdf for f in inv.slot_functions(dev) if f.bdf not in passed]
            if missing:
                out.append(
                    Finding(
                        "DOMAIN_CARD_PARTIAL",
                        "warn",
                        f"{vm}: GPU {bdf} is passed through without its other functions "
                        f"({', '.join(missing)}).",
                        "Add a hostdev for each function of the card (the HDMI audio too).",
                    )
                )
    return out


class LibvirtDomains(Probe):
    id = "libvirt.domains"
    title = "libvirt domains"
    area = "libvirt"
    order = 110
    requires = ("libvirt.connection",)

    def run(self, ctx: ProbeContext) -> Outcome:
        import libvirt

        from workbench.core.lifecycle import state_name
        from workbench.virt.connection import from_libvirt
        from workbench.virt.domains import parse_domain_xml

        conn = ctx.shared[SHARED_CONN]
        uri = connect_uri(ctx) or ""
        inv = ctx.host.pci()
        resolution = parse_resolution(str(ctx.options.get("lg_resolution") or DEFAULT_RESOLUTION))
        need = required_mib(*(resolution or (1920, 1080)))
        qemu = ctx.host.qemu_processes() if is_local(uri) else None
        domains: list[dict[str, Any]] = []
        findings: list[Finding] = []
        no_agent: list[str] = []
        try:
            listed = conn.listAllDomains()
        except libvirt.libvirtError as exc:
            raise from_libvirt(exc, "list domains", uri) from exc
        for dom in sorted(listed, key=lambda d: d.name()):  # a stable order for reports
            try:
                state = state_name(dom.state()[0])
                config = parse_domain_xml(dom.XMLDesc(0))
                persistent = bool(dom.isPersistent())
            except libvirt.libvirtError as exc:
                findings.append(
                    Finding("DOMAIN_UNREADABLE", "warn", f"{dom.name()}: {exc.get_error_message()}")
                )
                continue
            except ValueError as exc:
                findings.append(Finding("DOMAIN_XML_INVALID", "warn", f"{dom.name()}: {exc}"))
                continue
            running = state in ("running", "paused", "blocked", "pmsuspended")
            entry = {
                **config.to_dict(),
                "state": state,
                "persistent": persistent,
                "process": (qemu or {}).get(config.name) if running else None,
            }
            domains.append(entry)
            findings += check_hostdevs(
                config.name, running, [(h.bdf, h.managed) for h in config.hostdevs], inv
            )
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
        ctx.shared[SHARED_DOMAINS] = domains
        up = [d["name"] for d in domains if d["state"] == "running"]
        summary = f"{len(domains)} domain(s), {len(up)} running"
        with_gpu = [d["name"] for d in domains if d["hostdevs"]]
        if with_gpu:
            summary += f"; PCI passthrough: {', '.join(with_gpu)}"
        return Outcome(worst(findings), summary, {"domains": domains}, findings)
