"""A live libvirt session: events become transitions; a killed daemon is reconnected and resynced."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.virt_helpers import SessionDaemon, _children
from workbench.core.errors import WorkbenchError
from workbench.core.lifecycle import Transition
from workbench.core.recovery import RetryPolicy
from workbench.virt.connection import open_connection
from workbench.virt.session import VirtSession


class Recorder:
    """Collects what a session reports, and lets a test wait for a condition."""

    def __init__(self, session: VirtSession) -> None:
        self.transitions: list[Transition] = []
        self.connection: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        session.lifecycles.listeners.append(self._add(self.transitions))
        session.connection_listeners.append(self._add(self.connection))

    def _add(self, into: list[Any]) -> Any:
        def add(item: Any) -> None:
            with self._changed:
                into.append(item)
                self._changed.notify_all()

        return add

    def wait(self, predicate: Any, timeout_s: float = 20) -> bool:
        with self._changed:
            return self._changed.wait_for(predicate, timeout_s)


def test_events_become_transitions_in_order() -> None:
    """Actions on another connection arrive as lifecycle events, in order, with details."""
    session = VirtSession("test:///default")
    seen = Recorder(session)
    session.start()
    try:
        assert session.wait_for("connected", 10)
        dom = open_connection("test:///default", readonly=False).lookupByName("test")
        dom.suspend()
        dom.resume()
        dom.destroy()
        assert seen.wait(lambda: len(seen.transitions) >= 4)
    finally:
        session.stop()
    assert [(t.from_state, t.to_state, t.cause) for t in seen.transitions] == [
        ("nostate", "running", "resync"),
        ("running", "paused", "event"),
        ("paused", "running", "event"),
        ("running", "shutoff", "event"),
    ]
    assert seen.transitions[3].detail == "stopped: destroyed"
    assert session.lifecycles.get("test").state == "shutoff"


def test_unreachable_daemon_reconnects_with_backoff(tmp_path: Path) -> None:
    """No daemon: the session says `reconnecting` with attempt numbers and growing delays, and
    stop() ends it promptly."""
    uri = f"test+unix:///default?socket={tmp_path}/none.sock"
    policy = RetryPolicy(attempts=100, base_delay=0.05, factor=2, max_delay=0.2, jitter=0)
    session = VirtSession(uri, policy=policy)
    seen = Recorder(session)
    session.start()
    try:
        assert seen.wait(lambda: len(seen.connection) >= 3)
    finally:
        session.stop()
    first, second, third = seen.connection[:3]
    assert [r["connection"] for r in (first, second, third)] == ["reconnecting"] * 3
    assert [r["attempt"] for r in (first, second, third)] == [1, 2, 3]
    assert [r["retry_in_s"] for r in (first, second, third)] == [0.05, 0.1, 0.2]
    assert first["error"]["error"] == "LIBVIRT_UNREACHABLE"


def test_killed_daemon_reconnects_and_resyncs(libvirtd: SessionDaemon) -> None:
    """The real session libvirtd is killed mid-session: the session goes disconnected, then
    reconnecting, and once the daemon is back it resyncs, recording what changed as `resync`."""
    # test:///default is one driver instance shared by every connection to the daemon (a node
    # file would give each connection its own), so the suspend below is seen by the session.
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    policy = RetryPolicy(attempts=1000, base_delay=0.1, factor=2, max_delay=0.5, jitter=0.1)
    session = VirtSession(uri, policy=policy, keepalive=(1, 2))
    seen = Recorder(session)
    session.start()
    try:
        assert session.wait_for("connected", 20)
        rw = open_connection(uri, readonly=False)
        rw.lookupByName("test").suspend()  # the daemon forgets this when it restarts
        assert seen.wait(lambda: session.lifecycles.get("test").state == "paused")
        rw.close()
        libvirtd.kill()
        assert seen.wait(lambda: any(r["connection"] == "reconnecting" for r in seen.connection))
        states = [r["connection"] for r in seen.connection]
        assert states[:3] == ["connected", "disconnected", "reconnecting"]
        libvirtd.start()
        assert seen.wait(lambda: seen.connection[-1]["connection"] == "connected", 30)
    finally:
        session.stop()
    resynced = [t for t in seen.transitions if t.cause == "resync" and t.vm == "test"]
    assert (resynced[-1].from_state, resynced[-1].to_state) == ("paused", "running")
    assert resynced[-1].detail == "resync after reconnect"


def test_calls_fail_cleanly_while_disconnected(tmp_path: Path) -> None:
    """Asking a session with no connection gives a recoverable error, not a crash or a hang."""
    session = VirtSession(f"test+unix:///default?socket={tmp_path}/none.sock")
    try:
        session.connection()
    except Exception as exc:  # noqa: BLE001 - the type is what is tested
        assert getattr(exc, "code", None) == "LIBVIRT_DISCONNECTED"
        assert getattr(exc, "recoverable", None) is True
    else:
        raise AssertionError("expected an error")
    assert libvirt.getVersion() > 0
    time.sleep(0)


def test_stuck_shutdown_is_reported_once() -> None:
    """A VM left in `shutdown` past the limit is reported stuck, once per episode."""
    session = VirtSession("test:///default", stuck_after={"shutdown": 0.1}, stuck_check_s=0.05)
    stuck: list[dict[str, Any]] = []
    got = threading.Event()
    session.stuck_listeners.append(lambda r: (stuck.append(r), got.set()))
    session.start()
    try:
        assert session.wait_for("connected", 10)
        session.lifecycles.get("test").on_action("operator: shutdown", "shutdown")
        assert got.wait(10)
        time.sleep(0.3)  # more checks pass; the same episode is not reported again
    finally:
        session.stop()
    assert len(stuck) == 1
    assert (stuck[0]["vm"], stuck[0]["stuck"]) == ("test", "shutdown")
    assert stuck[0]["for_s"] >= 0.1


# A session that reconnects to a daemon that accepts and never answers; every half second it
# prints: attempts so far, open fds, threads.
_SILENT_DAEMON_CLIENT = """
import os, sys, time
from workbench.core.recovery import RetryPolicy
from workbench.virt.session import VirtSession
policy = RetryPolicy(attempts=10**6, base_delay=0.05, factor=1, max_delay=0.05, jitter=0)
session = VirtSession(sys.argv[1], policy=policy, call_timeout_s=0.1)
attempts = []
session.connection_listeners.append(lambda r: attempts.append(r.get("attempt")))
session.start()
for _ in range(8):
    time.sleep(0.5)
    fds, tasks = os.listdir("/proc/self/fd"), os.listdir("/proc/self/task")
    print(len(attempts), len(fds), len(tasks), flush=True)
