"""`pci.device_state`: the passthrough devices' own state, read from sysfs and /proc/iomem
(through core.devstate): a boot framebuffer inside a BAR, config space reading all ones, D3cold
that the kernel log shows cannot wake (D3cold alone is where vfio-pci parks an idle device: an
info finding), interrupt remapping off.

Each judgement needs a recorded fact; a fact that was not recorded (or not readable) is said so
(an info finding), never taken as a pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from probes.gpus import VFIO_DRIVER
from probes.kernel_log import cause_findings
from workbench.core import devstate
from workbench.core.devstate import STATE_RECORDED, Range
from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.machinelogs import MachineLog, kernel_log
from workbench.core.pci import PciDevice, PciInventory
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst
from workbench.core.text import mask_uris, safe_text
from workbench.explain.model import CauseMatch, Evidence
from workbench.explain.shown import shown_by_facts

IR_OFF_CMDLINE = re.compile(r"(?:^|\s)(?:intremap=off|nointremap)(?:\s|$)")
IR_OFF_LOG = re.compile(
    r"Not enabling interrupt remapping|Failed to enable irq remapping|"
    r"No interrupt remapping support|(?:interrupt|irq) remapping (?:is )?disabled",
    re.IGNORECASE,
)
IR_ON_LOG = re.compile(
    r"Enabled IRQ remapping|Interrupt remapping enabled|IRQ remapping (?:was )?enabled",
    re.IGNORECASE,
)
# A kernel line showing a device could not wake from D3cold (vfio-pci parks idle devices in
# D3cold and wakes them on open: D3cold alone is normal).
NO_WAKE_LOG = re.compile(
    r"(?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): (?:Unable to change|can't change) "
    r"power state from D3cold to D0|(?P<bdf_2>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): "
    r"not ready \d{1,6}ms after resume",
    re.IGNORECASE,
)
UNSAFE_PARAM = "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
IDLE_D3_PARAM = "sys/module/vfio_pci/parameters/disable_idle_d3"


@dataclass
class State:
    """What was read of one device, and what could not be."""

    bdf: str
    bars: list[Range] | None = None
    config: str | None = None  # "ok", "all ones", "short"; None: not recorded
    power_state: str | None = None
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bdf": self.bdf,
            "bars": None
            if self.bars is None
            else [
                {"index": int(b.name), "start": hex(b.start), "end": hex(b.end)} for b in self.bars
            ],
            "config": self.config,
            "power_state": self.power_state,
            "not_recorded": list(self.missing),
        }


def read_config(host: Host, sysfs: str, power: str | None) -> str | None:
    """`all ones` when config space (or the vendor id) reads 0xffff...; None: not recorded
    (never read from a device in D3cold: reading wakes it)."""
    if power == "D3cold":
        return None
    vendor, _ = host.try_read(f"{sysfs}/vendor")
    if vendor is not None and vendor.strip().lower() == "0xffff":
        return "all ones"
    data = devstate.config_head(host, sysfs, power)
    if data is None:
        return None
    if len(data) < 4:
        return "short"
    return "all ones" if data[:4] == b"\xff\xff\xff\xff" else "ok"


def _targets(ctx: ProbeContext, inv: PciInventory) -> tuple[list[PciDevice], list[str]]:
    """The devices to judge: every function of each GPU card that is on vfio-pci or named in a
    domain's hostdev, and the hostdevs themselves; plus what the domains could not tell."""
    notes: list[str] = []
    hostdevs: set[str] = set()
    if ctx.hypervisor is not None:
        try:
            for dom in ctx.hypervisor.domains():
                if dom.config is not None:
                    hostdevs.update(h.bdf for h in dom.config.hostdevs)
        except WorkbenchError as exc:
            notes.append(mask_uris(f"domains not read ({exc.message})"))
    gpus: list[dict[str, Any]] = []
    if "pci.gpus" in ctx.results:
        gpus = list(ctx.results["pci.gpus"].facts.get("gpus") or [])
    wanted: dict[str, None] = {}
    for gpu in gpus:
        card = [gpu["bdf"], *(gpu.get("functions") or [])]
        on_vfio = any(
            (inv.by_bdf[b].driver if b in inv.by_bdf else None) == VFIO_DRIVER for b in card
        )
        if on_vfio or hostdevs.intersection(card):
            wanted.update(dict.fromkeys(card))
    for bdf in sorted(hostdevs):
        if bdf in inv.by_bdf:
            wanted.update(dict.fromkeys(d.bdf for d in inv.card(bdf)))
    return [inv.by_bdf[b] for b in wanted if b in inv.by_bdf], notes


