"""`vfio.binding`: vfio-pci loaded, what it drives, whole cards on one driver, reset methods."""

from __future__ import annotations

from typing import Any

from probes.gpus import VFIO_DRIVER, gpus, is_candidate, left_out
from probes.modules import module_loaded
from probes.names import describe
from workbench.core.host import Host
from workbench.core.pci import PciDevice
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst

# Reset methods the kernel can use on its own; without one a GPU may not come back after a VM.
USABLE_RESETS = {"flr", "af_flr", "pm", "bus", "cxl_bus", "acpi", "device_specific"}


def reset_methods(host: Host, dev: PciDevice) -> list[str] | None:
    """The kernel's reset methods for a device (`reset_method`); None when not exposed."""
    if dev.sysfs is None:
        return None
    text, _ = host.try_read(f"{dev.sysfs}/reset_method")
    return None if text is None else text.split()


class VfioBinding(Probe):
    id = "vfio.binding"
    title = "vfio-pci binding"
    area = "gpu"
    order = 70
    requires = ("iommu.enabled",)

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        inv = host.pci()
        # None: the recording has no module list, so whether vfio-pci is loaded is unknown.
        loaded = module_loaded(host, "vfio_pci")
        bound = [d.bdf for d in inv.devices if d.driver == VFIO_DRIVER]
        found = gpus(inv)
        candidates = [g for g in found if is_candidate(g, len(found))]
        findings: list[Finding] = []
        cards: list[dict[str, Any]] = []
        for gpu in candidates:
            members = inv.card(gpu["bdf"])
            dev = members[0]
            drivers = {m.bdf: m.driver for m in members}
            resets = {m.bdf: reset_methods(host, m) for m in members}
            cards.append({"gpu": dev.bdf, "drivers": drivers, "reset_method": resets})
            on_vfio = [d == VFIO_DRIVER for d in drivers.values()]
            if any(on_vfio) and not all(on_vfio):
                unknown = {m.bdf for m in members if not m.driver_known}  # a report's unreadable
                shown = ", ".join(
                    f"{b} on {d or ('a driver not recorded' if b in unknown else 'no driver')}"
                    for b, d in drivers.items()
                )
                findings.append(
                    Finding(
                        "VFIO_SPLIT_CARD",
                        "warn",
                        f"The card of {dev.bdf} is only partly on vfio-pci ({shown}); a card is "
                        "passed through whole, and a host driver on one function keeps it busy.",
                        f"Bind every function to vfio-pci: vfio-pci.ids={inv.card_ids(dev.bdf)} on the "
                        "kernel command line, or `driverctl set-override <address> vfio-pci` for "
                        "each." + left_out(inv.unidentified(dev.bdf)),
                    )
                )
            gpu_reset = resets[dev.bdf]
            if gpu_reset is not None and not (set(gpu_reset) & USABLE_RESETS):
                findings.append(
                    Finding(
                        "VFIO_NO_RESET",
                        "warn",
                        f"{describe(dev)} offers no usable reset method "
                        f"({' '.join(gpu_reset) or 'none'}): it may not work again after the VM "
                        "stops until the host reboots.",
                        "For AMD Polaris/Vega/Navi cards install vendor-reset (DKMS); otherwise "
                        "avoid restarting the VM without a host reboot.",
                    )
                )
        facts: dict[str, Any] = {
            "module_loaded": loaded,
            "bound": bound,
            "candidates": cards,
        }
        if bound and loaded is False:
            findings.append(
                Finding(
                    "VFIO_MODULE_NOT_LISTED",
                    "info",
                    "Devices are on vfio-pci but /sys/module/vfio_pci is not listed (not recorded?).",
                )
            )
        not_known = [d.bdf for d in inv.devices if not d.driver_known]
        if not bound and not_known:  # a report could not record those drivers: nothing judged
            facts["driver_not_recorded"] = not_known
            hint = ctx.host.record_hint(f"sys/bus/pci/devices/{not_known[0]}/driver")
            summary = (
                f"no device known to be on vfio-pci; the driver of {', '.join(not_known[:4])} "
                f"is not recorded{f' ({hint})' if hint else ''}"
            )
            return Outcome("skip", summary, facts, findings)
        if not bound:
            ids = ",".join(
                dict.fromkeys(i for g in candidates if (i := inv.card_ids(g["bdf"])))
            )  # two identical cards name their ids once
            remedy = (
                f"Bind the guest GPU at boot: vfio-pci.ids={ids} on the kernel command line "
                "(and softdep the GPU driver on vfio-pci), or let libvirt do it with "
                "<hostdev managed='yes'>."
                if ids
                else "Load vfio-pci (`modprobe vfio-pci`) and bind the device to pass through."
            ) + left_out([d for g in candidates for d in inv.unidentified(g["bdf"])])
            findings.append(
                Finding("VFIO_NONE_BOUND", "warn", "No device is bound to vfio-pci.", remedy)
            )
            status = worst(findings)
            state = {True: "loaded", False: "not loaded", None: "module not recorded"}[loaded]
            summary = f"vfio-pci {state}; nothing bound"
        else:
            status = worst(findings)
            summary = f"{len(bound)} device(s) on vfio-pci: {', '.join(bound)}"
        return Outcome(status, summary, facts, findings)
