"""The matcher: candidate lines against the catalogue's patterns, facts against its checks,
the causes ranked.

Confidence of a cause: 1 - prod(1 - w) over the distinct patterns and checks that showed it
(a line repeated a thousand times counts once). Ranking: real causes before benign ones, then
by confidence, then by the first line that showed them. An ambiguous line gives each of its
candidates its own weight (the most common cause the highest); fact checks then add theirs.

Subjects: the first value of a key wins; a different value later (a second BDF for one cause)
is counted in `subject_conflicts`. The VM and the errno are read from a matching line even when
its pattern does not name them (`domain 'NAME'`, `-name guest=NAME`, a QEMU log's file name;
`error -22`, `16 Device or resource busy`, `Permission denied` -> "13")."""

from __future__ import annotations

import io
import re
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from workbench.core.text import safe_text
from workbench.explain import checks as check_functions
from workbench.explain.catalogue import (
    MACROS,
    Catalogue,
    Pattern,
    catalogue,
    subject_key,
)
from workbench.explain.facts import LITERALS as FACT_LITERALS
from workbench.explain.facts import Facts, full_bdf
from workbench.explain.lines import ENCODED_LITERALS, MAX_LINE, message
from workbench.explain.model import CauseMatch, Evidence, Explanation
from workbench.explain.scan import Candidate, Counter, candidates_in_file, candidates_in_stream

if TYPE_CHECKING:
    from workbench.core.host import Host

# Lines kept per cause: the first ones and the newest (a long log's latest failure is at its
# end); those between are counted.
KEEP_FIRST = 6
KEEP_NEWEST = 6
MEMO_SIZE = 4096  # distinct messages whose matches are remembered (memory stays bounded)
# Lines that name the VM the next lines are about (virsh's `error: Failed to start domain
# 'NAME'` before libvirt's reason, QEMU's command line at the top of its log).
CONTEXT_LITERALS = ("start domain", "-name guest=", "starting up")
# How far a VM named by such a line carries: the lines of that domain's start, until a line
# names another domain, a QEMU log's `starting up` line opens another start, or this many
# lines have passed (a multi-VM journal's later lines are about other starts).
CONTEXT_LINES = 20

_VM = re.compile(
    r"domain '(?P<a>[^'\s]{1,256})'|-name guest=(?P<b>[^,\s]{1,256})"
    r"|Failed to start domain '?(?P<c>[\w.+-]{1,256})'?|\bVM (?P<d>\d{1,9}) qmp command",
    re.IGNORECASE,
)
_QEMU_LOG = re.compile(r"(?:^|/)qemu/(?P<vm>[^/]{1,256})\.log$")
_ERRNO_NUMBER = re.compile(
    r"(?:error|ret(?:urn)?|=)\s?=?\s?-(?P<a>\d{1,4})\b|failed: (?P<b>\d{1,4}) [A-Z]"
    r"|\(os error (?P<c>\d{1,4})\)|\bError\((?P<d>\d{1,4})\)",
    re.IGNORECASE,
)
_ERRNO_NAMES = tuple(
    # after `: ` or `(`, as strerror follows its context: libvirt's error class `invalid
    # argument: ...` at the start of a message is not an errno
    (re.compile(r"[:(]\s?" + MACROS[macro], re.IGNORECASE), number)
    for macro, number in (
        ("{EACCES}", "13"),
        ("{ENOENT}", "2"),
        ("{EBUSY}", "16"),
        ("{ENOMEM}", "12"),
        ("{EINVAL}", "22"),
        ("{EPERM}", "1"),
    )
)


def line_vm(text: str, source: str | None) -> str | None:
    """The VM a line names (`domain 'NAME'`, `-name guest=NAME`), else its QEMU log's name."""
    if m := _VM.search(text):
        return m["a"] or m["b"] or m["c"] or m["d"]
    if source and (m := _QEMU_LOG.search(source)):
        return m["vm"]
    return None


def line_errno(text: str) -> str | None:
    """The errno a line reports, as its number ("16"): `error -22`, `failed: 16 Device...`,
    or the C library's words in English or a common translation."""
    if m := _ERRNO_NUMBER.search(text):
        return m["a"] or m["b"] or m["c"] or m["d"]
    for regex, number in _ERRNO_NAMES:
        if regex.search(text):
            return number
    return None


