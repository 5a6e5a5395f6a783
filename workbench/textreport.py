"""The report as text for a terminal: a line per probe, remedies under problems, colour on a TTY."""

from __future__ import annotations

from workbench.core.report import ProbeResult, Report

GLYPH = {"pass": "✔", "warn": "!", "fail": "✘", "skip": "-", "error": "‼"}
COLOUR = {"pass": "32", "warn": "33", "fail": "31", "skip": "2", "error": "35"}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def render_text(report: Report, *, colour: bool = False) -> str:
    host = report.host
    if host.get("capture"):
        where = (
            f"capture {host['capture']} (made {host.get('captured_at') or 'at an unknown time'})"
        )
    else:
        where = f"{host['root']} ({'live machine' if host['live'] else 'recorded machine'})"
    lines = [f"Workbench {host['workbench_version']} report for {where}"]
    if host.get("hostname") or host.get("kernel"):
        lines.append(f"  host {host.get('hostname') or '?'}, kernel {host.get('kernel') or '?'}")
    width = max((len(r.id) for r in report.probes), default=0)
    for result in report.probes:
        lines += _render_probe(result, width, colour)
    counts = report.counts()
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines.append(f"{len(report.probes)} probes: {tally}")
    return "\n".join(lines) + "\n"


def _render_probe(result: ProbeResult, width: int, colour: bool) -> list[str]:
    status = _paint(
        f"{GLYPH[result.status]} {result.status.upper():<5}", COLOUR[result.status], colour
    )
    lines = [f"{status} {result.id:<{width}}  {result.summary}  ({result.duration_ms:.1f} ms)"]
    indent = " " * 8
    for finding in result.findings:
        if finding.severity == "info":  # context worth knowing; the remedy only where it matters
            lines.append(f"{indent}· {finding.message}")
            continue
        lines.append(f"{indent}{finding.message}")
        if finding.remedy:
            lines.append(f"{indent}→ {finding.remedy}")
    if result.error:
        context = " < ".join(result.error.get("context") or [])
        lines.append(
            f"{indent}[{result.error['error']}] {result.error['message']}"
            + (f" (in {context})" if context else "")
        )
        if result.error.get("remedy"):
            lines.append(f"{indent}→ {result.error['remedy']}")
    return lines
