"""The visible countdown of a retry with backoff: attempt n/N and seconds to the next one."""

from __future__ import annotations

import time

from textual.widgets import Static

from workbench.core.recovery import Attempt
from workbench.ui.plain import assemble, plain


class RetryCountdown(Static):
    """Shows the state of the operator's current retry; ticks while waiting."""

    DEFAULT_CSS = """
    RetryCountdown { height: auto; padding: 0 1; color: $warning; }
    RetryCountdown.-idle { display: none; }
    """

    def __init__(self, *, stable: bool = False, id: str | None = None) -> None:
        super().__init__("", id=id, classes="-idle")
        self._attempt: Attempt | None = None
        self._due = 0.0
        self._stable = stable

    def on_mount(self) -> None:
        self.set_interval(0.2, self._tick)

    def show_attempt(self, attempt: Attempt) -> None:
        self._attempt = attempt
        self._due = time.monotonic() + (attempt.delay_s or 0)
        self.remove_class("-idle")
        self._tick()

    def finish(self, text: str) -> None:
        self._attempt = None
        self.update(plain(text, multiline=True))
        self.remove_class("-idle")

    def _tick(self) -> None:
        attempt = self._attempt
        if attempt is None:
            return
        if attempt.delay_s is None:
            self.update(plain(f"attempt {attempt.number}/{attempt.attempts} …"))
            return
        left = attempt.delay_s if self._stable else max(0.0, self._due - time.monotonic())
        reason = (attempt.error or {}).get("message", "failed")
        self.update(  # the reason quotes the machine: text, never markup
            assemble(
                f"attempt {attempt.number}/{attempt.attempts} failed: ",
                plain(reason, multiline=True),
                f"\nretrying in {left:.0f}s  (x to cancel)",
            )
        )
