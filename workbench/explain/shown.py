"""A cause shown by facts (a machine's state, a VM's configuration), described as the catalogue
describes it, so a cause reads the same whether a log line or a fact showed it."""

from __future__ import annotations

from workbench.core.errors import ProbeError
from workbench.explain.catalogue import catalogue
from workbench.explain.model import CauseMatch, Evidence, Severity


def shown_by_facts(
    code: str,
    subject: dict[str, str],
    evidence: list[Evidence],
    *,
    severity: Severity | None = None,
    confidence: float = 1.0,
) -> CauseMatch:
    """The catalogue's cause `code` with this subject and evidence; `severity` overrides the
    catalogue's where the fact is weaker than a failure (a card given in part, before a start).
    A code the catalogue lacks is a bug in the caller (ProbeError CAUSE_UNKNOWN)."""
    known = catalogue().causes.get(code)
    if known is None:
        raise ProbeError(f"cause {code} is not in the cause catalogue", code="CAUSE_UNKNOWN")
    return CauseMatch(
        code=code,
        title=known.title,
        severity=severity or known.severity,  # type: ignore[arg-type]  # checked by the loader
        benign=known.benign,
        confidence=confidence,
        subject=subject,
        evidence=evidence,
        remedy=known.remedy,
        references=list(known.references),
    )
