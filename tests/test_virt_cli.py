"""`workbench events` and `workbench vm` as a user runs them, against a real session libvirtd."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.conftest import WORKBENCH, run_as, run_cli
from tests.virt_helpers import SessionDaemon
from workbench.virt.connection import open_connection


class Lines:
    """A running command whose stdout lines a test reads with a timeout."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(WORKBENCH), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def until(self, predicate: Any, timeout_s: float = 20) -> dict[str, Any]:
        while True:
            record: dict[str, Any] = json.loads(self.lines.get(timeout=timeout_s))
            self.seen.append(record)
            if predicate(record):
                return record

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


def test_events_stream_transitions_and_connection_changes(libvirtd: SessionDaemon) -> None:
    """JSON lines: connected, the initial state, a suspend from another client, the daemon's
    death and return; SIGTERM ends it with exit 0."""
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    events = Lines("events", "--json", "--connect", uri)
    try:
        events.until(lambda r: r.get("connection") == "connected")
        rw = open_connection(uri, readonly=False)
        rw.lookupByName("test").suspend()
        rw.close()
        paused = events.until(lambda r: r.get("to") == "paused")
        assert set(paused) == {"timestamp", "vm", "from", "to", "cause", "detail", "uri"}
        assert (paused["vm"], paused["from"], paused["cause"]) == ("test", "running", "event")
        libvirtd.kill()
        events.until(lambda r: r.get("connection") == "disconnected")
        libvirtd.start()
        events.until(lambda r: r.get("to") == "running" and r.get("cause") == "resync")
    finally:
        code, err = events.stop()
    assert code == 0, err
    assert "Traceback" not in err
    initial = next(r for r in events.seen if r.get("vm") == "test")
    assert (initial["to"], initial["cause"], initial["detail"]) == (
        "running",
        "resync",
        "initial state",
    )


def test_events_sigint_exits_0(tmp_path: Any) -> None:
    """SIGINT while still trying to reach a daemon: exit 0, no traceback."""
    events = Lines(
        "events", "--json", "--connect", f"test+unix:///default?socket={tmp_path}/none.sock"
    )
    events.until(lambda r: r.get("connection") == "reconnecting")
    code, err = events.stop(signal.SIGINT)
    assert code == 0
    assert "Traceback" not in err


def test_vm_actions(libvirtd: SessionDaemon) -> None:
    """suspend works (exit 0); suspending again is refused by libvirt (exit 1 with the reason);
    an unknown VM is exit 2."""
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    # The daemon frees test:///default with its last client: hold it across the commands.
    keeper = open_connection(uri)
    done = run_cli("vm", "suspend", "test", "--connect", uri)
    assert (done.returncode, done.stdout.strip()) == (0, "suspend test: done"), done.stderr
    again = run_cli("vm", "suspend", "test", "--connect", uri)
    assert again.returncode == 1
    assert "suspend test failed" in again.stderr
    unknown = run_cli("vm", "start", "nosuchvm", "--connect", uri)
    assert unknown.returncode == 2
    assert "no VM named 'nosuchvm'" in unknown.stderr
    assert keeper.lookupByName("test").state()[0] == 3  # paused
    keeper.close()


def test_vm_retries_an_unreachable_daemon(tmp_path: Any) -> None:
    """With --retries 1 against no daemon: one retry announced, then exit 1 with the remedy."""
    proc = run_cli(
        "vm",
        "start",
        "test",
        "--retries",
        "1",
        "--connect",
        f"test+unix:///default?socket={tmp_path}/none.sock",
    )
    assert proc.returncode == 1, proc.stderr
    assert "attempt 1/2 failed" in proc.stderr, proc.stderr
    assert "systemctl start libvirtd" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_vm_bad_usage() -> None:
    """An unknown action or a negative retry count is exit 2."""
    assert run_cli("vm", "explode", "x").returncode == 2
    assert run_cli("vm", "start", "x", "--retries", "-1").returncode == 2


def test_vm_start_of_a_running_vm_with_fallback_says_it_is_running() -> None:
    """`vm start RUNNING --fallback tcg`: exit 1 saying it is already running; TCG not tried."""
    proc = run_cli("vm", "start", "test", "--fallback", "tcg", "--connect", "test:///default")
    assert proc.returncode == 1, proc.stderr
    assert "test is already running" in proc.stderr
    assert "TCG" not in proc.stderr
    assert "Traceback" not in proc.stderr


def _events_until_exit(*args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WORKBENCH), "events", *args], capture_output=True, text=True, timeout=timeout_s
    )


def test_events_with_an_unusable_uri_exits_2_at_once() -> None:
    """A URI libvirt cannot use (no driver named, unknown transport) is not retried: exit 2
    with one line saying why."""
    for uri in ("garbage", "qemu+carrierpigeon://host/system"):
        proc = _events_until_exit("--connect", uri)
        assert proc.returncode == 2, (uri, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, lines
        assert uri in lines[0]
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "uri",
    [
        "qemu+tcp://127.0.0.1:abc/system",
        "qemu+tcp://127.0.0.1/system?x=%zz",
        "qemu+tcp://a:b/c@h/system",
        "qemu+tcp://127.0.0.1:99999/system",
        "qemu+tcp://[::1/system",
    ],
)
@pytest.mark.parametrize("verb", [["events"], ["vm", "start", "x"]])
def test_an_unparsable_uri_exits_2_at_once(verb: list[str], uri: str) -> None:
    """A URI that cannot be parsed (a port that is no port, a bad escape, a password with a
    `/`) is permanent: exit 2 with one line, no retry."""
    started = time.monotonic()
    proc = run_cli(*verb, "--connect", uri)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "retrying" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 10


