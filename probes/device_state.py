"""`pci.device_state`: the passthrough devices' own state, read from sysfs and /proc/iomem: a
boot framebuffer inside a BAR, config space reading all ones, D3cold, interrupt remapping off.

Each judgement needs a recorded fact; a fact that was not recorded (or not readable) is said so
(an info finding), never taken as a pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from probes.gpus import VFIO_DRIVER
from probes.kernel_log import cause_findings
from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.machinelogs import kernel_log
from workbench.core.pci import PciDevice, PciInventory
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst
from workbench.core.text import mask_uris, safe_text
from workbench.explain.model import CauseMatch, Evidence
from workbench.explain.shown import shown_by_facts

BOOT_FB_NAMES = ("bootfb", "efifb", "vesafb", "simplefb", "simpledrm", "simple-framebuffer")
IORESOURCE_MEM = 0x200
ROM_INDEX = 6  # resource lines 0-5 are the BARs, 6 the expansion ROM, then bridge windows
_IOMEM = re.compile(r"^\s*(?P<start>[0-9a-f]{1,16})-(?P<end>[0-9a-f]{1,16}) : (?P<name>.{1,200})$")
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
UNSAFE_PARAM = "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
IDLE_D3_PARAM = "sys/module/vfio_pci/parameters/disable_idle_d3"


@dataclass
class Bar:
    index: int
    start: int
    end: int
    evidence: Evidence


@dataclass
class State:
    """What was read of one device, and what could not be."""

    bdf: str
    bars: list[Bar] | None = None
    config: str | None = None  # "ok", "all ones", "short"; None: not recorded
    power_state: str | None = None
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bdf": self.bdf,
            "bars": None
            if self.bars is None
            else [{"index": b.index, "start": hex(b.start), "end": hex(b.end)} for b in self.bars],
            "config": self.config,
            "power_state": self.power_state,
            "not_recorded": list(self.missing),
        }


def read_bars(host: Host, sysfs: str) -> list[Bar] | None:
    """The memory BARs (and ROM) a device has, from sysfs `resource`; None when not recorded."""
    text, _ = host.try_read(f"{sysfs}/resource")
    if text is None:
        return None
    bars: list[Bar] = []
    for i, line in enumerate(text.splitlines()[: ROM_INDEX + 1]):
        fields = line.split()
        if len(fields) != 3:
            continue
        try:
            start, end, flags = (int(f, 16) for f in fields)
        except ValueError:
            continue
        if start and end > start and flags & IORESOURCE_MEM:
            bars.append(Bar(i, start, end, Evidence(i + 1, line, f"/{sysfs}/resource")))
    return bars


def boot_framebuffers(host: Host) -> tuple[list[tuple[int, int, Evidence]] | None, str | None]:
    """The boot framebuffer ranges of /proc/iomem; (None, why) when they cannot be judged."""
    text, problem = host.try_read("proc/iomem")
    if text is None:
        return None, problem or "/proc/iomem not recorded"
    found: list[tuple[int, int, Evidence]] = []
    any_address = False
    for n, line in enumerate(text.splitlines(), 1):
        m = _IOMEM.match(line)
        if m is None:
            continue
        start, end = int(m["start"], 16), int(m["end"], 16)
        any_address = any_address or end != 0
        if any(name in m["name"].lower() for name in BOOT_FB_NAMES):
            found.append((start, end, Evidence(n, line, "/proc/iomem")))
    if not any_address:  # read without root: every address shows as 0
        return None, "/proc/iomem shows no addresses (read it as root)"
    return found, None


def read_config(host: Host, sysfs: str) -> str | None:
    """`all ones` when config space (or the vendor id) reads 0xffff...; None: not recorded."""
    try:
        data = host.read_bytes(f"{sysfs}/config")
    except WorkbenchError:
        data = None
    vendor, _ = host.try_read(f"{sysfs}/vendor")
    if vendor is not None and vendor.strip().lower() == "0xffff":
        return "all ones"
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


def interrupt_remapping(host: Host) -> tuple[bool | None, list[Evidence]]:
    """Whether interrupt remapping is on, from facts that say it (the command line, the kernel
    log's explicit lines); None when nothing says."""
    cmdline, _ = host.try_read("proc/cmdline")
    if cmdline and IR_OFF_CMDLINE.search(cmdline):
        return False, [Evidence(1, cmdline.strip(), "/proc/cmdline")]
    log = kernel_log(host)
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
        framebuffers, fb_why = boot_framebuffers(host)
        facts["iomem"] = fb_why or "read"
        idle_d3 = _flag(host, IDLE_D3_PARAM)
        causes: list[CauseMatch] = []
        states: list[State] = []
        for dev in devices:
            state = self._device(host, dev, framebuffers, idle_d3, causes)
            states.append(state)
        unsafe = _flag(host, UNSAFE_PARAM)
        remap, remap_evidence = interrupt_remapping(host)
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
        findings = cause_findings(causes)
        findings += self._not_recorded(host, states, fb_why)
        judged = [s for s in states if s.bars is not None or s.config or s.power_state]
        if not judged and fb_why is not None:
            return Outcome("skip", "the devices' state is not recorded", facts, findings)
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
        framebuffers: list[tuple[int, int, Evidence]] | None,
        idle_d3: bool | None,
        causes: list[CauseMatch],
    ) -> State:
        state = State(dev.bdf)
        sysfs = dev.sysfs or f"sys/bus/pci/devices/{dev.bdf}"
        state.bars = read_bars(host, sysfs)
        if state.bars is None:
            state.missing.append("resource")
        elif framebuffers is not None:
            for bar in state.bars:
                inside = [fb for fb in framebuffers if fb[0] <= bar.end and fb[1] >= bar.start]
                for start, end, ev in inside:
                    which = "ROM" if bar.index == ROM_INDEX else f"BAR {bar.index}"
                    subject = {"bdf": dev.bdf, "bar": which, "range": f"{start:x}-{end:x}"}
                    causes.append(
                        shown_by_facts(
                            "BOOT_FB_HOLDS_BAR", subject, [ev, bar.evidence], confidence=0.9
                        )
                    )
        state.config = read_config(host, sysfs)
        if state.config is None:
            state.missing.append("config")
        elif state.config == "all ones":
            ev = Evidence(1, f"{dev.bdf} config space reads ff ff ff ff", f"/{sysfs}/config")
            causes.append(
                shown_by_facts(
                    "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE", {"bdf": dev.bdf}, [ev], confidence=0.9
                )
            )
        power, _ = host.try_read(f"{sysfs}/power_state")
        state.power_state = None if power is None else power.strip()[:16]
        if power is None:
            state.missing.append("power_state")
        elif state.power_state == "D3cold" and idle_d3 is not True:
            subject = {
                "bdf": dev.bdf,
                "disable_idle_d3": "N" if idle_d3 is False else "not recorded",
            }
            ev = Evidence(1, f"{dev.bdf} power_state D3cold", f"/{sysfs}/power_state")
            causes.append(shown_by_facts("D3COLD_POWER_STATE", subject, [ev], confidence=0.9))
        return state

    @staticmethod
    def _not_recorded(host: Host, states: list[State], fb_why: str | None) -> list[Finding]:
        """Info findings for the facts a verdict needed and did not have."""
        out: list[Finding] = []
        how = (
            "capture with a workbench that records them (sysfs resource, config, power_state)"
            if not host.live
            else "run as root (older kernels have no power_state)"
        )
        gaps = [f"{s.bdf}: {', '.join(s.missing)}" for s in states if s.missing]
        if gaps:
            out.append(
                Finding(
                    "DEVICE_STATE_NOT_RECORDED",
                    "info",
                    safe_text(f"Not recorded, so not judged: {'; '.join(gaps)}."),
                    f"To judge them, {how}.",
                )
            )
        if fb_why is not None:
            out.append(
                Finding(
                    "IOMEM_NOT_RECORDED",
                    "info",
                    safe_text(f"Boot framebuffers not judged: {fb_why}."),
                    "Capture the machine as root (it records /proc/iomem)."
                    if not host.live
                    else "Run as root.",
                )
            )
        return out
