"""What the subcommands share: one-line errors on stderr, signal handling."""

from __future__ import annotations

import signal
import sys
import threading


def usage_error(message: str) -> int:
    """Bad usage or unreadable input: one line on stderr, exit status 2."""
    print(f"workbench: {message}", file=sys.stderr)
    return 2


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (for commands that run until stopped)."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
