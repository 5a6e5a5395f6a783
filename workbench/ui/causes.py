"""Explained causes as the workbench shows them: a probe's `facts["causes"]` and a VM's failed
start, both lists of `CauseMatch.to_dict()` objects. Everything in them quotes a customer's logs
(hostile input): it becomes rich Text through `plain`, never markup, control codes escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.text import Text

from workbench.ui.plain import assemble, join, plain

SEVERITY_STYLE = {"fail": "bold red", "warn": "bold yellow", "info": "bold"}
MAX_EVIDENCE_SHOWN = 6  # lines of evidence per cause on screen; the rest are counted


def causes_of(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A probe's explained causes (the contract: `facts["causes"]`), only the well-formed ones:
    a probe of another version or a hand-edited capture may hold anything there."""
    found = facts.get("causes")
    if not isinstance(found, list):
        return []
    return [c for c in found if isinstance(c, dict) and isinstance(c.get("code"), str)]


def ordered(causes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Real causes first, then the harmless ones, each most likely first (stable)."""
    return sorted(causes, key=lambda c: (bool(c.get("benign")), -_confidence(c)))


def top_cause(causes: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The most likely cause that is not harmless, if any."""
    real = [c for c in ordered(causes) if not c.get("benign")]
    return real[0] if real else None


def _confidence(cause: Mapping[str, Any]) -> float:
    value = cause.get("confidence")
    return float(value) if isinstance(value, int | float) else 0.0


def subject_words(cause: Mapping[str, Any], omit: tuple[str, ...] = ()) -> str:
    """What the cause is about, as `bdf 0000:01:00.0 · group 14` (`omit`: keys the place it is
    shown already says, the VM under a VM's panel)."""
    subject = cause.get("subject")
    if not isinstance(subject, dict) or not subject:
        return ""
    return " · ".join(f"{k} {v}" for k, v in subject.items() if k not in omit)


def brief(cause: Mapping[str, Any]) -> Text:
    """One line: the title and its subject (a table row, a summary)."""
    title = plain(cause.get("title") or cause.get("code") or "?")
    subject = subject_words(cause)
    if subject:
        title.append_text(plain(f" ({subject})"))
    return title


def evidence_lines(cause: Mapping[str, Any], limit: int = MAX_EVIDENCE_SHOWN) -> list[Text]:
    """Each evidence line as `  12 │ text`: the line number dim, where it came from when the
    lines came from several inputs, the text exactly as logged but escaped."""
    evidence = [e for e in cause.get("evidence") or () if isinstance(e, dict)]
    sources = {e.get("source") for e in evidence}
    width = max([len(str(e.get("line", ""))) for e in evidence] or [1])
    out = []
    for e in evidence[:limit]:
        where = f"{e.get('source')}:" if len(sources) > 1 and e.get("source") else ""
        out.append(
            assemble(
                ("  ", ""),
                plain(f"{where}{e.get('line', '?')!s:>{width}} │ ", "dim"),
                plain(e.get("text", "")),
            )
        )
    more = max(0, len(evidence) - limit) + int(cause.get("more_evidence") or 0)
    if more:
        out.append(plain(f"  … {more} more line(s)", "dim"))
    return out


def cause_block(
    cause: Mapping[str, Any], *, references: bool = True, omit: tuple[str, ...] = ()
) -> Text:
    """One cause in full: title, code and confidence, subject, evidence, remedy, references."""
    benign = bool(cause.get("benign"))
    style = "dim" if benign else SEVERITY_STYLE.get(str(cause.get("severity")), "bold")
    head = assemble(
        plain("harmless  " if benign else "", "green"),
        plain(cause.get("title") or cause.get("code") or "?", style),
    )
    meta = f"{cause.get('code', '?')} · {round(_confidence(cause) * 100)}% likely"
    subject = subject_words(cause, omit)
    lines = [head, plain(meta + (f" · {subject}" if subject else ""), "dim")]
    lines.extend(evidence_lines(cause))
    if cause.get("remedy") and not benign:
        lines.append(assemble("→ ", plain(cause["remedy"], multiline=True)))
    refs = [r for r in cause.get("references") or () if isinstance(r, str)]
    if references and refs:
        lines.extend(plain(f"  see {r}", "dim") for r in refs)
    return join(lines)


def causes_block(causes: Iterable[dict[str, Any]]) -> Text:
    """Every cause, real ones first, the harmless ones after under their own heading."""
    listed = ordered(causes)
    real = [c for c in listed if not c.get("benign")]
    benign = [c for c in listed if c.get("benign")]
    parts = [cause_block(c) for c in real]
    if benign:
        parts.append(plain("Harmless lines (no action needed):", "b dim"))
        parts.extend(cause_block(c, references=False) for c in benign)
    return join(parts, "\n\n")


def causes_for_vm(results: Iterable[Any], vm: str) -> list[tuple[str, dict[str, Any]]]:
    """The causes probes explained about VM `vm` (their subject's `vm`), with the probe's id:
    the per-VM preflight's "why it cannot start now"."""
    found = []
    for result in results:
        for cause in causes_of(result.facts):
            subject = cause.get("subject")
            if isinstance(subject, dict) and subject.get("vm") == vm:
                found.append((str(result.id), cause))
    return found
