"""A probe report as node_exporter textfile metrics (the Prometheus text exposition format)."""

from __future__ import annotations

import math
from collections import Counter

from workbench.core.report import STATUSES, ProbeResult, Report

# No host label: node_exporter's scrape adds `instance` (and the job its `job`) to every sample.
STATUS = "workbench_probe_status"
DURATION = "workbench_probe_duration_seconds"
CAUSES = "workbench_causes"
HELP = {
    STATUS: "Status of each workbench probe: 1 for the status it has, 0 for the other four.",
    DURATION: "Seconds each workbench probe took in its last run.",
    CAUSES: "Findings of the last workbench run naming each cause of the catalogue.",
}


def escape_label(value: str) -> str:
    """A label value as the exposition format writes it: backslash, double quote and newline
    escaped; what UTF-8 cannot carry (a lone surrogate from undecodable bytes) replaced."""
    text = value.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _header(name: str) -> list[str]:
    return [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge"]


def _seconds(duration_ms: float) -> str:
    """A duration as a sample value: finite and non-negative, whatever the report says."""
    if not math.isfinite(duration_ms) or duration_ms < 0:
        return "0"
    return repr(round(duration_ms / 1000.0, 6))


def render(report: Report) -> str:
    """The textfile for `report`: every probe one-hot over the five statuses, its duration, and
    the count of findings naming each cause (only causes seen; a cause absent is not a zero).
    A probe id seen twice is written once (the first): node_exporter refuses a whole file with a
    repeated series."""
    results: dict[str, ProbeResult] = {}  # by the label as written (a replaced byte may collide)
    for result in report.probes:
        results.setdefault(escape_label(result.id), result)
    lines = _header(STATUS)
    for probe, result in results.items():
        for status in STATUSES:
            value = 1 if result.status == status else 0
            lines.append(f'{STATUS}{{probe="{probe}",status="{status}"}} {value}')
    lines += _header(DURATION)
    for probe, result in results.items():
        lines.append(f'{DURATION}{{probe="{probe}"}} {_seconds(result.duration_ms)}')
    lines += _header(CAUSES)
    counts = Counter(escape_label(f.cause) for r in report.probes for f in r.findings if f.cause)
    for code in sorted(counts):
        lines.append(f'{CAUSES}{{code="{code}"}} {counts[code]}')
    return "\n".join(lines) + "\n"