@dataclass
class _Found:
    first: tuple[int, int]  # (input index, line): where it was first shown
    weights: dict[int, float] = field(default_factory=dict)  # pattern index -> weight
    evidence: list[Evidence] = field(default_factory=list)  # the first KEEP_FIRST
    newest: deque[Evidence] = field(default_factory=lambda: deque(maxlen=KEEP_NEWEST))
    more: int = 0
    subject: dict[str, str] = field(default_factory=dict)
    conflicts: int = 0  # subject values that differed from the first one kept
    checks: dict[str, float] = field(default_factory=dict)
    against: dict[str, float] = field(default_factory=dict)  # facts that argue against it
    # What the facts that support it showed (an lspci block, a sysfs link): after the lines.
    by_facts: list[Evidence] = field(default_factory=list)

    def keep(self, evidence: Evidence) -> None:
        """Keep a line among the first or the newest; the same text again shows nothing new."""
        if any(e.text == evidence.text for e in (*self.evidence, *self.newest)):
            return
        if len(self.evidence) < KEEP_FIRST:
            self.evidence.append(evidence)
            return
        if len(self.newest) == KEEP_NEWEST:
            self.more += 1  # the oldest of the newest drops out, counted
        self.newest.append(evidence)


# The patterns a message matched (index, subject) and the VM it names for the lines after it
# ("" for a boundary: the VM named before no longer carries).
_TextMatch = tuple[tuple[tuple[int, dict[str, str]], ...], str | None]


