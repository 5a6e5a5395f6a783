"""An App whose output is safe whatever the machine holds: notifications never read machine
text as markup nor pass control codes, and a crash report shows no local variables (a password
typed in --connect lives there) and masks URI passwords (see workbench.ui.crash)."""

from __future__ import annotations

import sys

from textual.app import App
from textual.notifications import SeverityLevel

from workbench.core.text import safe_text


class SafeApp(App[int]):
    def _fatal_error(self) -> None:
        """Textual's crash report without local variables or URI passwords (ui.crash)."""
        from workbench.ui.crash import report_crash  # rich.traceback + pygments: ~19 ms

        report_crash(self, sys.exc_info()[1])

    def action_help_quit(self) -> None:
        """Ctrl+C: say which key quits, in plain words (Textual's own note is markup, which
        `notify` here never reads)."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification carries machine text (VM names, errors, paths): never markup,
        control characters shown escaped, whatever the caller asks."""
        text, head = safe_text(message, multiline=True), safe_text(title)
        super().notify(text, title=head, severity=severity, timeout=timeout, markup=False)
