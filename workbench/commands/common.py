"""What the subcommands share: one-line errors on stderr, signal handling, option types."""

from __future__ import annotations

import argparse
import math
import re
import signal
import sys
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from workbench.core.text import mask_uri, parse_uint, safe_text

MAX_SECONDS = 86_400.0  # a day: longer is a typo, and threading refuses infinite waits
# ASCII decimal with an optional exponent: float() alone would take "inf", "nan", "1_0", Arabic digits.
_DECIMAL = re.compile(
    r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]{1,4})?|\.[0-9]+(?:[eE][+-]?[0-9]{1,4})?"
)


def usage_error(message: str) -> int:
    """Bad usage or unreadable input: one line on stderr, exit status 2."""
    print(f"workbench: {message}", file=sys.stderr)
    return 2


def uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a libvirt URI, said without its password; None when it may be.
    Caught here, before libvirt: libvirt calls a port of 99999 "connection refused" (retried
    for ever), and urllib's own message quotes the bad port, which can be part of a password."""
    shown = safe_text(mask_uri(uri))
    if any(char.isspace() or not char.isprintable() for char in uri):
        return f"--connect: a URI holds no spaces or control characters: {shown}"
    try:
        urlsplit(uri).port  # noqa: B018 - the property parses the port, raising if it is bad
    except ValueError:
        return (
            f"--connect: cannot parse {shown} (a port is 0-65535; percent-encode '/', '@', ':', "
            "'?' and '#' in a user or password)"
        )
    return None


def seconds(text: str) -> float:
    """argparse type: a finite number of seconds, more than 0 and at most a day."""
    value = float(text) if _DECIMAL.fullmatch(text.strip()) else math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_SECONDS:g}, got {text!r}"
        )
    return value


def count(limit: int) -> Callable[[str], int]:
    """argparse type: a whole number of ASCII digits from 0 to `limit`."""

    def parse(text: str) -> int:
        value = parse_uint(text, limit=limit)
        if value is None:
            raise argparse.ArgumentTypeError(f"expected a whole number 0-{limit}, got {text!r}")
        return value

    parse.__name__ = "count"  # argparse names the type in some of its messages
    return parse


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (for commands that run until stopped)."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
