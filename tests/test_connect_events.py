"""`workbench events` with --connect given twice, against two real session libvirtds."""

from __future__ import annotations

import contextlib
import json
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.test_virt_cli import Lines
from tests.virt_helpers import LIBVIRTD, SessionDaemon
from workbench.virt.connection import open_connection


@pytest.fixture
def two_daemons() -> Iterator[tuple[SessionDaemon, SessionDaemon]]:
    """Two real session libvirtds, each in its own XDG_RUNTIME_DIR with its own socket."""
    if not Path(LIBVIRTD).exists():
        pytest.skip("libvirtd not installed (make setup installs libvirt-daemon)")
    first, second = SessionDaemon(), SessionDaemon()
    try:
        first.start()
        second.start()
        yield first, second
    finally:
        first.close()
        second.close()


def _uri(daemon: SessionDaemon) -> str:
    return f"test+unix:///default?socket={daemon.socket}"


def _suspend(uri: str) -> None:
    rw = open_connection(uri, readonly=False)
    try:
        rw.lookupByName("test").suspend()
    finally:
        rw.close()


def _until_both_connected(events: Lines, uri_a: str, uri_b: str) -> None:
    """Read until each URI has said `connected` (in whichever order the two daemons answer)."""
    events.until(
        lambda _: all(
            any(r.get("connection") == "connected" and r["uri"] == u for r in events.seen)
            for u in (uri_a, uri_b)
        )
    )


def _connected_line(line: str, uri: str) -> bool:
    return f"[{uri}]  connection connected" in line


def test_events_follows_two_daemons_and_one_dropping_out_does_not_stall_the_other(
    two_daemons: tuple[SessionDaemon, SessionDaemon],
) -> None:
    """One stream, every record with its uri; daemon A killed: A reconnects while B's events
    keep arriving; A back: connected again; SIGTERM exits 0."""
    a, b = two_daemons
    uri_a, uri_b = _uri(a), _uri(b)
    events = Lines("events", "--json", "--connect", uri_a, "--connect", uri_b)
    try:
        _until_both_connected(events, uri_a, uri_b)
        a.kill()
        events.until(lambda r: r.get("connection") == "disconnected" and r["uri"] == uri_a)
        events.until(lambda r: r.get("connection") == "reconnecting" and r["uri"] == uri_a)
        _suspend(uri_b)  # while A is still down and retrying
        paused = events.until(lambda r: r.get("to") == "paused")
        assert (paused["uri"], paused["vm"], paused["cause"]) == (uri_b, "test", "event")
        a.start()
        events.until(
            lambda r: r.get("connection") == "connected" and r["uri"] == uri_a, timeout_s=30
        )
    finally:
        code, err = events.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert all(r["uri"] in (uri_a, uri_b) for r in events.seen)
    initial = {r["uri"] for r in events.seen if r.get("detail") == "initial state"}
    assert initial == {uri_a, uri_b}


def test_events_text_names_the_hypervisor_of_each_line(
    two_daemons: tuple[SessionDaemon, SessionDaemon],
) -> None:
    """Text lines carry `[URI]` after the timestamp when several hypervisors are watched."""
    a, b = two_daemons
    uri_a, uri_b = _uri(a), _uri(b)
    events = Lines("events", "--connect", uri_a, "--connect", uri_b)
    lines: list[str] = []
    try:
        while not all(any(_connected_line(ln, u) for ln in lines) for u in (uri_a, uri_b)):
            lines.append(events.lines.get(timeout=20))
    finally:
        code, err = events.stop()
    assert code == 0, err
    assert all(ln.split("  ")[1].startswith("[") for ln in lines), lines


def test_a_uri_named_twice_is_watched_once(libvirtd: SessionDaemon) -> None:
    """`--connect A --connect A`: one session: one initial state, one `paused` per suspend."""
    uri = _uri(libvirtd)
    events = Lines("events", "--json", "--connect", uri, "--connect", uri)
    try:
        events.until(lambda r: r.get("connection") == "connected")
        _suspend(uri)
        events.until(lambda r: r.get("to") == "paused")
        with contextlib.suppress(queue.Empty):  # what a second session would add
            events.until(lambda _: False, timeout_s=1.5)
    finally:
        code, err = events.stop()
    assert code == 0, err
    assert [r.get("to") for r in events.seen].count("paused") == 1
    assert [r.get("detail") for r in events.seen].count("initial state") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["vm", "start", "test", "--connect", "test:///default", "--connect", "test:///x"],
            "once here",
        ),
        (["capture", "--connect", "test:///default", "--connect", "test:///x"], "once here"),
        (["events", "--connect", "test:///default", "--connect", "bad uri"], "no spaces"),
        (["events", "--connect", "test:///default", "--connect", ""], "empty"),
        (
            ["--connect", "test:///a", "events", "--connect", "test:///b", "--connect", "x:///"],
            "two different --connect",
        ),
    ],
)
def test_bad_connect_lists_exit_2_with_one_line(args: list[str], message: str) -> None:
    """Several URIs where one is taken, an unusable one, or two lists that differ: exit 2."""
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_the_same_list_before_and_after_the_verb_is_accepted(tmp_path: Any) -> None:
    """`--connect A events --connect A`: one list, no refusal (the daemon is absent: retries)."""
    uri = f"test+unix:///default?socket={tmp_path / 'none'}"
    events = Lines("--connect", uri, "events", "--json", "--connect", uri)
    try:
        record = events.until(lambda r: r.get("connection") == "reconnecting")
    finally:
        code, err = events.stop()
    assert code == 0, err
    assert record["uri"] == uri


