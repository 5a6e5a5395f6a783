"""`workbench events`: stream VM transitions and connection changes until stopped."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from workbench.commands.common import reader_left, say, stop_on_signals, text_stdout
from workbench.core.text import safe_text

if TYPE_CHECKING:  # libvirt is imported when the command runs
    from workbench.core.errors import WorkbenchError
    from workbench.virt.session import VirtSession

READER_CHECK_S = 0.5  # how soon a quiet stream notices its reader has left


class Output:
    """Where the records go; the first write that fails (the reader left, a full disk) is kept
    and stops the command, since nothing it prints after that can reach anyone."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.lock = threading.Lock()  # listeners run on the session's threads
        self.failed: OSError | None = None

    def write(self, line: str) -> None:
        with self.lock:
            if self.failed is not None:
                return
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except OSError as exc:  # BrokenPipeError included: main() says what it needs to
                self.failed = exc
                self.stop.set()


def _printer(as_json: bool, output: Output) -> Any:

    def emit(record: dict[str, Any], several: bool = False) -> None:
        if as_json:
            line = json.dumps(record)
        elif "connection" in record:
            extra = ""
            if record.get("retry_in_s") is not None:
                extra = f" (attempt {record['attempt']}, next in {record['retry_in_s']:.1f} s)"
            elif record["connection"] == "disconnected" and record.get("error"):
                # The session gave up on this URI: said once, in the stream; the others go on.
                extra = f" (not watched any more: {record['error'].get('message')})"
            elif record.get("reason"):
                extra = f" ({record['reason']})"
            line = f"{record['timestamp']}  connection {record['connection']}{extra}"
        elif "stuck" in record:
            line = (
                f"{record['timestamp']}  {record['vm']}: stuck in {record['stuck']} for "
                f"{record['for_s']:.0f} s"
            )
        elif "agent" in record:
            line = f"{record['timestamp']}  {record['vm']}: guest agent {record['agent']}"
        else:
            detail = f" ({record['cause']}: {record['detail']})" if record.get("detail") else ""
            line = (
                f"{record['timestamp']}  {record['vm']}: {record['from']} -> {record['to']}{detail}"
            )
        if not as_json and several:  # which hypervisor, after the timestamp
            stamp, _, rest = line.partition("  ")
            line = f"{stamp}  [{record.get('uri')}]  {rest}"
        if not as_json:  # VM names and reasons come from the hypervisor: shown, never run
            line = safe_text(line)
        output.write(line)

    return emit


def run(args: argparse.Namespace) -> int:
    from workbench.target import open_target

    with open_target(connect=args.connect, connects=getattr(args, "connects", None)) as target:
        return _watch(args, target.require_connects())


def _watch(args: argparse.Namespace, uris: list[str]) -> int:
    """One session per URI, each on its own threads: a daemon that drops out reconnects on its
    own while the others' records keep flowing into the one stream; every record says `uri`."""
    from workbench.core.logging import configure_logging
    from workbench.virt.session import VirtSession

    configure_logging()
    stop = stop_on_signals()
    if not args.json:
        text_stdout()  # a VM name the terminal cannot show is escaped, never a dead listener
    output = Output(stop)
    printer = _printer(args.json, output)
    sessions: list[VirtSession] = []
    for uri in uris:
        sessions.append(_session(VirtSession(uri), printer, stop, sessions, len(uris) > 1))
    for session in sessions:
        session.start()
    while not stop.wait(READER_CHECK_S):
        if reader_left(sys.stdout):  # `events | head -1` while nothing happens
            output.failed = BrokenPipeError(errno.EPIPE, "the reader left")
            break
    for session in sessions:
        session.stop()
    if output.failed is not None:
        raise output.failed  # main(): nothing for a reader that left, one line otherwise
    lost = [(s.shown_uri, s.last_error) for s in sessions if s.gave_up.is_set() and s.last_error]
    if len(sessions) == 1 and lost:
        raise lost[0][1]  # the one URI's own error, as it always was
    if lost:
        # Like every error that ends a command: one line, exit 2, the chain in the log
        # (and under --json a workbench.error/1 document after the records).
        raise lost_hypervisors(lost, len(sessions))
    return 0


def lost_hypervisors(lost: list[tuple[str, WorkbenchError]], watched: int) -> WorkbenchError:
    """The error that ends `events` when some of its URIs failed for good: each (masked URI,
    its error) named with why; the first one's error is the cause."""
    from workbench.core.errors import VirtConnectionError

    named = "; ".join(f"{uri} ({error.message})" for uri, error in lost)
    return VirtConnectionError(
        f"{len(lost)} of {watched} hypervisors could not be watched: {named}",
        code="EVENTS_HYPERVISOR_LOST",
        details={"uris": [uri for uri, _ in lost]},
        cause=lost[0][1],
        recoverable=False,
        remedy="check those URIs with `workbench probe --connect URI`",
    )


def _session(
    session: VirtSession,
    printer: Any,
    stop: threading.Event,
    sessions: list[VirtSession],
    several: bool,
) -> VirtSession:
    """`session` with its listeners: each record stamped with the session's (masked) URI;
    `sessions` is every session of the command (this one included, once all are made)."""
    uri = session.shown_uri

    def emit(record: dict[str, Any]) -> None:
        printer({**record, "uri": uri}, several)

    def explain(record: dict[str, Any]) -> None:
        """Why the link is down, on stderr. A session that gave up (a permanent error) leaves
        the others watched; the command ends at once only when every one of them gave up."""
        error = record.get("error") or {}
        if record["connection"] == "reconnecting" and error:
            where = f"{safe_text(uri)}: " if several else ""
            say(f"{where}{error.get('message')}; retrying in {record['retry_in_s']:.1f} s")
        if session.gave_up.is_set() and all(s.gave_up.is_set() for s in sessions):
            stop.set()

    session.connection_listeners.append(emit)
    session.connection_listeners.append(explain)
    session.agent_listeners.append(emit)
    session.stuck_listeners.append(emit)
    session.lifecycles.listeners.append(lambda t: emit(t.to_dict()))
    return session
