"""`kernel.log`: this boot's kernel messages explained with the cause catalogue; each cause
that is not benign is a finding that names it (`cause=CODE`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from workbench.core.machinelogs import kernel_log
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst
from workbench.core.text import safe_text
from workbench.explain.matcher import Matcher
from workbench.explain.model import CauseMatch, Explanation

LIVE_HINT = "run as root on the machine (the journal, /dev/kmsg and dmesg need it)"


def subject_text(subject: dict[str, str]) -> str:
    """A cause's subject as words: `bdf 0000:0b:00.0, bar 1` (escaped: it comes from logs)."""
    return ", ".join(f"{safe_text(k)} {safe_text(v)}" for k, v in subject.items())


def cause_findings(causes: list[CauseMatch], where: str = "") -> list[Finding]:
    """One finding per cause that is not benign: its title (+ subject), its severity and remedy.
    Causes shown by exactly the same lines (an ambiguous line's candidates) are one finding,
    the likeliest, naming the others. `where` prefixes the message (a VM's name)."""
    groups: dict[frozenset[tuple[str | None, int, str]], list[CauseMatch]] = {}
    for cause in causes:
        if cause.benign:
            continue
        lines = frozenset((e.source, e.line, e.text) for e in cause.evidence)
        groups.setdefault(lines or frozenset({(cause.code, 0, "")}), []).append(cause)
    out: list[Finding] = []
    for first, *others in groups.values():  # in rank order: dicts keep insertion order
        about = subject_text(first.subject)
        message = f"{where}{first.title}" + (f" ({about})" if about else "") + "."
        if others:
            message += (
                " Other possible cause of the same lines: "
                + ", ".join(o.code for o in others)
                + "."
            )
        out.append(Finding(first.code, first.severity, message, first.remedy, cause=first.code))
    return out


def explanation_facts(explained: Explanation) -> list[dict[str, Any]]:
    """`facts["causes"]`: the contract between evidence probes and the UI."""
    return [c.to_dict() for c in explained.causes]


def _with_lines(finding: Finding, causes: list[CauseMatch], source: str) -> Finding:
    """The finding saying which lines of the log show its cause, and whether the machine's
    facts (its drivers, its groups) join them: a driver line alone proves no cause."""
    cause = next((c for c in causes if c.code == finding.cause), None)
    if cause is None:
        return finding
    lines = sorted({e.line for e in cause.evidence if e.source == source and e.line > 0})
    if not lines:
        return finding
    joined = any(e.source != source for e in cause.evidence)
    shown = ", ".join(str(n) for n in lines[:8]) + (", ..." if len(lines) > 8 else "")
    words = f" Kernel log line{'s' if len(lines) > 1 else ''} {shown}"
    words += " with the machine's facts." if joined else "."
    return replace(finding, message=finding.message + words)


class KernelLog(Probe):
    id = "kernel.log"
    title = "Kernel log of this boot"
    area = "host"
    order = 25
    # journalctl has 10 s for the newest entries and 10 s for the boot's first part; the matcher
    # reads at most HEAD_BYTES + TAIL_BYTES
    timeout_s = 30.0
    timeout_remedy = "Check that journalctl answers (`journalctl -k -b -n 10`)."

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        log = kernel_log(host)
        facts: dict[str, Any] = {
            "source": log.source,
            "lines": log.lines,
            "truncated": log.truncated,
            "causes": [],
        }
        if log.tried:
            facts["tried"] = list(log.tried)
        gap = log.gap()
        if gap is not None:
            facts["head_lines"] = gap.head
            facts["left_out"] = gap.left_out
        if log.text is None:
            why = log.why or "kernel log not readable"
            hint = "" if why.startswith("not recorded") or not host.live else f": {LIVE_HINT}"
            facts["why"] = why
            return Outcome("skip", safe_text(why + hint), facts)
        if not log.text.strip():  # an empty log shows nothing: not a clean bill
            facts["why"] = "empty"
            where = "recorded kernel log" if not host.live else "kernel log"
            return Outcome("skip", f"the {where} ({safe_text(log.source)}) is empty", facts)
        matcher = Matcher()
        matcher.feed_text(log.text, source=log.source)
        matcher.feed_host(host)
        explained = matcher.result()
        # The causes this log shows: the machine's facts rank and complete them, but a cause
        # that only the facts show (a framebuffer in some device's range) is the device-state
        # probe's to judge, with the BARs of the passthrough devices in hand.
        explained.causes = [
            c for c in explained.causes if any(e.source == log.source for e in c.evidence)
        ]
        facts["causes"] = explanation_facts(explained)
        findings = [
            _with_lines(f, explained.causes, log.source) for f in cause_findings(explained.causes)
        ]
        # What was read is judged, and the summary says what that was: never a clean pass of
        # a whole log when its middle was left out.
        if gap is not None:
            read = f"the first {gap.head} and last {gap.tail} lines ({gap.left_out} left out)"
        else:
            read = f"{log.lines} lines" + (" (newest part)" if log.truncated else "")
        if not findings:
            benign = len(explained.causes)
            extra = f"; {benign} harmless line kind(s)" if benign else ""
            if gap is not None:
                return Outcome("pass", f"no known cause in {read}{extra}", facts)
            return Outcome("pass", f"{read}, no known cause{extra}", facts)
        codes = ", ".join(f.cause or f.code for f in findings)
        summary = f"{read}: {len(findings)} cause(s): {codes}"
        return Outcome(worst(findings), summary, facts, findings)
