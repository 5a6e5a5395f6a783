"""A JSON-lines log for notebooks and scripts: filter, tail, render as a table."""

from __future__ import annotations

import dataclasses
import os
import re
from collections import deque
from pathlib import Path
from typing import Any

from workbench.api.html import LEVEL_COLOUR, table, text
from workbench.logs.filters import LogFilter, scan
from workbench.logs.records import LogRecord, normalise_level, parse_line
from workbench.logs.render import render
from workbench.logs.source import open_log

SHOWN = 50  # rows a repr shows (the last ones) unless tail() says otherwise


@dataclasses.dataclass(frozen=True)
class LogsView:
    path: Path
    flt: LogFilter = dataclasses.field(default_factory=LogFilter)
    last: int | None = None  # tail(n)

    def filter(
        self,
        level: str | None = None,
        vm: str | None = None,
        grep: str | None = None,
        logger: str | None = None,
        probe: str | None = None,
    ) -> LogsView:
        """Records matching every condition given (level: this one or worse; grep: a regular
        expression over the raw line). Raises ValueError for an unknown level or a bad regex."""
        changes: dict[str, Any] = {}
        if level is not None:
            normal = normalise_level(level)
            if normal is None:
                raise ValueError(f"unknown level {level!r}")
            changes["level"] = normal
        if grep is not None:
            changes["grep"] = re.compile(grep)
        for name, value in (("vm", vm), ("logger", logger), ("probe", probe)):
            if value is not None:
                changes[name] = value
        return dataclasses.replace(self, flt=dataclasses.replace(self.flt, **changes))

    def tail(self, n: int = 20) -> LogsView:
        return dataclasses.replace(self, last=n)

    def _scan(self, keep: int | None) -> tuple[int, list[LogRecord]]:
        """(how many match, the last `keep` of them parsed; all when keep is None)."""
        fd = open_log(self.path)
        try:
            kept: deque[bytes] = deque(maxlen=keep)
            count = 0
            for line in scan(fd, self.flt):
                kept.append(line)
                count += 1
        finally:
            os.close(fd)
        return count, [parse_line(0, line) for line in kept]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The matching records' fields (a malformed line: {"raw": line})."""
        _, shown = self._scan(self.last)
        return [r.fields if not r.malformed else {"raw": r.raw} for r in shown]

    def __len__(self) -> int:
        count, _ = self._scan(0)
        return count if self.last is None else min(count, self.last)

    def _shown(self) -> tuple[int, list[LogRecord]]:
        return self._scan(self.last if self.last is not None else SHOWN)

    def __repr__(self) -> str:
        count, shown = self._shown()
        head = f"{self.path}: {count} matching record(s)"
        if len(shown) < count:
            head += f", the last {len(shown)}"
        return "\n".join([head, *(render(r, width=160) for r in shown)])

    def _repr_html_(self) -> str:
        count, shown = self._shown()
        rows = []
        for r in shown:
            colour = LEVEL_COLOUR.get(r.level or "", "inherit")
            extra = {
                k: v
                for k, v in r.fields.items()
                if k not in ("timestamp", "level", "event", "logger", "message", "msg")
            }
            rows.append(
                [
                    text(r.timestamp or ""),
                    f'<span style="color:{colour}">{text(r.level or "?")}</span>',
                    text(r.logger or ""),
                    text(r.raw if r.malformed else r.message),
                    text(", ".join(f"{k}={v}" for k, v in extra.items())),
                ]
            )
        head = f"{count} matching record(s)" + (
            f", the last {len(shown)}" if len(shown) < count else ""
        )
        return (
            f"<div class='wb-logs'><b>{text(self.path)}</b>: {text(head)}"
            + table(["time", "level", "logger", "event", "fields"], rows, cls="wb-logs")
            + "</div>"
        )