class Matcher:
    """Feed it lines (all of them, or the prefilter's candidates), then ask for the result."""

    def __init__(self, cat: Catalogue | None = None) -> None:
        self.catalogue = cat or catalogue()
        self.facts = Facts()
        self.lines = 0
        # One entry per cause and subject: two devices whose groups are not viable are two
        # causes, each ranked by its own device's facts.
        self._found: dict[str, list[_Found]] = {}
        self._inputs = 0
        # (input index, line, VM) of the last line naming one; None after a boundary
        self._context_vm: tuple[int, int, str] | None = None
        self._literals = tuple(self.catalogue.by_literal)
        # One C-speed search rejects a line that holds no literal (most lines of an input).
        self._any_literal = re.compile(_trie_regex(self.literals))
        # Lines that hold no pattern's literal only carry facts; a kernel driver line, the
        # commonest of them, is read without normalising it.
        self._pattern_literal = re.compile(_trie_regex(self._literals + CONTEXT_LITERALS))
        self._memo: dict[str, _TextMatch] = {}
        self._fact_messages: set[bytes] = set()

    @property
    def literals(self) -> tuple[str, ...]:
        """What the prefilter must let through: the patterns' literals and the facts'."""
        return self._literals + FACT_LITERALS + CONTEXT_LITERALS + ENCODED_LITERALS

    def next_input(self) -> int:
        self._inputs += 1
        return self._inputs - 1

    def feed(self, line_no: int, raw: str, source: str | None = None, index: int = 0) -> None:
        """One line as written: any line (one without a literal costs one C-speed search) or
        a candidate of the prefilter."""
        raw = raw[:MAX_LINE].rstrip("\r\n")
        if self._any_literal.search(raw.lower()) is not None:
            self._feed_line(line_no, raw, source, index)

    def _feed_line(self, line_no: int, raw: str, source: str | None, index: int) -> bool:
        """Match one line; True when it was a kernel driver line that only carried a fact
        (the same message again carries nothing new)."""
        evidence = Evidence(line_no, raw, source)
        if self._pattern_literal.search(raw.lower()) is None and self.facts.feed_driver_line(
            raw, evidence
        ):
            return True
        text = message(raw)
        self.facts.feed(text, evidence)
        found = self._memo.get(text)
        if found is None:
            # kernel and QEMU logs repeat their messages: once the time is stripped, a
            # message is matched once
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            found = self._memo[text] = self._match_text(text)
        matches, context_vm = found
        if context_vm is not None:
            self._context_vm = (index, line_no, safe_text(context_vm)) if context_vm else None
        ctx = self._context_vm
        in_context = ctx is not None and ctx[0] == index and 0 <= line_no - ctx[1] <= CONTEXT_LINES
        for p_index, text_subject in matches:
            subject = dict(text_subject)
            if "vm" in subject:  # a line naming a domain starts that domain's lines
                self._context_vm = ctx = (index, line_no, subject["vm"])
                in_context = True
            elif vm := line_vm("", source):
                subject["vm"] = safe_text(vm)
            elif in_context and ctx is not None:
                subject["vm"] = ctx[2]
            pattern = self.catalogue.patterns[p_index]
            self._record(pattern, p_index, subject, evidence, (index, line_no))
        return False

    def _match_text(self, text: str) -> _TextMatch:
        """The patterns a message matches (with the subject it names), and the VM it names
        for the lines after it."""
        low = text.lower()
        context_vm = line_vm(text, None) if any(c in low for c in CONTEXT_LITERALS) else None
        if context_vm is None and "starting up" in low:
            context_vm = ""  # a QEMU log's next start: the VM named before no longer carries
        matches: list[tuple[int, dict[str, str]]] = []
        tried: set[int] = set()
        for lit in self._literals:
            if lit not in low:
                continue
            for p_index in self.catalogue.by_literal[lit]:
                if p_index in tried:
                    continue
                tried.add(p_index)
                m = self.catalogue.patterns[p_index].regex.search(text)
                if m is not None:
                    matches.append((p_index, _subject(m.groupdict(), text)))
        return tuple(matches), context_vm

    def _record(
        self,
        pattern: Pattern,
        p_index: int,
        subject: dict[str, str],
        evidence: Evidence,
        where: tuple[int, int],
    ) -> None:
        for code, weight in pattern.causes:
            found = self._entry(code, subject, where)
            found.weights[p_index] = max(weight, found.weights.get(p_index, 0.0))
            for key, value in subject.items():
                kept = found.subject.setdefault(key, value)
                if kept != value:
                    found.conflicts += 1
            found.keep(evidence)

    def _entry(self, code: str, subject: dict[str, str], where: tuple[int, int]) -> _Found:
        """The entry of `code` about the device (or group) `subject` names; a line naming
        neither joins the latest entry of that cause."""
        entries = self._found.setdefault(code, [])
        bdf, group = subject.get("bdf"), subject.get("group")
        for entry in entries:
            if (bdf and entry.subject.get("bdf") == bdf) or (
                group
                and entry.subject.get("group") == group
                and not (bdf and entry.subject.get("bdf"))
            ):
                return entry
        if entries and not bdf and not group:
            return entries[-1]
        if entries and not any(e.subject.get("bdf") or e.subject.get("group") for e in entries):
            return entries[-1]  # the lines before named no device: this one says which
        entries.append(_Found(first=where))
        return entries[-1]

    def feed_host(self, host: Host) -> None:
        """Join the machine's facts to the evidence."""
        self.facts.add_host(host)

    def result(self) -> Explanation:
        """The causes the evidence shows, ranked."""
        suggested: list[tuple[CauseMatch, tuple[int, int]]] = []
        for cause in self.catalogue.causes.values():
            for check in cause.checks:
                if check.seed:
                    continue
                for found in self._checked(cause.code, check.name, check.alone):
                    if check.against:
                        found.against[check.name] = check.weight
                    else:
                        found.checks[check.name] = check.weight
        for cause in self.catalogue.causes.values():  # seeds: where the rest showed nothing
            for check in cause.checks:
                if check.seed and not self._found.get(cause.code):
                    seeded = self._seeded(cause.code, check.name, check.weight)
                    if seeded is not None:
                        suggested.append((self._match(cause.code, seeded), seeded.first))
        matches = [
            (self._match(code, found), found.first)
            for code, entries in self._found.items()
            for found in entries
        ]
        matches.sort(key=lambda m: (m[0].benign, -m[0].confidence, m[1], m[0].code))
        suggested.sort(key=lambda m: (-m[0].confidence, m[0].code))
        return Explanation(
            lines=self.lines,
            causes=[m for m, _ in matches],
            suggestive=[m for m, _ in suggested],
        )

    def _seeded(self, code: str, name: str, weight: float) -> _Found | None:
        """A seed check's cause where no line showed it: an entry of the causes when the
        machine's facts back it; returned apart (suggestive) when only a log's words do."""
        hit = getattr(check_functions, name)(self.facts, {})
        if hit is None:
            return None
        found = _Found(first=(sys.maxsize, 0), subject=dict(hit.subject))
        found.checks[name] = weight
        for ev in hit.evidence:
            if len(found.by_facts) < KEEP_FIRST and all(e.text != ev.text for e in found.by_facts):
                found.by_facts.append(ev)
        if not hit.from_lines_only:
            self._found.setdefault(code, []).append(found)
            return None
        return found

    def _checked(self, code: str, name: str, alone: bool) -> list[_Found]:
        """The entries of `code` that check `name` supports (adding its subject and evidence);
        a check that shows its cause alone makes an entry when the lines made none."""
        entries = self._found.get(code, [])
        if not entries and not alone:
            return []
        supported = []
        for found in entries or [_Found(first=(sys.maxsize, 0))]:
            hit = getattr(check_functions, name)(self.facts, dict(found.subject))
            if hit is None:
                continue
            if not entries:
                self._found.setdefault(code, []).append(found)
            supported.append(found)
            for key, value in hit.subject.items():
                found.subject.setdefault(key, value)
            for ev in hit.evidence:
                shown = (*found.evidence, *found.newest, *found.by_facts)
                if len(found.by_facts) < KEEP_FIRST and all(e.text != ev.text for e in shown):
                    found.by_facts.append(ev)
        return supported

    def _match(self, code: str, found: _Found) -> CauseMatch:
        cause = self.catalogue.causes[code]
        doubt = 1.0
        for weight in (*found.weights.values(), *found.checks.values()):
            doubt *= 1.0 - weight
        for weight in found.against.values():
            doubt = 1.0 - (1.0 - doubt) * (1.0 - weight)
        return CauseMatch(
            code=code,
            title=cause.title,
            severity=cause.severity,  # type: ignore[arg-type]  # checked by the loader
            benign=cause.benign,
            confidence=1.0 - doubt,
            subject=found.subject,
            evidence=[
                *sorted([*found.evidence, *found.newest], key=lambda e: (e.source or "", e.line)),
                *found.by_facts,
            ],
            remedy=self._remedy(cause.remedy, found.subject),
            references=list(cause.references),
            more_evidence=found.more,
            subject_conflicts=found.conflicts,
            against=sorted(found.against),
        )

    def _remedy(self, remedy: str, subject: dict[str, str]) -> str:
        """The catalogue's remedy with its placeholders (BDF, VENDOR:DEVICE, group N) filled in
        from what the evidence named, so the command can be run as shown."""
        bdf, group = subject.get("bdf"), subject.get("group")
        if bdf:
            remedy = _BDF_WORD.sub(bdf, remedy)
            dev = self.facts.devices.get(bdf)
            if dev is not None and dev.vendor and dev.device:
                remedy = remedy.replace("VENDOR:DEVICE", f"{dev.vendor}:{dev.device}")
        if group and group.isdigit():
            remedy = _GROUP_N.sub(lambda m: m.group(1) + group, remedy)
        return remedy

    # Inputs -----------------------------------------------------------------------------

    def feed_candidates(self, found: Iterable[Candidate], source: str | None, index: int) -> None:
        # Kernel driver lines (`amdgpu 0000:03:00.0: ...`) pass the prefilter for the fact they
        # carry (which driver holds which device), and a long log repeats them by the hundred
        # thousand: a message (its time cut off) seen once as a fact is skipped after.
        seen = self._fact_messages
        for cand in found:
            raw_bytes = cand.raw
            key = raw_bytes[raw_bytes.find(b"] ") + 2 :] if raw_bytes[:1] == b"[" else raw_bytes
            if key in seen:
                continue
            raw = raw_bytes[: MAX_LINE * 4].decode("utf-8", "replace")[:MAX_LINE].rstrip("\r\n")
            if self._feed_line(cand.line, raw, source, index):
                if len(seen) >= MEMO_SIZE:
                    seen.clear()
                seen.add(key)

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
        """Lines already in memory (a probe's kernel log, a QEMU log tail): through the same
        prefilter as a file (lines end at newlines, numbered as `workbench explain FILE` numbers
        them), so only lines holding a literal cost a Python step."""
        self.feed_stream(io.BytesIO(text.encode("utf-8", "replace")), source)


