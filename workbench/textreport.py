"""The report as text for a terminal: a line per probe, remedies under problems, colour on a TTY.

Every string that came from the machine (summaries, findings, names, the kernel command line,
errors) is data: it passes through `safe_text`, so an escape sequence in a recording is shown,
never executed by the terminal. JSON output stays faithful; only this renderer escapes.
"""

from __future__ import annotations

from workbench.core.report import ProbeResult, Report
from workbench.core.text import safe_text

GLYPH = {"pass": "✔", "warn": "!", "fail": "✘", "skip": "-", "error": "‼"}
ASCII_GLYPH = {"pass": "+", "warn": "!", "fail": "x", "skip": "-", "error": "E"}
COLOUR = {"pass": "32", "warn": "33", "fail": "31", "skip": "2", "error": "35"}
# Marks the renderer adds itself, with their ASCII stand-ins for terminals that lack them.
MARKS = {"→": "->", "·": "*", "…": "..."}
# What a stream must be able to show for the full report; else the caller asks `ascii_only`
# (workbench.commands.common.text_stdout decides, for every command that prints text).
SOS_PROBLEMS_SHOWN = 5  # what the translation of a sosreport could not read; all in --json
OWN_MARKS = "".join([*GLYPH.values(), *MARKS])


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def render_text(report: Report, *, colour: bool = False, ascii_only: bool = False) -> str:
    """The report as lines of text; `ascii_only` for a terminal that cannot show the glyphs (the
    machine's own text is then escaped to ASCII too)."""
    s = _shown
    host = report.host
    if host.get("sosreport"):
        said = [
            f"sos {s(host['sos_version'])}" if host.get("sos_version") else "sos version unknown"
        ]
        if host.get("sos_hostname"):
            said.append(f"host {s(host['sos_hostname'])}")
        where = f"sosreport {s(host['sosreport'])} ({', '.join(said)})"
    elif host.get("capture"):
        made = s(host.get("captured_at")) if host.get("captured_at") else "at an unknown time"
        where = f"capture {s(host['capture'])} (made {made})"
    else:
        where = f"{s(host['root'])} ({'live machine' if host['live'] else 'recorded machine'})"
    lines = [f"Workbench {s(host['workbench_version'])} report for {where}"]
    if host.get("hostname") or host.get("kernel"):
        hostname, kernel = s(host.get("hostname") or "?"), s(host.get("kernel") or "?")
        lines.append(f"  host {hostname}, kernel {kernel}")
    for problem in host.get("problems") or []:
        lines.append(f"  problem: {s(problem)}")
    if host.get("sos_lacks"):
        lacks = ", ".join(s(w) for w in host["sos_lacks"])
        ask = f": ask for `{s(host['sos_ask_for'])}`" if host.get("sos_ask_for") else ""
        lines.append(f"  this sosreport lacks {lacks}{ask}")
    sos_problems = host.get("sos_problems") or []
    for problem in sos_problems[:SOS_PROBLEMS_SHOWN]:
        lines.append(f"  in the sosreport: {s(problem)}")
    if len(sos_problems) > SOS_PROBLEMS_SHOWN:
        lines.append(f"  in the sosreport: {len(sos_problems) - SOS_PROBLEMS_SHOWN} more (--json)")
    width = max((len(s(r.id)) for r in report.probes), default=0)
    glyphs = ASCII_GLYPH if ascii_only else GLYPH
    for result in report.probes:
        lines += _render_probe(result, width, colour, glyphs)
    counts = report.counts()
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines.append(f"{len(report.probes)} probes: {tally}")
    text = "\n".join(lines) + "\n"
    if ascii_only:
        for mark, plain in MARKS.items():
            text = text.replace(mark, plain)
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def _shown(value: object) -> str:
    return safe_text(str(value))


def _render_probe(
    result: ProbeResult, width: int, colour: bool, glyphs: dict[str, str]
) -> list[str]:
    s = _shown
    status = _paint(
        f"{glyphs[result.status]} {result.status.upper():<5}", COLOUR[result.status], colour
    )
    summary = s(result.summary)
    lines = [f"{status} {s(result.id):<{width}}  {summary}  ({result.duration_ms:.1f} ms)"]
    indent = " " * 8
    for finding in result.findings:
        if finding.severity == "info":  # context worth knowing; the remedy only where it matters
            lines.append(f"{indent}· {s(finding.message)}")
            continue
        lines.append(f"{indent}{s(finding.message)}")
        if finding.remedy:
            lines.append(f"{indent}→ {s(finding.remedy)}")
    if result.error:
        context = " < ".join(s(c) for c in result.error.get("context") or [])
        lines.append(
            f"{indent}[{s(result.error.get('error'))}] {s(result.error.get('message'))}"
            + (f" (in {context})" if context else "")
        )
        if result.error.get("remedy"):
            lines.append(f"{indent}→ {s(result.error['remedy'])}")
    return lines