def test_events_with_a_driver_the_daemon_lacks_exits_2(libvirtd: SessionDaemon) -> None:
    """A daemon that answers "no such driver" is a permanent error: exit 2, one line."""
    proc = _events_until_exit("--connect", f"nosuchdriver+unix:///x?socket={libvirtd.socket}")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_events_says_why_it_keeps_retrying(tmp_path: Any) -> None:
    """A daemon that is down is retried, and stderr says why (the socket is missing)."""
    events = Lines(
        "events", "--json", "--connect", f"test+unix:///default?socket={tmp_path}/none.sock"
    )
    events.until(lambda r: r.get("connection") == "reconnecting")
    events.until(lambda r: r.get("connection") == "reconnecting")
    code, err = events.stop(signal.SIGINT)
    assert code == 0
    assert "No such file or directory" in err
    assert "retrying in" in err


SECRET_URI = "qemu+tcp://admin:s3cret@127.0.0.1:1/system"  # noqa: S105 - the secret to hide


def _secret_run(args: list[str], log: Any, until_s: float | None) -> tuple[str, str]:
    """Run `workbench ARGS` (stopped with SIGINT after `until_s` when given); its output."""
    env = {**os.environ, "WORKBENCH_LOG_FILE": str(log)}
    proc = subprocess.Popen(
        [str(WORKBENCH), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if until_s is not None:
        time.sleep(until_s)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return out, err


@pytest.mark.parametrize(
    "uri",
    [
        SECRET_URI,
        "qemu+tcp://admin:pa/s3cret@127.0.0.1:1/system",
        "qemu+tcp://admin:p@s3cret@127.0.0.1:1/system",
        "qemu+tcp://admin:p?s#3cret@127.0.0.1:1/system",
        "qemu+tcp://admin:s3cret@127.0.0.1:99999/system",
    ],
)
@pytest.mark.parametrize(
    ("args", "until_s"),
    [
        (["probe", "--json", "--only", "libvirt.connection", "--connect"], None),
        (["probe", "--only", "libvirt.domains", "--connect"], None),
        (["vm", "start", "x", "--retries", "1", "--connect"], None),
        (["events", "--connect"], 2.0),
        (["events", "--json", "--connect"], 2.0),
    ],
)
def test_a_password_in_the_uri_is_never_shown(
    args: list[str], until_s: float | None, uri: str, tmp_path: Any
) -> None:
    """A libvirt URI's password, whatever its shape (`/`, `@`, `?`, `#`, a bad port after
    it), reaches libvirt only: stdout, stderr and the log file show `admin:***@` instead, and
    nothing crashes."""
    log = tmp_path / "wb.log"
    out, err = _secret_run([*args, uri], log, until_s)
    written = log.read_text() if log.exists() else ""
    assert "admin:***@127.0.0.1:" in out + err + written, (out, err)
    assert "Traceback" not in err
    for where in (out, err, written):
        assert "s3cret" not in where


def test_events_refused_by_the_daemon_exits_2(libvirtd: SessionDaemon) -> None:
    """A user the daemon refuses (its socket is another user's) is not retried: exit 2, one
    line naming the libvirt group (the command run in a child that became another user); under
    --json the records end with the error document, its chain ending in `cli::events`."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    uri = f"test+unix:///default?socket={libvirtd.socket}"

    def events() -> tuple[int, str, str]:
        import contextlib
        import io

        from workbench.cli import main

        signal.alarm(20)  # an old session that never gives up fails the test, not hangs it
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["events", "--json", "--connect", uri])
        return code, err.getvalue(), out.getvalue()

    code, err, out = run_as(1, events)  # uid 1 (daemon) does not own the daemon's socket
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "libvirt" in err
    doc = json.loads(out.splitlines()[-1])
    assert doc["schema"] == "workbench.error/1"
    assert doc["error"]["context"][-1] == "cli::events", doc


def test_vm_with_an_unusable_uri_exits_2() -> None:
    """`vm` with a URI libvirt cannot use is bad usage: exit 2, no retry."""
    proc = run_cli("vm", "start", "x", "--connect", "qemu+carrierpigeon://h/system")
    assert proc.returncode == 2, proc.stderr
    assert "attempt" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_events_stops_promptly_while_the_daemon_hangs(libvirtd: SessionDaemon) -> None:
    """SIGINT while the daemon is stopped (not answering): exit 0 within a few seconds, not
    after libvirt's keepalive gives up on the link."""
    from tests.virt_helpers import _children

    uri = f"test+unix:///default?socket={libvirtd.socket}"
    events = Lines("events", "--json", "--connect", uri)
    events.until(lambda r: r.get("connection") == "connected")
    assert libvirtd.proc is not None
    daemon = [libvirtd.proc.pid, *_children(libvirtd.proc.pid)]
    for pid in daemon:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        code, err = events.stop(signal.SIGINT)
        took = time.monotonic() - started
    finally:
        for pid in daemon:
            os.kill(pid, signal.SIGCONT)
    assert code == 0, err
    assert took < 6, took
