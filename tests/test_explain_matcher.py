"""The matcher's bookkeeping: which evidence lines a cause keeps."""

from __future__ import annotations

from workbench.explain.matcher import KEEP_FIRST, KEEP_NEWEST, explain_text


def test_a_cause_keeps_its_first_and_newest_lines_and_counts_the_rest() -> None:
    """30 distinct lines of one cause: the first and the newest are shown, those between are
    counted (a long log's latest failure is at its end)."""
    lines = [
        f"[{n:5d}.000000] vfio_pin_pages_remote: RLIMIT_MEMLOCK ({n}) exceeded" for n in range(30)
    ]
    (cause,) = explain_text("\n".join(lines) + "\n").causes
    shown = [e.line for e in cause.evidence]
    assert shown == [*range(1, KEEP_FIRST + 1), *range(31 - KEEP_NEWEST, 31)]
    assert cause.more_evidence == 30 - KEEP_FIRST - KEEP_NEWEST


def test_the_same_line_again_is_shown_once() -> None:
    """A message repeated word for word is one evidence line, not a count."""
    line = "vfio_pin_pages_remote: RLIMIT_MEMLOCK (4194304) exceeded"
    (cause,) = explain_text(f"{line}\n{line}\n{line}\n").causes
    assert [e.line for e in cause.evidence] == [1] and cause.more_evidence == 0