session.stop()
"""


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_reconnecting_to_a_silent_daemon_leaks_no_fds_or_threads(
    transport: str, tmp_path: Path
) -> None:
    """Each timed-out connect to a daemon that never answers closes what it opened (or waits
    for the attempt still running): fds and threads stay bounded over many attempts."""
    if transport == "tcp":
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        uri = f"qemu+tcp://127.0.0.1:{server.getsockname()[1]}/system"
    else:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(tmp_path / "silent.sock"))
        uri = f"qemu+unix:///system?socket={tmp_path / 'silent.sock'}"
    server.listen(128)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])  # accepted, never answered

    threading.Thread(target=accept, daemon=True).start()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _SILENT_DAEMON_CLIENT, uri],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.close()
        for conn in held:
            conn.close()
    samples = [tuple(map(int, line.split())) for line in proc.stdout.splitlines()]
    assert len(samples) == 8, proc.stderr
    attempts, fds, threads = zip(*samples, strict=True)
    assert attempts[-1] >= 15, samples  # many attempts were made
    assert max(fds) - fds[0] <= 2, samples
    assert max(threads) - threads[0] <= 1, samples


def test_a_connection_that_answers_after_its_deadline_is_closed(libvirtd: SessionDaemon) -> None:
    """An open abandoned at its deadline (the daemon stopped) is closed when the daemon
    finally answers: no fd is left behind once it returns."""
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    open_connection(uri).close()  # the event loop and its fds exist before counting
    assert libvirtd.proc is not None
    daemon = [libvirtd.proc.pid, *_children(libvirtd.proc.pid)]
    before = len(os.listdir("/proc/self/fd"))
    for pid in daemon:
        os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(WorkbenchError) as info:
            open_connection(uri, timeout_s=0.3)
    finally:
        for pid in daemon:
            os.kill(pid, signal.SIGCONT)
    assert info.value.code == "OPERATION_TIMEOUT"
    deadline = time.monotonic() + 10
    while len(os.listdir("/proc/self/fd")) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_password_libvirt_quotes_is_masked_whatever_its_shape() -> None:
    """libvirt's messages quote the URI as given; an error made from them shows it masked as a
    whole, even when the password holds a space (outside the CLI, which refuses spaces)."""
    import json

    import libvirt

    from workbench.core.errors import WorkbenchError
    from workbench.virt.connection import from_libvirt, open_connection

    uri = "qemu+tcp://admin:p s3cret@h/system"
    with pytest.raises(WorkbenchError) as opened:
        open_connection(uri, timeout_s=10)
    try:
        libvirt.open(uri)
    except libvirt.libvirtError as exc:
        called = from_libvirt(exc, "list domains", uri)
    for error in (opened.value, called):
        shown = json.dumps(error.to_dict(), default=str)
        assert "admin:***@h/system" in shown, shown
        assert "s3cret" not in shown


def test_a_session_that_cannot_connect_says_so_in_its_chain(tmp_path: Path) -> None:
    """No daemon behind the socket: the error the session gave up with carries
    virt.session::connect (the failed open below it)."""
    uri = f"test+unix:///default?socket={tmp_path}/none.sock"
    session = VirtSession(uri, policy=RetryPolicy(attempts=1, base_delay=0.01))
    session.start()
    try:
        assert session.gave_up.wait(10)
    finally:
        session.stop()
    assert session.last_error is not None
    assert session.last_error.code == "LIBVIRT_UNREACHABLE"
    assert session.last_error.context[0] == "virt.session::connect"


def test_reading_the_configs_of_a_killed_daemon_says_where_it_failed(
    libvirtd: SessionDaemon,
) -> None:
    """The daemon is killed under a connected session: reading the VMs' configurations (what
    the UI asks) fails with the chain read_domains -> domain_configs."""
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    policy = RetryPolicy(attempts=1000, base_delay=5, factor=1, max_delay=5, jitter=0)
    session = VirtSession(uri, policy=policy, keepalive=(1, 2), call_timeout_s=5)
    session.start()
    try:
        assert session.wait_for("connected", 20)
        assert [c.name for c in session.domain_configs()] == ["test"]
        libvirtd.kill()
        with pytest.raises(WorkbenchError) as info:
            session.domain_configs()
    finally:
        session.stop()
    assert info.value.context == ["virt.session::read_domains", "virt.session::domain_configs"]
