"""The terminal driver: Textual's, made safe against a terminal that hangs up mid-frame."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from textual.driver import Driver


class HangupSafe:
    """A terminal stream whose writes are dropped once the terminal is gone.

    Textual writes frames from its own thread; when the terminal closes (tmux killed, ssh
    dropped) a write fails with EIO, that thread dies, its queue fills and the app's shutdown
    blocks forever on it, leaving the demo's agent and temp files behind. Dropping output to a
    terminal nobody can see lets the app quit like `q`."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.hung_up = False

    def write(self, text: str) -> int:
        if not self.hung_up:
            try:
                self._stream.write(text)
            except OSError:
                self.hung_up = True
        return len(text)

    def flush(self) -> None:
        if not self.hung_up:
            try:
                self._stream.flush()
            except OSError:
                self.hung_up = True

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding...
        return getattr(self._stream, name)


def driver_class() -> type[Driver] | None:
    """The driver for a real terminal (None: let Textual choose, as on other platforms and
    under `workbench serve`, where textual-serve names its web driver in TEXTUAL_DRIVER)."""
    if sys.platform != "linux" or os.environ.get("TEXTUAL_DRIVER"):
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class TerminalDriver(LinuxDriver):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = HangupSafe(self._file)  # type: ignore[assignment,arg-type]

    return TerminalDriver
