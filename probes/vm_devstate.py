"""What `pci.device_state` found about a VM's devices, as checks of that VM (`device_state`).

Each hostdev and the other functions of its card: a check per cause device_state found on it
(its code, its evidence), an info check for a device parked in D3cold that no kernel line shows
failing to wake (vfio-pci wakes it on open), "not recorded" for state device_state could not
read, else a pass. A machine-wide cause (no `bdf`: interrupt remapping off) is a check of every
VM with a hostdev. When device_state skipped or errored, every device is "not recorded"."""

from __future__ import annotations

from typing import Any

from probes.vm_checks import NOT_RECORDED, Check
from workbench.core.pci import PciInventory
from workbench.core.report import ProbeResult
from workbench.core.text import safe_text
from workbench.explain.model import CauseMatch, Evidence, Severity
from workbench.virt.hypervisor import DomainSnapshot

SOURCE = "pci.device_state"
CHECK = "device_state"
STATUS = {"fail": "fail", "warn": "warn", "info": "info"}
MAX_SHOWN = 200  # characters of a recorded value shown in a check's detail


def vm_devices(dom: DomainSnapshot, inv: PciInventory) -> list[str]:
    """The domain's hostdevs that are on this machine, each followed by its card's other
    functions (in order, once each)."""
    out: dict[str, None] = {}
    if dom.config is None:
        return []
    for hostdev in dom.config.hostdevs:
        if hostdev.bdf in inv.by_bdf:
            out.update(dict.fromkeys(d.bdf for d in inv.card(hostdev.bdf)))
    return list(out)


def state_checks(
    result: ProbeResult | None, devices: list[str]
) -> list[tuple[Check, CauseMatch | None]]:
    """The `device_state` checks of one VM's devices, each with the cause it carries."""
    if not devices:
        return []
    if result is None or result.status in ("skip", "error"):
        why = "pci.device_state did not run" if result is None else _why(result)
        return [
            (Check(CHECK, bdf, NOT_RECORDED, f"device state not judged: {why}"), None)
            for bdf in devices
        ]
    facts = result.facts
    causes = [c for c in _causes(facts) if not c.benign]
    states = {d.get("bdf"): d for d in facts.get("devices") or [] if isinstance(d, dict)}
    iomem_read = facts.get("iomem") == "read"
    out: list[tuple[Check, CauseMatch | None]] = []
    for cause in causes:
        if "bdf" not in cause.subject:  # machine-wide: every VM with a hostdev
            out.append((_cause_check("this machine", cause), cause))
    for bdf in devices:
        mine = [c for c in causes if c.subject.get("bdf") == bdf]
        out += [(_cause_check(bdf, c), c) for c in mine]
        state = states.get(bdf)
        if state is None:
            out.append(
                (
                    Check(
                        CHECK,
                        bdf,
                        NOT_RECORDED,
                        "device state not judged: pci.device_state did not read it",
                    ),
                    None,
                )
            )
            continue
        gaps = [str(g) for g in state.get("not_recorded") or []]
        if not iomem_read:
            gaps.append("/proc/iomem (boot framebuffers)")
        if gaps:
            shown = safe_text(", ".join(gaps))[:MAX_SHOWN]
            out.append((Check(CHECK, bdf, NOT_RECORDED, f"device state not judged: {shown}"), None))
        elif mine:
            continue
        elif state.get("power_state") == "D3cold":
            detail = (
                "in D3cold, where vfio-pci parks an idle device and wakes it on open; no kernel "
                "line shows it failing to wake"
            )
            out.append((Check(CHECK, bdf, "info", detail), None))
        else:
            detail = "nothing wrong in its state (BARs, config space, power state)"
            out.append((Check(CHECK, bdf, "pass", detail), None))
    return out


def _why(result: ProbeResult) -> str:
    if result.blocked_by:
        return f"pci.device_state blocked by {', '.join(result.blocked_by)}"
    verb = "skipped" if result.status == "skip" else "errored"
    return safe_text(f"pci.device_state {verb} ({result.summary})")[:MAX_SHOWN]


def _cause_check(subject: str, cause: CauseMatch) -> Check:
    about = ", ".join(f"{k} {v}" for k, v in cause.subject.items() if k not in ("bdf", "vm"))
    detail = cause.title + (f" ({about})" if about else "")
    status = STATUS.get(cause.severity, "fail")
    return Check(CHECK, subject, status, safe_text(detail)[:MAX_SHOWN], cause.code)


def _causes(facts: dict[str, Any]) -> list[CauseMatch]:
    """device_state's causes (`facts.causes`, workbench.explain/1), the well-formed ones."""
    out = []
    for raw in facts.get("causes") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
            continue
        found = raw.get("subject")
        subject: dict[Any, Any] = found if isinstance(found, dict) else {}
        evidence = [
            Evidence(int(e.get("line") or 0), str(e.get("text") or ""), e.get("source"))
            for e in raw.get("evidence") or []
            if isinstance(e, dict)
        ]
        severity: Severity = "fail"
        if raw.get("severity") in ("info", "warn"):
            severity = raw["severity"]
        out.append(
            CauseMatch(
                code=raw["code"],
                title=str(raw.get("title") or raw["code"]),
                severity=severity,
                benign=bool(raw.get("benign")),
                confidence=float(raw.get("confidence") or 0.0),
                subject={str(k): str(v) for k, v in subject.items()},
                evidence=evidence,
                remedy=str(raw.get("remedy") or ""),
                references=[str(r) for r in raw.get("references") or []],
            )
        )
    return out
