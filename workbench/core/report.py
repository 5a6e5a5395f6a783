"""The report model: probe results and the `workbench.report/1` document (a contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from workbench.core.host import Host

SCHEMA = "workbench.report/1"
Status = Literal["pass", "warn", "fail", "skip", "error"]
Severity = Literal["info", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip", "error")
FAILING: frozenset[str] = frozenset({"fail", "error"})


@dataclass(frozen=True)
class Finding:
    """One thing a probe noticed, with what to do about it."""

    code: str
    severity: Severity
    message: str
    remedy: str | None = None
    # The root cause it names: a code of the cause catalogue (workbench/explain/catalogue.toml).
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "remedy": self.remedy,
            "cause": self.cause,
        }


def worst(findings: list[Finding], default: Status = "pass") -> Status:
    """The status the findings call for: `fail` or `warn` by the worst severity, else `default`."""
    severities = {f.severity for f in findings}
    if "fail" in severities:
        return "fail"
    if "warn" in severities:
        return "warn"
    return default


@dataclass
class Outcome:
    """What a probe's `run` returns: the verdict and the facts behind it."""

    status: Status
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


CAPTURE_HINT = "capture with `workbench capture` on the machine"


def not_recorded(
    path: str, facts: dict[str, Any] | None = None, *, host: Host | None = None
) -> Outcome:
    """`skip`: the evidence at `path` is absent from a recorded machine, so nothing is judged;
    the summary says what would record it (the machine's own words when it has them, such as a
    sosreport's "not in this sosreport: needs ...")."""
    hint = host.record_hint(path) if host is not None else None
    summary = f"{path} {hint}" if hint else f"{path} not recorded: {CAPTURE_HINT}"
    return Outcome("skip", summary, facts or {})


def unreadable(path: str, reason: str, *, live: bool, host: Host | None = None) -> Outcome:
    """`skip`: the evidence at `path` could not be read (`reason`, as HostReadError gives it)."""
    if reason == "missing":
        if live:
            return Outcome("skip", f"/{path} does not exist on this machine")
        return not_recorded(path, host=host)
    if reason == "permission":
        hint = "run as root" if live else "make the root readable, or run as root"
        return Outcome("skip", f"{path} not readable (permission denied): {hint}")
    return Outcome("skip", f"{path} not readable ({reason}): {CAPTURE_HINT} again")


@dataclass
class ProbeResult:
    id: str
    title: str
    status: Status
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    blocked_by: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def remedies(self) -> list[str]:
        out = [f.remedy for f in self.findings if f.remedy and f.severity != "info"]
        if self.error and self.error.get("remedy"):
            out.append(str(self.error["remedy"]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "facts": self.facts,
            "findings": [f.to_dict() for f in self.findings],
            "blocked_by": list(self.blocked_by),
            "error": self.error,
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass
class Report:
    host: dict[str, Any]
    probes: list[ProbeResult]

    def get(self, probe_id: str) -> ProbeResult:
        for result in self.probes:
            if result.id == probe_id:
                return result
        raise KeyError(probe_id)

    @property
    def failed(self) -> bool:
        return any(r.status in FAILING for r in self.probes)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for result in self.probes:
            counts[result.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "host": self.host,
            "probes": [r.to_dict() for r in self.probes],
        }
