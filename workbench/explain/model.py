"""What an explanation is: causes found, each with its evidence lines (`workbench.explain/1`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA = "workbench.explain/1"
Severity = Literal["info", "warn", "fail"]


@dataclass(frozen=True)
class Evidence:
    """One line that shows a cause: its number within its input (1-based; `source` names the
    input) and its text as written (control characters escaped when shown)."""

    line: int
    text: str
    source: str | None = None  # the input it came from (a file name, "-", a machine path)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "text": self.text}
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass
class CauseMatch:
    """One cause the evidence points to, how sure, what it is about and what shows it."""

    code: str
    title: str
    severity: Severity
    benign: bool
    confidence: float
    subject: dict[str, str]
    evidence: list[Evidence]
    remedy: str
    references: list[str]
    more_evidence: int = 0  # lines that showed it beyond those kept in `evidence`
    subject_conflicts: int = 0  # subject values that differed from the one kept (first wins)
    against: list[str] = field(default_factory=list)  # fact checks that argue against it

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "severity": self.severity,
            "benign": self.benign,
            "confidence": round(self.confidence, 3),
            "subject": dict(self.subject),
            "evidence": [e.to_dict() for e in self.evidence],
            "more_evidence": self.more_evidence,
            "subject_conflicts": self.subject_conflicts,
            "against": list(self.against),
            "remedy": self.remedy,
            "references": list(self.references),
        }


@dataclass
class Explanation:
    """All causes found in the input, most likely first, benign ones after real ones."""

    lines: int
    causes: list[CauseMatch] = field(default_factory=list)
    # Evidence that was asked for and could not be had: `{"source", "why"}` each (a machine's
    # kernel log not recorded, ...). No cause found with something here is not a clean bill.
    not_read: list[dict[str, str]] = field(default_factory=list)
    # Causes a log's words alone suggest (its driver lines), which the machine's own facts
    # would decide (`--root`, `--capture`, `--sos`): never a verdict, never in `found`.
    suggestive: list[CauseMatch] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """Whether a cause that is not benign was found (exit 1 of `workbench explain`)."""
        return any(not c.benign for c in self.causes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "lines": self.lines,
            "causes": [c.to_dict() for c in self.causes],
            "not_read": [dict(n) for n in self.not_read],
            "suggestive": [c.to_dict() for c in self.suggestive],
        }
