"""Explained causes as the workbench shows them: a probe's `facts["causes"]` and a VM's failed
start, both lists of `CauseMatch.to_dict()` objects. Everything in them quotes a customer's logs
(hostile input): it becomes rich Text through `plain`, never markup, control codes escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.text import Text

from workbench.ui.plain import assemble, join, plain

SEVERITY_STYLE = {"fail": "bold red", "warn": "bold yellow", "info": "bold"}
WHY_CHARS = 60  # a failed start's reason in a VM's row; the panel below has all of it
MAX_EVIDENCE_SHOWN = 6  # lines of evidence per cause on screen; the rest are counted


def causes_of(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A probe's explained causes (the contract: `facts["causes"]`), only the well-formed ones:
    a probe of another version or a hand-edited capture may hold anything there."""
    found = facts.get("causes")
    if not isinstance(found, list):
        return []
    return [c for c in found if isinstance(c, dict) and isinstance(c.get("code"), str)]


SEVERITY_RANK = {"fail": 0, "warn": 1, "info": 2}


def ordered(causes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Real causes first, then the harmless ones, each most likely first, a failing one before
    a warning as likely (a VM's partial card and its non-viable group: the group is why it
    failed); stable."""
    return sorted(
        causes,
        key=lambda c: (
            bool(c.get("benign")),
            -_confidence(c),
            SEVERITY_RANK.get(str(c.get("severity")), len(SEVERITY_RANK)),
        ),
    )


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


def evidence_lines(cause: Mapping[str, Any], limit: int = MAX_EVIDENCE_SHOWN) -> list[Text]:
    """Each evidence line as `  12 │ text`: the line number dim, where it came from when the
    lines came from several inputs, the text exactly as logged but escaped. A fact (a file
    of the machine, line 0) has no line number: its path alone, `fact` when none is given."""
    evidence = [e for e in cause.get("evidence") or () if isinstance(e, dict)]
    sources = {e.get("source") for e in evidence}
    logged = [e for e in evidence if e.get("line")]
    width = max([len(str(e.get("line", ""))) for e in logged] or [1])
    out = []
    for e in evidence[:limit]:
        if not e.get("line"):  # a fact: its file, never `: 0`
            head = str(e.get("source") or "fact")
        else:
            where = f"{e.get('source')}:" if len(sources) > 1 and e.get("source") else ""
            head = f"{where}{e.get('line', '?')!s:>{width}}"
        out.append(assemble(("  ", ""), plain(f"{head} │ ", "dim"), plain(e.get("text", ""))))
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


def failed_why(causes: Iterable[dict[str, Any]]) -> Text:
    """A failed start's reason in a VM's row: its likeliest cause's title (its first clause,
    at most WHY_CHARS), or that nothing explains it (the panel below says what was read)."""
    top = top_cause(causes)
    if top is None:
        return plain("not explained by its logs", "dim")
    return plain(short_title(top), "red")


def short_title(cause: Mapping[str, Any]) -> str:
    """A cause's title cut to its first clause, at most WHY_CHARS (a table cell's)."""
    title = str(cause.get("title") or cause.get("code") or "?").split(", so ")[0]
    return title if len(title) <= WHY_CHARS else title[: WHY_CHARS - 1] + "…"
