"""What the subcommands share: messages on stderr and text on stdout made safe for a terminal,
signal handling, option types."""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import re
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import NoReturn
from urllib.parse import urlsplit

from workbench.core.text import mask_uri, parse_uint, safe_text

MAX_SECONDS = 86_400.0  # a day: longer is a typo, and threading refuses infinite waits
# ASCII decimal with an optional exponent: float() alone would take "inf", "nan", "1_0", Arabic digits.
_DECIMAL = re.compile(
    r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]{1,4})?|\.[0-9]+(?:[eE][+-]?[0-9]{1,4})?"
)


def say(message: str) -> None:
    """One line for the user on stderr. Messages carry file names, URIs and libvirt's words:
    every terminal control in them is shown escaped (`\\x1b`), never acted on."""
    print(f"workbench: {safe_text(message)}", file=sys.stderr)


def usage_error(message: str) -> int:
    """Bad usage or unreadable input: one line on stderr, exit status 2."""
    say(message)
    return 2


class ArgumentsError(SystemExit):
    """argparse's refusal (exit 2, already said on stderr), with its words for `--json`."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse with its complaints escaped: "unrecognized arguments" repeats them raw."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {safe_text(message)}\n")
        raise ArgumentsError(message)


@contextlib.contextmanager
def plugins_print_to_stderr() -> Iterator[None]:
    """While probe plugins are imported and run: what they print goes to stderr, so that stdout
    holds the document alone (a report, an archive, a diff) for the reader of the pipe."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def reader_left(stream: object) -> bool:
    """Whether `stream` is a pipe (or socket, or terminal) whose other end has gone: a command
    that waits for news would otherwise learn it only at its next write, maybe never."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False  # not a descriptor (a test's StringIO): nobody to lose
    poller = select.poll()
    poller.register(fd, 0)  # no events asked: only the error and hang-up conditions come back
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def can_encode(encoding: str | None, text: str) -> bool:
    """Whether a stream in `encoding` can show every character of `text`."""
    try:
        text.encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def text_stdout(marks: str = "") -> bool:
    """Ready stdout for text that carries the machine's strings; True when it must be ASCII.

    A character the stream's encoding lacks is then escaped (`\\u2603`), never fatal (a
    UnicodeEncodeError mid-output). The answer says whether the stream can show `marks`, the
    glyphs the renderer adds itself: when it cannot, the renderer uses ASCII stand-ins and
    escapes the machine's text to ASCII too."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    return not can_encode(sys.stdout.encoding, marks)


def uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a libvirt URI, said without its password; None when it may be.
    Caught here, before libvirt: libvirt calls a port of 99999 "connection refused" (retried
    for ever), and urllib's own message quotes the bad port, which can be part of a password."""
    shown = safe_text(mask_uri(uri))
    if any(char.isspace() or not char.isprintable() for char in uri):
        return f"--connect: a URI holds no spaces or control characters: {shown}"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - the property parses the port, raising if it is bad
    except ValueError:
        parts = None
    if parts is None:
        return (
            f"--connect: cannot parse {shown} (a port is 0-65535; percent-encode '/', '@', ':', "
            "'?' and '#' in a user or password)"
        )
    # A user part followed by another '@' (in the authority, or in the path) is a password's
    # unencoded '@' or '/': libvirt would read part of the password as the host and say it
    # ("Unable to resolve address 'ss'"), and retry. An '@' in a query value (a keyfile under
    # /home/bob@corp) or in a path with no user part is an ordinary character.
    if parts.netloc.count("@") > 1 or ("@" in parts.netloc and "@" in parts.path):
        return (
            f"--connect: {shown} has an '@' after its user part; percent-encode '/', '@', "
            "':', '?' and '#' in a user or password (%2F, %40, %3A, %3F, %23)"
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


class StopEvent(threading.Event):
    """An Event the main thread waits on without missing a signal. Python runs signal handlers
    only on the main thread; when the kernel delivers the signal to another thread (libvirt's
    event loop sits in poll()), a main thread blocked without a timeout never wakes to run the
    handler, and `workbench events` ignored SIGTERM for ever. So it wakes every 0.2 s."""

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            return super().wait(timeout)
        while not super().wait(0.2):
            pass
        return True


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (for commands that run until stopped)."""
    stop = StopEvent()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
