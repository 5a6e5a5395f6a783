"""`libvirt.domains`' findings of IOMMU groups: viability by the kernel's rule, and groups
that two domains share."""

from __future__ import annotations

from collections.abc import Iterable

from probes.names import describe
from workbench.core.host import Host
from workbench.core.pci import PciInventory
from workbench.core.report import Finding
from workbench.core.viability import GroupViability

NOT_VIABLE = "GROUP_MEMBER_NOT_VFIO"


def bind_remedy(vm: str, via: GroupViability) -> str:
    """Bind each blocking member to vfio-pci, or give it to the VM as well."""
    bdfs = [b.bdf for b in via.blockers]
    ids = ",".join(dict.fromkeys(b.ids for b in via.blockers[:8] if b.vendor and b.device))
    overrides = "; ".join(f"`driverctl set-override {b} vfio-pci`" for b in bdfs[:4])
    return (
        f"Bind {_listed(bdfs)} to vfio-pci ({overrides}"
        + (f", or vfio-pci.ids={ids} on the kernel command line" if ids else "")
        + f"), or pass {'it' if len(bdfs) == 1 else 'them'} to {vm} too (a hostdev with "
        "managed='yes' each); a group is viable only when no member is on a host driver."
    )


def group_findings(vm: str, via: GroupViability, host: Host | None) -> list[Finding]:
    """A member on a host driver: fail (GROUP_MEMBER_NOT_VFIO), naming it and its driver; a
    member whose driver is not recorded: not judged, saying what would record it."""
    out: list[Finding] = []
    if via.blockers:
        named = "; ".join(f"{describe(b)} on {b.driver}" for b in via.blockers[:8])
        if len(via.blockers) > 8:  # a hostile or huge group: bounded, the count said
            named += f"; and {len(via.blockers) - 8} more"
        out.append(
            Finding(
                "DOMAIN_GROUP_NOT_VIABLE",
                "fail",
                f"{vm}: IOMMU group {via.group} is not viable: {named} (a host driver; every "
                "member must be on vfio-pci or pci-stub, on no driver, or a bridge on pcieport).",
                bind_remedy(vm, via),
                cause=NOT_VIABLE,
            )
        )
    if via.not_recorded:
        first = via.not_recorded[0]
        hint = host.record_hint(f"sys/bus/pci/devices/{first}/driver") if host else None
        out.append(
            Finding(
                "DOMAIN_GROUP_NOT_RECORDED",
                "info",
                f"{vm}: IOMMU group {via.group}: the driver of {_listed(list(via.not_recorded))} is "
                f"not recorded ({hint or 'capture with `workbench capture` on the machine'}); "
                "its viability is not judged.",
            )
        )
    return out


def group_users(
    domains: Iterable[tuple[str, list[str]]], inv: PciInventory
) -> dict[int, list[str]]:
    """IOMMU group -> the domains (name, hostdev addresses) given a device of it, in order;
    libvirt.domains' sharing and vm.preflight's busy groups both read this map."""
    users: dict[int, list[str]] = {}
    for name, bdfs in domains:
        for bdf in bdfs:
            dev = inv.by_bdf.get(bdf)
            if dev is not None and dev.iommu_group is not None:
                names = users.setdefault(dev.iommu_group, [])
                if name not in names:
                    names.append(name)
    return users


def shared_groups(passed: dict[str, tuple[bool, list[str]]], inv: PciInventory) -> list[Finding]:
    """Domains (name -> (running, hostdevs)) whose hostdevs fall in one IOMMU group: a group
    belongs to one VM's VFIO container at a time, so they cannot run at once (a warning; the
    cause of a start it blocks, VFIO_GROUP_BUSY, is vm.preflight's)."""
    users = group_users(((name, bdfs) for name, (_, bdfs) in passed.items()), inv)
    out: list[Finding] = []
    for group, names in sorted(users.items()):
        if len(names) < 2:
            continue
        names = sorted(names)
        running = [n for n in names if passed[n][0]]
        now = f" ({_listed(running)} running now)" if running else ""
        out.append(
            Finding(
                "DOMAIN_GROUP_SHARED",
                "warn",
                f"{_listed(names)}: each passes devices of IOMMU group {group}{now}; a group "
                "is given to one VM at a time, so they cannot run at once.",
                "Give each VM devices of its own groups, or run them one at a time (the second "
                "start fails with `Device or resource busy` on /dev/vfio/"
                f"{group}).",
            )
        )
    return out


def _listed(names: list[str], shown: int = 8) -> str:
    """Names, the first `shown` of them and how many more (a fleet of VMs on one card)."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
