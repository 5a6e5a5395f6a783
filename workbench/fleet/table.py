"""The fleet as text: a table machines x probes (the probe report's status glyphs, narrow
column headers with a legend), then the machines that share each failing probe and each cause.
Every name from a record is escaped (safe_text): it is data, never terminal control."""

from __future__ import annotations

from workbench.core.text import safe_text
from workbench.fleet.model import Fleet
from workbench.textreport import ASCII_GLYPH, GLYPH

NAME_WIDTH = 32  # the machine column, at most
LISTED = 20  # machine names listed under one failing probe or cause; the rest counted


def render_fleet(fleet: Fleet, *, ascii_only: bool = False) -> str:
    """The fleet's table and its groups, as lines of text."""
    glyphs = ASCII_GLYPH if ascii_only else GLYPH
    probes = fleet.probe_ids()
    heads = _headers(probes)
    names = [_cut(safe_text(m.name), NAME_WIDTH) for m in fleet.machines]
    width = max([len("machine"), *(len(n) for n in names)])
    count = len(fleet.machines)
    lines = [f"Fleet of {count} machine{'s' if count != 1 else ''}"]
    lines.append(" ".join(["machine".ljust(width), *heads]))
    for machine, name in zip(fleet.machines, names, strict=True):
        if machine.error is not None:
            cells = [f"not opened: {safe_text(str(machine.error.get('message', '')))}"]
        else:
            cells = [
                glyphs.get(machine.statuses.get(pid, ""), " ").center(len(head))
                if pid in machine.statuses
                else " ".center(len(head))
                for pid, head in zip(probes, heads, strict=True)
            ]
        lines.append(" ".join([name.ljust(width), *cells]).rstrip())
    lines.append("")
    lines.append(
        "legend: " + ", ".join(f"{h} {safe_text(p)}" for h, p in zip(heads, probes, strict=True))
    )
    lines.append("        " + ", ".join(f"{g} {s}" for s, g in glyphs.items()) + ", blank not run")
    clashing = fleet.clashing()
    if clashing:  # one name, several machines: which is which
        lines.append("")
        lines.append("sources of the machines whose names clash:")
        lines += [f"  {safe_text(m.name)}: {safe_text(m.source)}" for m in clashing[:LISTED]]
        if len(clashing) > LISTED:
            lines.append(f"  {len(clashing) - LISTED} more (--json)")
    lines += shared_lines(fleet)
    unopened = [m for m in fleet.machines if m.error is not None]
    if unopened:
        lines.append("")
        lines.append(f"not opened: {_names([m.name for m in unopened])}")
    if fleet.problems:
        lines.append("")
        lines.append("passed over:")
        for problem in fleet.problems[:LISTED]:
            lines.append(f"  {safe_text(problem)}")
        if len(fleet.problems) > LISTED:
            lines.append(f"  {len(fleet.problems) - LISTED} more (--json)")
    text = "\n".join(lines) + "\n"
    if ascii_only:
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def shared_lines(fleet: Fleet) -> list[str]:
    """What the machines share: the machines of each failing probe, then of each cause (most
    machines first), each group after a blank line; the text table's words, and the TUI's."""
    lines: list[str] = []
    groups = fleet.probes()
    failing = [
        (pid, status)
        for pid in fleet.probe_ids()
        for status in ("fail", "error")
        if groups[pid].get(status)
    ]
    if failing:
        lines.append("")
        lines.append("failing probes:")
        for pid, status in failing:
            lines.append(f"  {safe_text(pid)} {status}: {_names(groups[pid][status])}")
    causes = fleet.causes()
    if causes:
        lines.append("")
        lines.append("causes:")
        for code, machines in sorted(causes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"  {safe_text(code)}: {_names(machines)}")
    return lines


def _headers(probes: list[str]) -> list[str]:
    """Narrow headers: the id's last part, cut to 8, made unique with the part before it."""
    out: list[str] = []
    for pid in probes:
        parts = safe_text(pid).split(".")
        head = _cut(parts[-1], 8)
        if head in out and len(parts) > 1:
            head = _cut(f"{parts[-2][:3]}.{parts[-1]}", 10)
        while head in out:
            head += "'"
        out.append(head)
    return out


def _names(names: list[str]) -> str:
    shown = ", ".join(safe_text(n) for n in names[:LISTED])
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return f"{shown}{more} ({len(names)})"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"
