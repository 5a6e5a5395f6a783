"""The terminal the workbench needs, and its driver: Textual's, made safe against a terminal
that hangs up mid-frame."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.driver import Driver

# textual-serve runs each browser session with its web driver named here, and no TTY.
SERVED = "TEXTUAL_DRIVER"


def terminal_problem() -> str | None:
    """Why the workbench cannot be drawn here (None: it can). Without a terminal on stdin,
    stdout and stderr (where Textual draws), Textual spins on an empty stdin and writes escape
    codes nobody sees; TERM=dumb has no alternate screen, which Textual cannot do without."""
    if os.environ.get(SERVED):
        return None
    streams = {"stdin": sys.stdin, "stdout": sys.stdout, "stderr": sys.stderr}
    missing = [name for name, stream in streams.items() if stream is None or not stream.isatty()]
    if missing:
        return f"{', '.join(missing)}: not a terminal"
    term = os.environ.get("TERM", "")
    if term in ("", "dumb"):
        return f"TERM={term or '(unset)'} cannot show the workbench"
    return None


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
    if sys.platform != "linux" or os.environ.get(SERVED):
        return None
    import selectors
    from codecs import getincrementaldecoder

    from textual._xterm_parser import XTermParser
    from textual.drivers.linux_driver import LinuxDriver

    class TerminalDriver(LinuxDriver):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = HangupSafe(self._file)  # type: ignore[assignment,arg-type]

        def run_input_thread(self) -> None:
            """Textual's input loop (textual is pinned), ending at end of input. Textual's own
            loop takes an empty read for a pipe's pause and selects again: on a terminal that
            is gone (closed without a SIGHUP) stdin stays readable and empty, and that loop
            spun a core for ever. Here the end of input quits the app like `q`."""
            parser = XTermParser(self._debug)
            decode = getincrementaldecoder("utf-8")().decode
            with selectors.SelectSelector() as selector:
                selector.register(self.fileno, selectors.EVENT_READ)
                while not self.exit_event.is_set():
                    if selector.select(0.1):
                        try:
                            data = os.read(self.fileno, 4096)
                        except OSError:  # EIO: the terminal hung up
                            data = b""
                        if not data:
                            # RuntimeError: the loop has closed, the app is gone already.
                            with contextlib.suppress(RuntimeError):
                                self._loop.call_soon_threadsafe(self._app.exit)
                            return
                        for event in parser.feed(decode(data)):
                            self.process_message(event)
                    for event in parser.tick():
                        self.process_message(event)

    return TerminalDriver
