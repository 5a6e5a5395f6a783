"""SIGTERM and SIGHUP while a capture is open: by default they kill the process outright and
leave the unpacked tree behind; here they raise SystemExit (exit 128+signal), as Ctrl-C raises
KeyboardInterrupt, so the clean-up runs."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class TerminationGuard:
    """Installed only in the main thread and only over the default action (a UI or an
    embedding application keeps its own handlers). A signal during `deferred()` (the
    clean-up itself) is held until it ends; a second signal is ignored.

    The handler's SystemExit can be lost: a Python handler runs in whatever Python code the
    main thread executes next, and some of it runs where CPython discards exceptions (an
    io object's finalizer evaluating its `closed` property, as a tarfile's GzipFile does when
    it is freed, clears the error without a word). So a signal whose SystemExit did not come
    through is raised again by `check()` and, at the latest, when the guard exits."""

    def __init__(self) -> None:
        self._ours: list[signal.Signals] = []
        self._deferring = False
        self._pending: int | None = None
        self._fired: int | None = None  # the exit code raised for the signal, once it was

    def __enter__(self) -> TerminationGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                if signal.getsignal(sig) is signal.SIG_DFL:
                    signal.signal(sig, self._handle)
                    self._ours.append(sig)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig in self._ours:
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, signal.SIG_DFL)
        if exc is None or isinstance(exc, Exception):
            self.check()  # SystemExit or Ctrl-C already on its way out exits non-zero too

    def check(self) -> None:
        """Raise SystemExit again for a signal whose handler's SystemExit was swallowed.
        Only for code running normally: there, a signal already handled means it was lost."""
        if self._fired is not None:
            raise SystemExit(self._fired)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._fired is not None:
            return
        if self._deferring:
            self._pending = signum
            return
        self._fired = 128 + signum
        raise SystemExit(self._fired)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a signal until the block ends (a clean-up that must not be cut short)."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending is not None and self._fired is None:
            self._fired = 128 + self._pending
            raise SystemExit(self._fired)
