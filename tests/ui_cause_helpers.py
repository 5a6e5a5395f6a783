"""Evidence with known causes for the workbench's cause views: a probe that explains a machine's
recorded kernel log the way the evidence probes do, and QEMU logs of failed starts."""

from __future__ import annotations

from pathlib import Path

from workbench.core.machinelogs import qemu_log_path
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst

HOSTILE = "[bold]x[/] \x1b[31mred"
# A kernel log: a memlock failure (its line also carries markup and an ANSI code, as a
# customer's paste may), the iomem excerpt of a boot framebuffer inside a GPU's BAR, and a
# harmless QEMU warning.
KERNEL_LOG = (
    "[   12.000001] pci 0000:01:00.0: [10de:1b80] type 00 class 0x030000\n"
    f"[  301.424242] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded {HOSTILE}\n"
    "  e0000000-efffffff : 0000:01:00.0\n"
    "    e0000000-e07fffff : BOOTFB\n"
    "qemu-system-x86_64: warning: host doesn't support requested feature: "
    "CPUID.80000001H:ECX.svm [bit 2]\n"
)
# The last start of a VM whose GPU function's group is not viable: libvirt's marks around it.
FAILED_START = """\
2026-11-29 08:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2
2026-11-29 08:10:00.000+0000: shutting down, reason=shutdown
2026-11-29 09:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2
2026-11-29T09:00:01.123456Z qemu-system-x86_64: -device vfio-pci,host=0000:02:00.0,id=hostdev0,\
bus=pci.0,addr=0x5: vfio 0000:02:00.0: group 8 is not viable
Please ensure all devices within the iommu_group are bound to their vfio bus driver.
2026-11-29 09:00:01.500+0000: shutting down, reason=failed
"""
CLEAN_STOP = """\
2026-11-29 09:00:00.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2
2026-11-29 10:00:00.000+0000: shutting down, reason=shutdown
"""
LIBVIRT_ERROR = (
    "internal error: qemu unexpectedly closed the monitor: vfio 0000:02:00.0: group 8 is not viable"
)


class ExplainingProbe(Probe):
    """The kernel log of a recorded machine explained as the evidence probes do: causes in
    `facts["causes"]`, one finding per real cause with `cause=CODE`."""

    id = "test.evidence"
    title = "Kernel log (test)"
    area = "logs"
    order = 1

    def run(self, ctx: ProbeContext) -> Outcome:
        from workbench.explain.matcher import explain_text

        text = ctx.host.read_text("logs/kernel.log")
        if text is None:
            return Outcome("skip", "logs/kernel.log not recorded")
        explained = explain_text(text, ctx.host)
        findings = [
            Finding(
                code="CAUSE",
                severity=c.severity,
                message=c.title,
                remedy=c.remedy,
                cause=c.code,
            )
            for c in explained.causes
            if not c.benign
        ]
        facts = {"lines": explained.lines, "causes": [c.to_dict() for c in explained.causes]}
        real = len(findings)
        return Outcome(worst(findings), f"{real} cause(s) in the kernel log", facts, findings)


def with_kernel_log(root: Path, text: str = KERNEL_LOG) -> Path:
    (root / "logs").mkdir(exist_ok=True)
    (root / "logs/kernel.log").write_text(text)
    return root


def with_qemu_log(root: Path, vm: str, text: str) -> Path:
    path = root / qemu_log_path(vm)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class PreflightProbe(Probe):
    """A per-VM "can it start now?" as the preflight reports it: the causes found for a VM
    carry the VM in their subject (`subject["vm"]`)."""

    id = "test.preflight"
    title = "Can truenas start now (test)"
    area = "vm"
    order = 2

    def run(self, ctx: ProbeContext) -> Outcome:
        from workbench.explain.matcher import explain_text

        explained = explain_text("vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded")
        causes = []
        for cause in explained.causes:
            cause.subject["vm"] = "truenas"
            causes.append(cause.to_dict())
        findings = [
            Finding("CAUSE", c.severity, f"truenas: {c.title}", c.remedy, cause=c.code)
            for c in explained.causes
        ]
        return Outcome(worst(findings), "truenas cannot start", {"causes": causes}, findings)
