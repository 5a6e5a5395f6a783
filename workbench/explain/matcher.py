"""The matcher: candidate lines against the catalogue's patterns, facts against its checks,
the causes ranked.

Confidence of a cause: 1 - prod(1 - w) over the distinct patterns and checks that showed it
(a line repeated a thousand times counts once). Ranking: real causes before benign ones, then
by confidence, then by the first line that showed them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from workbench.explain import checks as check_functions
from workbench.explain.catalogue import Catalogue, Pattern, catalogue
from workbench.explain.facts import LITERALS as FACT_LITERALS
from workbench.explain.facts import Facts, full_bdf
from workbench.explain.lines import ENCODED_LITERALS, MAX_LINE, message
from workbench.explain.model import CauseMatch, Evidence, Explanation
from workbench.explain.scan import Candidate, Counter, candidates_in_file, candidates_in_stream

if TYPE_CHECKING:
    from workbench.core.host import Host

KEEP_EVIDENCE = 12  # lines kept per cause; the rest are counted


@dataclass
class _Found:
    first: tuple[int, int]  # (input index, line): where it was first shown
    weights: dict[int, float] = field(default_factory=dict)  # pattern index -> weight
    evidence: list[Evidence] = field(default_factory=list)
    more: int = 0
    subject: dict[str, str] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)


class Matcher:
    """Feed it lines (all of them, or the prefilter's candidates), then ask for the result."""

    def __init__(self, cat: Catalogue | None = None) -> None:
        self.catalogue = cat or catalogue()
        self.facts = Facts()
        self.lines = 0
        self._found: dict[str, _Found] = {}
        self._inputs = 0
        self._literals = tuple(self.catalogue.by_literal)

    @property
    def literals(self) -> tuple[str, ...]:
        """What the prefilter must let through: the patterns' literals and the facts'."""
        return self._literals + FACT_LITERALS + ENCODED_LITERALS

    def next_input(self) -> int:
        self._inputs += 1
        return self._inputs - 1

    def feed(self, line_no: int, raw: str, source: str | None = None, index: int = 0) -> None:
        """One line as written (a candidate or any line; lines without a literal cost little)."""
        raw = raw[:MAX_LINE].rstrip("\r\n")
        low = raw.lower()
        hit = [lit for lit in self.literals if lit in low]
        if not hit:
            return
        text = message(raw)
        if any(enc in low for enc in ENCODED_LITERALS):  # bytes: the literals are in the text
            low_text = text.lower()
            hit = [lit for lit in self.literals if lit in low_text]
        evidence = Evidence(line_no, raw, source)
        self.facts.feed(text, evidence)
        tried: set[int] = set()
        for lit in hit:
            for p_index in self.catalogue.by_literal.get(lit, ()):
                if p_index in tried:
                    continue
                tried.add(p_index)
                pattern = self.catalogue.patterns[p_index]
                m = pattern.regex.search(text)
                if m is not None:
                    self._record(pattern, p_index, m.groupdict(), evidence, (index, line_no))

    def _record(
        self,
        pattern: Pattern,
        p_index: int,
        groups: dict[str, str | None],
        evidence: Evidence,
        where: tuple[int, int],
    ) -> None:
        subject = {k: (full_bdf(v) if k == "bdf" else v) for k, v in groups.items() if v}
        for code, weight in pattern.causes:
            found = self._found.setdefault(code, _Found(first=where))
            found.weights[p_index] = max(weight, found.weights.get(p_index, 0.0))
            for key, value in subject.items():
                found.subject.setdefault(key, value)
            if len(found.evidence) < KEEP_EVIDENCE:
                found.evidence.append(evidence)
            else:
                found.more += 1

    def feed_host(self, host: Host) -> None:
        """Join the machine's facts to the evidence."""
        self.facts.add_host(host)

    def result(self) -> Explanation:
        """The causes the evidence shows, ranked."""
        for cause in self.catalogue.causes.values():
            for check in cause.checks:
                found = self._found.get(cause.code)
                if found is None and not check.alone:
                    continue
                subject = dict(found.subject) if found else {}
                hit = getattr(check_functions, check.name)(self.facts, subject)
                if hit is None:
                    continue
                if found is None:
                    found = self._found.setdefault(cause.code, _Found(first=(sys.maxsize, 0)))
                found.checks[check.name] = check.weight
                for key, value in hit.subject.items():
                    found.subject.setdefault(key, value)
                for ev in hit.evidence:
                    if ev not in found.evidence and len(found.evidence) < KEEP_EVIDENCE:
                        found.evidence.append(ev)
        matches = [self._match(code, found) for code, found in self._found.items()]
        order = {code: found.first for code, found in self._found.items()}
        matches.sort(key=lambda m: (m.benign, -m.confidence, order[m.code], m.code))
        return Explanation(lines=self.lines, causes=matches)

    def _match(self, code: str, found: _Found) -> CauseMatch:
        cause = self.catalogue.causes[code]
        doubt = 1.0
        for weight in (*found.weights.values(), *found.checks.values()):
            doubt *= 1.0 - weight
        return CauseMatch(
            code=code,
            title=cause.title,
            severity=cause.severity,  # type: ignore[arg-type]  # checked by the loader
            benign=cause.benign,
            confidence=1.0 - doubt,
            subject=found.subject,
            evidence=sorted(found.evidence, key=lambda e: (e.source or "", e.line)),
            remedy=cause.remedy,
            references=list(cause.references),
            more_evidence=found.more,
        )

    # Inputs -----------------------------------------------------------------------------

    def feed_candidates(self, found: Iterable[Candidate], source: str | None, index: int) -> None:
        for cand in found:
            self.feed(cand.line, cand.raw[: MAX_LINE * 4].decode("utf-8", "replace"), source, index)

    def feed_stream(self, stream: BinaryIO, source: str | None) -> None:
        index = self.next_input()
        counter = Counter()
        self.feed_candidates(candidates_in_stream(stream, self.literals, counter), source, index)
        self.lines += counter.lines

    def feed_path(self, path: str, source: str | None = None) -> None:
        """A file: through grep when it is large and grep runs, else read here."""
        index = self.next_input()
        counter = Counter()
        found = candidates_in_file(path, self.literals, counter)
        self.feed_candidates(found, source or path, index)
        self.lines += counter.lines

    def feed_text(self, text: str, source: str | None = None) -> None:
        """Lines already in memory (a probe's kernel log, a QEMU log tail)."""
        index = self.next_input()
        n = 0
        for n, line in enumerate(text.splitlines(), 1):
            self.feed(n, line, source, index)
        self.lines += n


def explain_text(text: str, host: Host | None = None) -> Explanation:
    """The causes `text` (pasted lines, in any mixture) shows, with the machine's facts."""
    matcher = Matcher()
    matcher.feed_text(text)
    if host is not None:
        matcher.feed_host(host)
    return matcher.result()
