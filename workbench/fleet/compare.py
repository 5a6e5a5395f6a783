"""Two machines side by side, for "why does A work and B not": the probe statuses that differ
first, then the facts that differ (GPUs, command line, hugepages, modules, causes, identity).
A fact one side did not record is "not recorded", never a difference of values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.identity import NOT_RECORDED
from workbench.core.text import safe_text
from workbench.fleet.model import FleetMachine

SCHEMA = "workbench.fleet-compare/1"


@dataclass(frozen=True)
class Difference:
    area: str  # status, gpus, cmdline, hugepages, modules, causes, identity
    item: str
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "item": self.item, "a": self.a, "b": self.b}

    def text(self) -> str:
        """One line, the machines' words escaped."""
        return f"{self.area:<9} {safe_text(self.item)}: {_show(self.a)} | {_show(self.b)}"


def _show(value: Any) -> str:
    if value is None:
        return NOT_RECORDED
    if isinstance(value, dict):
        value = ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    elif isinstance(value, list):
        value = " ".join(str(v) for v in value) or "(none)"
    return safe_text(str(value))


def differences(a: FleetMachine, b: FleetMachine) -> list[Difference]:
    """Every difference, statuses first (in probe order), then facts."""
    out: list[Difference] = []
    order = list(a.statuses) + [p for p in b.statuses if p not in a.statuses]
    for probe in order:
        x, y = a.statuses.get(probe), b.statuses.get(probe)
        if x != y:
            out.append(Difference("status", probe, x, y))
    fa, fb = a.facts, b.facts
    gpus_a, gpus_b = fa.get("gpus"), fb.get("gpus")
    if gpus_a is None or gpus_b is None:
        if gpus_a != gpus_b:
            out.append(Difference("gpus", "GPUs", _count(gpus_a), _count(gpus_b)))
    else:
        for bdf in sorted(set(gpus_a) | set(gpus_b)):
            ga, gb = gpus_a.get(bdf), gpus_b.get(bdf)
            if ga is None or gb is None:
                out.append(Difference("gpus", bdf, _gpu(ga), _gpu(gb)))
                continue
            for key in ("name", "driver", "group", "isolated", "card"):
                if ga.get(key) != gb.get(key):
                    out.append(Difference("gpus", f"{bdf} {key}", ga.get(key), gb.get(key)))
    out += _sets("cmdline", fa.get("cmdline"), fb.get("cmdline"))
    if fa.get("hugepages") != fb.get("hugepages"):
        out.append(Difference("hugepages", "bytes", fa.get("hugepages"), fb.get("hugepages")))
    out += _sets("modules", fa.get("modules"), fb.get("modules"))
    out += _sets("causes", a.causes if a.statuses else None, b.causes if b.statuses else None)
    for key in ("hostname", "machine_id", "dmi_serial"):
        x, y = a.identity.get(key), b.identity.get(key)
        if x != y:
            out.append(Difference("identity", key, x, y))
    return out


def _count(gpus: dict[str, Any] | None) -> str | None:
    return None if gpus is None else f"{len(gpus)} GPU(s)"


def _gpu(gpu: dict[str, Any] | None) -> str:
    return "absent" if gpu is None else str(gpu.get("name") or "a GPU")


def _sets(area: str, a: list[str] | None, b: list[str] | None) -> list[Difference]:
    """What only one side has; one line "not recorded" when a side lacks the record."""
    if a is None or b is None:
        return [] if a == b else [Difference(area, "recorded", a, b)]
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if not only_a and not only_b:
        return []
    return [Difference(area, "only on one side", only_a, only_b)]


def side(machine: FleetMachine) -> dict[str, Any]:
    """A machine in the compare document."""
    out = machine.to_dict()
    out["identity"] = dict(machine.identity)
    out["facts"] = machine.facts
    return out


def to_dict(a: FleetMachine, b: FleetMachine) -> dict[str, Any]:
    """The workbench.fleet-compare/1 document."""
    return {
        "schema": SCHEMA,
        "a": side(a),
        "b": side(b),
        "differences": [d.to_dict() for d in differences(a, b)],
    }