def _flag(host: Host, rel: str) -> bool | None:
    text, _ = host.try_read(rel)
    if text is None:
        return None
    return text.strip().upper() in ("Y", "1")


class KernelLog:
    """The kernel log, read once and only when a judgement needs it (live: journalctl)."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._log: MachineLog | None = None
        self._no_wake: dict[str, Evidence] | None = None

    @property
    def log(self) -> MachineLog:
        if self._log is None:
            self._log = kernel_log(self._host)
        return self._log

    def no_wake(self, bdf: str) -> Evidence | None:
        if self._no_wake is None:
            self._no_wake = no_wake_lines(self.log)
        return self._no_wake.get(bdf)


def interrupt_remapping(host: Host, kernel: KernelLog) -> tuple[bool | None, list[Evidence]]:
    """Whether interrupt remapping is on, from facts that say it (the command line, the kernel
    log's explicit lines); None when nothing says."""
    cmdline, _ = host.try_read("proc/cmdline")
    if cmdline and IR_OFF_CMDLINE.search(cmdline):
        return False, [Evidence(1, cmdline.strip(), "/proc/cmdline")]
    log = kernel.log
    off: list[Evidence] = []
    on = False
    for n, line in enumerate((log.text or "").splitlines(), 1):
        if IR_OFF_LOG.search(line):
            off.append(Evidence(n, line, log.source))
        elif IR_ON_LOG.search(line):
            on = True
    if off:
        return False, off[:5]
    return (True, []) if on else (None, [])


def no_wake_lines(log: MachineLog) -> dict[str, Evidence]:
    """Per device, the first kernel line showing it could not wake from D3cold."""
    found: dict[str, Evidence] = {}
    for n, line in enumerate((log.text or "").splitlines(), 1):
        if "d3cold to d0" not in line.lower() and "after resume" not in line:
            continue
        if m := NO_WAKE_LOG.search(line):
            found.setdefault((m["bdf"] or m["bdf_2"]).lower(), Evidence(n, line, log.source))
    return found


class DeviceState(Probe):
    id = "pci.device_state"
    title = "The passthrough devices' own state"
    area = "gpu"
    order = 65
    uses = ("pci.gpus",)
    timeout_s = 30.0  # reads the kernel log (journalctl: 10 s of its own)

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        inv = host.pci()
        devices, notes = _targets(ctx, inv)
        facts: dict[str, Any] = {"devices": [], "causes": []}
        if notes:
            facts["notes"] = notes
        if not devices:
            return Outcome(
                "skip", "no passthrough device (none on vfio-pci or named in a hostdev)", facts
            )
        iomem = devstate.iomem(host)
        fb_why = iomem.why
        framebuffers = None if iomem.ranges is None else iomem.framebuffers
        facts["iomem"] = fb_why or "read"
        idle_d3 = _flag(host, IDLE_D3_PARAM)
        kernel = KernelLog(host)
        causes: list[CauseMatch] = []
        states: list[State] = []
        findings: list[Finding] = []
        for dev in devices:
            state = self._device(host, dev, framebuffers, idle_d3, kernel, causes, findings)
            states.append(state)
        unsafe = _flag(host, UNSAFE_PARAM)
        remap, remap_evidence = interrupt_remapping(host, kernel)
        facts["interrupt_remapping"] = remap
        facts["allow_unsafe_interrupts"] = unsafe
        if remap is False and unsafe is not True:
            param = "not recorded" if unsafe is None else "N"
            subject = {"allow_unsafe_interrupts": param}
            causes.append(
                shown_by_facts(
                    "INTERRUPT_REMAPPING_MISSING", subject, remap_evidence, confidence=0.9
                )
            )
        facts["devices"] = [s.to_dict() for s in states]
        facts["causes"] = [c.to_dict() for c in causes]
        findings = cause_findings(causes) + findings
        findings += self._not_recorded(host, states, fb_why)
        judged = [s for s in states if s.bars is not None or s.config or s.power_state]
        if not judged and fb_why is not None:
            hint = host.record_hint(STATE_RECORDED)  # what the recording says would hold it
            why = f"the devices' state is {hint}" if hint else "the devices' state is not recorded"
            return Outcome("skip", why, facts, findings)
        shown = ", ".join(s.bdf for s in states)
        if causes:
            summary = f"{len(causes)} cause(s) on {shown}: " + ", ".join(c.code for c in causes)
        else:
            gaps = (
                " (some state not recorded)" if any(f.severity == "info" for f in findings) else ""
            )
            summary = f"{len(states)} device(s) ({shown}): nothing wrong in their state{gaps}"
        return Outcome(worst(findings), summary, facts, findings)

    def _device(
        self,
        host: Host,
        dev: PciDevice,
        framebuffers: list[Range] | None,
        idle_d3: bool | None,
        kernel: KernelLog,
        causes: list[CauseMatch],
        findings: list[Finding],
    ) -> State:
        state = State(dev.bdf)
        sysfs = dev.sysfs or f"sys/bus/pci/devices/{dev.bdf}"
        source = f"/{sysfs}/resource"
        state.bars = devstate.bars(host, sysfs)
        if state.bars is None:
            state.missing.append("resource")
        elif framebuffers is not None:
            for fb, bar in devstate.framebuffer_overlaps(framebuffers, state.bars):
                which = "ROM" if bar.name == str(devstate.ROM_INDEX) else f"BAR {bar.name}"
                subject = {"bdf": dev.bdf, "bar": which, "range": f"{fb.start:x}-{fb.end:x}"}
                found = [
                    Evidence(fb.line_no, fb.line, "/proc/iomem"),
                    Evidence(bar.line_no, bar.line, source),
                ]
                causes.append(shown_by_facts("BOOT_FB_HOLDS_BAR", subject, found, confidence=0.9))
        # power_state first: config is not read from a device in D3cold (reading wakes it)
        state.power_state = devstate.power_state(host, sysfs)
        state.config = read_config(host, sysfs, state.power_state)
        if state.config is None and state.power_state != "D3cold":
            state.missing.append("config")
        if state.power_state is None:
            state.missing.append("power_state")
        if state.config == "all ones":
            ev = Evidence(1, f"{dev.bdf} config space reads ff ff ff ff", f"/{sysfs}/config")
            causes.append(
                shown_by_facts(
                    "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE", {"bdf": dev.bdf}, [ev], confidence=0.9
                )
            )
        if state.power_state == "D3cold" and idle_d3 is not True:
            self._d3cold(dev.bdf, sysfs, idle_d3, kernel.no_wake(dev.bdf), causes, findings)
        return state

    @staticmethod
    def _d3cold(
        bdf: str,
        sysfs: str,
        idle_d3: bool | None,
        no_wake: Evidence | None,
        causes: list[CauseMatch],
        findings: list[Finding],
    ) -> None:
        """D3cold is where vfio-pci parks an idle device (it wakes it on open): the cause only
        with a kernel line showing it could not wake; else an info finding."""
        ev = Evidence(1, f"{bdf} power_state D3cold", f"/{sysfs}/power_state")
        if no_wake is not None:
            subject = {"bdf": bdf, "disable_idle_d3": "N" if idle_d3 is False else "not recorded"}
            causes.append(
                shown_by_facts("D3COLD_POWER_STATE", subject, [no_wake, ev], confidence=0.9)
            )
            return
        findings.append(
            Finding(
                "DEVICE_IN_D3COLD",
                "info",
                safe_text(
                    f"{bdf} is in D3cold (vfio-pci parks idle devices there and wakes them on "
                    "open); no kernel line shows it failing to wake. Its config space was not "
                    "read, so as not to wake it."
                ),
                "If the VM cannot use it, look for `Unable to change power state from D3cold "
                "to D0` in the kernel log; `vfio-pci.disable_idle_d3=1` keeps it awake.",
            )
        )

    @staticmethod
    def _not_recorded(host: Host, states: list[State], fb_why: str | None) -> list[Finding]:
        """Info findings for the facts a verdict needed and did not have."""
        out: list[Finding] = []
        hint = None if host.live else host.record_hint(STATE_RECORDED)
        if host.live:
            how = "To judge them, run as root (older kernels have no power_state)."
        elif hint is not None:
            how = f"Their state is {hint}."
        else:
            how = (
                "To judge them, capture with a workbench that records them (sysfs resource, "
                "config, power_state)."
            )
        gaps = [f"{s.bdf}: {', '.join(s.missing)}" for s in states if s.missing]
        if gaps:
            out.append(
                Finding(
                    "DEVICE_STATE_NOT_RECORDED",
                    "info",
                    safe_text(f"Not recorded, so not judged: {'; '.join(gaps)}."),
                    how,
                )
            )
        if fb_why is not None:
            hint = None if host.live else host.record_hint("proc/iomem")
            fb_why = f"/proc/iomem {hint}" if hint and fb_why.endswith("not recorded") else fb_why
            out.append(
                Finding(
                    "IOMEM_NOT_RECORDED",
                    "info",
                    safe_text(f"Boot framebuffers not judged: {fb_why}."),
                    (hint or "Capture the machine as root (it records /proc/iomem).")
                    if not host.live
                    else "Run as root.",
                )
            )
        return out