_BDF_WORD = re.compile(r"\bBDF\b")
_GROUP_N = re.compile(r"(/dev/vfio/|iommu_groups/)N\b")


def _trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of `words`, as a trie (`vfio(?:-pci 0|_map_dma)`): Python's re
    tries a flat alternation's branches one by one at every position (24 us for an ordinary
    line against the catalogue's literals), a trie's first characters at once (4 us)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def _subject(groups: dict[str, str | None], text: str) -> dict[str, str]:
    """What a matching line is about: its pattern's groups (`bdf_2` counts as `bdf`), the
    BDF in its full form, the errno as a number, and the VM the line names."""
    subject: dict[str, str] = {}
    for name, value in groups.items():
        if not value:
            continue
        key = subject_key(name)
        value = safe_text(value)  # a subject is shown: no terminal control from a pasted line
        if key == "bdf":
            value = full_bdf(value)
        elif key == "errno":
            value = value.lstrip("-")
        subject.setdefault(key, value)
    if "vm" not in subject and (vm := line_vm(text, None)):
        subject["vm"] = safe_text(vm)
    if "errno" not in subject and (errno := line_errno(text)):
        subject["errno"] = errno
    return subject


def explain_text(text: str, host: Host | None = None) -> Explanation:
    """The causes `text` (pasted lines, in any mixture) shows, with the machine's facts."""
    matcher = Matcher()
    matcher.feed_text(text)
    if host is not None:
        matcher.feed_host(host)
    return matcher.result()
