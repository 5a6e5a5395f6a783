"""A probe report for notebooks and scripts: an HTML table in Jupyter, the text report in a REPL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workbench.api.html import badge, table, text
from workbench.core.report import FAILING, ProbeResult, Report


class ProbeView:
    """One probe's result: `.status`, `.summary`, `.facts`, `.findings`, `.remedies`."""

    def __init__(self, result: ProbeResult) -> None:
        self.result = result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.result, name)

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()

    def __repr__(self) -> str:
        lines = [f"{self.result.id}: {self.result.status} — {self.result.summary}"]
        lines += [
            f"  · {f.message}" + (f"\n    → {f.remedy}" if f.remedy else "")
            for f in self.result.findings
        ]
        if self.result.blocked_by:
            lines.append(f"  blocked by {', '.join(self.result.blocked_by)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        r = self.result
        findings = (
            table(
                ["severity", "finding", "remedy"],
                ([badge(f.severity), text(f.message), text(f.remedy)] for f in r.findings),
                cls="wb-findings",
            )
            if r.findings
            else ""
        )
        facts = text(json.dumps(r.facts, indent=1, default=str), multiline=True)  # a <pre>
        blocked = f"<p>blocked by {text(', '.join(r.blocked_by))}</p>" if r.blocked_by else ""
        return (
            f"<div class='wb-probe'><b>{text(r.id)}</b> {badge(r.status)} {text(r.summary)}"
            f"{blocked}"
            f"{findings}<details><summary>facts</summary><pre>{facts}</pre></details></div>"
        )


class Diagnosis:
    """The report of `workbench.diagnose()`; `d["pci.gpus"]` is one probe."""

    def __init__(self, report: Report, source: str) -> None:
        self.report = report
        self.source = source

    @property
    def probes(self) -> list[ProbeView]:
        return [ProbeView(r) for r in self.report.probes]

    @property
    def failed(self) -> list[ProbeView]:
        return [p for p in self.probes if p.result.status in FAILING]

    def __getitem__(self, probe_id: str) -> ProbeView:
        return ProbeView(self.report.get(probe_id))

    def __iter__(self) -> Iterator[ProbeView]:
        return iter(self.probes)

    def __len__(self) -> int:
        return len(self.report.probes)

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def _counts(self) -> str:
        counts = self.report.counts()
        return ", ".join(f"{n} {s}" for s, n in counts.items() if n)

    def __repr__(self) -> str:
        from workbench.textreport import render_text

        return render_text(self.report, colour=False).rstrip("\n")

    def _repr_html_(self) -> str:
        rows = []
        for r in self.report.probes:
            remedies = "<br>".join(f"→ {text(x)}" for x in r.remedies)
            blocked = text(", ".join(r.blocked_by)) if r.blocked_by else ""
            rows.append(
                [badge(r.status), f"<code>{text(r.id)}</code>", text(r.summary), remedies, blocked]
            )
        host = self.report.host
        where = text(host.get("hostname") or self.source)
        return (
            f"<div class='wb-report'><b>Workbench report: {where}</b> ({text(self._counts())})"
            + table(["status", "probe", "summary", "remedy", "blocked by"], rows, cls="wb-report")
            + "</div>"
        )