def test_serve_takes_one_connect() -> None:
    """`workbench serve --connect A --connect B`: refused at once, exit 2, one line."""
    proc = run_cli("serve", "--connect", "test:///default", "--connect", "test:///x")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith(
        "--connect is given once here (several: the workbench, events, probe)"
    )
    assert "Traceback" not in proc.stderr


# One URI the daemon cannot serve used to end the stream for every hypervisor (issue 16 review):
# now the others stay watched, the lost one is said once in the stream and named by exit 2.
def test_a_uri_the_daemon_cannot_serve_leaves_the_others_watched_and_exits_2_at_the_end(
    two_daemons: tuple[SessionDaemon, SessionDaemon],
) -> None:
    """Two good URIs beside one whose driver the daemon lacks (permanent, never retried): one
    record names the bad URI with its error, both daemons' events keep flowing, and SIGTERM
    ends the command with exit 2, one stderr line naming the bad URI."""
    a, b = two_daemons
    uri_a, uri_b = _uri(a), _uri(b)
    bad = f"nosuchdriver+unix:///x?socket={a.socket}"
    events = Lines("events", "--json", "--connect", uri_a, "--connect", bad, "--connect", uri_b)
    try:
        lost = events.until(lambda r: r.get("uri") == bad and r.get("connection") == "disconnected")
        _until_both_connected(events, uri_a, uri_b)
        for uri in (uri_a, uri_b):  # each good daemon's events still arrive
            _suspend(uri)
            events.until(lambda r, u=uri: r.get("to") == "paused" and r["uri"] == u)
    finally:
        code, err = events.stop()
    assert "nosuchdriver" in lost["error"]["message"]
    assert [r.get("uri") for r in events.seen].count(bad) == 1  # said once
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "1 of 3 hypervisors could not be watched: nosuchdriver+unix:///x" in last
    assert uri_a not in last and uri_b not in last


def test_every_uri_failing_for_good_exits_2_at_once_naming_each(libvirtd: SessionDaemon) -> None:
    """Two URIs the daemon cannot serve: nothing left to watch, so exit 2 without a signal,
    one stderr line naming both, and under --json the workbench.error/1 document last."""
    bad = [f"nosuchdriver{i}+unix:///x?socket={libvirtd.socket}" for i in (1, 2)]
    proc = run_cli("events", "--json", "--connect", bad[0], "--connect", bad[1])
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "2 of 2 hypervisors could not be watched" in proc.stderr
    assert all(uri in proc.stderr for uri in bad)
    document = json.loads(proc.stdout.strip().splitlines()[-1])
    assert document["schema"] == "workbench.error/1"
    assert document["error"]["error"] == "EVENTS_HYPERVISOR_LOST"
    assert document["error"]["details"]["uris"] == bad


def test_a_lost_uri_is_one_text_line_and_the_stream_goes_on(libvirtd: SessionDaemon) -> None:
    """Text output: the lost URI's line says it is not watched any more and why; the good
    one's `connected` line still comes; SIGTERM exits 2."""
    good, bad = _uri(libvirtd), f"nosuchdriver+unix:///x?socket={libvirtd.socket}"
    events = Lines("events", "--connect", bad, "--connect", good)
    lines: list[str] = []
    try:
        while not (
            any(_connected_line(ln, good) for ln in lines) and any(f"[{bad}]" in ln for ln in lines)
        ):
            lines.append(events.lines.get(timeout=20))
    finally:
        code, err = events.stop()
    lost = [ln for ln in lines if f"[{bad}]" in ln]
    assert len(lost) == 1, lines
    assert "connection disconnected (not watched any more: " in lost[0]
    assert code == 2, err
