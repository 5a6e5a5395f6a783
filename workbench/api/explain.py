"""`workbench.explain_logs(...)`: the causes log lines show, for notebooks and scripts (the
same reading and matcher as `workbench explain`), as an HTML table in Jupyter."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from workbench.api.html import badge, table, text
from workbench.explain.model import CauseMatch, Explanation


@dataclasses.dataclass(frozen=True)
class ExplainView:
    """What `workbench explain` finds: `causes` (most likely first, harmless ones after),
    `suggestive` (only a log's words show them: the machine's facts decide), `found`."""

    explanation: Explanation

    @property
    def causes(self) -> list[CauseMatch]:
        return self.explanation.causes

    @property
    def suggestive(self) -> list[CauseMatch]:
        return self.explanation.suggestive

    @property
    def found(self) -> bool:
        """Whether a cause that is not harmless was found (`workbench explain` exits 1)."""
        return self.explanation.found

    def __getitem__(self, code: str) -> CauseMatch:
        """The cause of that code (KeyError when none)."""
        for cause in self.causes:
            if cause.code == code:
                return cause
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        """The workbench.explain/1 document, as `workbench explain --json` prints it."""
        return self.explanation.to_dict()

    def __repr__(self) -> str:
        from workbench.core.text import safe_text

        lines = [f"{self.explanation.lines} line(s) read, {len(self.causes)} cause(s)"]
        for c in self.causes:
            kind = "harmless" if c.benign else f"confidence {c.confidence:.2f}"
            lines.append(f"  {safe_text(c.code):<28} {kind}  {safe_text(c.title)}")
        for c in self.suggestive:
            lines.append(f"  {safe_text(c.code):<28} suggestive (the machine's facts decide)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for c, kind in [(c, "") for c in self.causes] + [
            (c, "suggestive") for c in self.suggestive
        ]:
            status = "pass" if c.benign else "skip" if kind else c.severity
            evidence = "<br>".join(
                text(f"{e.source or ''}:{e.line}: {e.text}") for e in c.evidence[:8]
            )
            rows.append(
                [
                    badge(status),
                    text(c.code),
                    text(kind or f"{c.confidence:.2f}"),
                    text(c.title),
                    evidence,
                    text(c.remedy),
                ]
            )
        headers = ["", "cause", "confidence", "what", "evidence", "remedy"]
        caption = f"<p>{self.explanation.lines} line(s) read</p>"
        return caption + table(headers, rows, cls="wb-explain")


def explain_logs(
    *paths: str | Path,
    root: str | Path | None = None,
    capture: str | Path | None = None,
    sos: str | Path | None = None,
) -> ExplainView:
    """The causes the lines of `paths` show (plain, .gz or .xz), most likely first; with a
    machine (`root`, `capture`, `sos`) its facts join, and without paths its own kernel and QEMU
    logs are read. Raises WorkbenchError for an unreadable input."""
    from workbench.commands.explain import check_file, feed_machine_logs, read_inputs
    from workbench.explain.matcher import Matcher

    if sum(x is not None for x in (root, capture, sos)) > 1:
        raise ValueError("explain_logs: give one of root, capture or sos, not both")
    files = [str(Path(p).expanduser()) for p in paths]
    for name in files:
        check_file(name)
    matcher = Matcher()
    not_read: list[dict[str, str]] = []
    if root is None and capture is None and sos is None:
        if not files:
            raise ValueError("explain_logs: give log files, or a machine (root, capture, sos)")
        read_inputs(matcher, files)
    else:
        from workbench.target import open_target

        with open_target(root=root, capture=capture, sos=sos) as target:
            matcher.feed_host(target.host)
            read_inputs(matcher, files)
            if not files:
                not_read, _ = feed_machine_logs(matcher, target.host)
    explanation = matcher.result()
    explanation.not_read = not_read
    return ExplainView(explanation)
