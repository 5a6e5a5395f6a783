"""SIGTERM and SIGHUP while a capture is open: by default they kill the process outright and
leave the unpacked tree behind; here they raise SystemExit (exit 128+signal), as Ctrl-C raises
KeyboardInterrupt, so the clean-up runs."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class TerminationGuard:
    """Installed only in the main thread and only over the default action (a UI or an
    embedding application keeps its own handlers). A signal during `deferred()` (the
    clean-up itself) is held until it ends; a second signal is ignored."""

    def __init__(self) -> None:
        self._ours: list[signal.Signals] = []
        self._deferring = False
        self._pending: int | None = None
        self._fired = False

    def __enter__(self) -> TerminationGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                if signal.getsignal(sig) is signal.SIG_DFL:
                    signal.signal(sig, self._handle)
                    self._ours.append(sig)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig in self._ours:
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, signal.SIG_DFL)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._fired:
            return
        if self._deferring:
            self._pending = signum
            return
        self._fired = True
        raise SystemExit(128 + signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a signal until the block ends (a clean-up that must not be cut short)."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending is not None and not self._fired:
            self._fired = True
            raise SystemExit(128 + self._pending)
