"""Our own log says what it is about: machine and run in every record, VM actions and lifecycle
transitions as `vm.action` / `vm.transition` records, the demo's own log file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.conftest import WORKBENCH
from tests.test_ui_pilot import until
from tests.test_ui_tmux import keys, start_session, wait_for
from workbench.core import logging as wlog
from workbench.core.lifecycle import VmLifecycle
from workbench.virt.testdriver import Domain, write_node


def records(path: Path) -> list[dict[str, Any]]:
    """Every JSON record of the log at `path`."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.fixture
def own_log(tmp_path: Path) -> Iterator[Path]:
    """This process logs to a file in tmp; afterwards to the (isolated) default again."""
    path = tmp_path / "own.log"
    wlog.configure_logging(path)
    yield path
    wlog.configure_logging()


def test_every_record_carries_machine_and_run_even_from_threads(own_log: Path) -> None:
    """The host's name and one short hex run id, in the main thread's and a worker's records."""
    import socket

    wlog.get_logger("test").info("main.thread")
    worker = threading.Thread(target=lambda: wlog.get_logger("test").info("worker.thread"))
    worker.start()
    worker.join()
    got = records(own_log)
    assert [r["event"] for r in got] == ["main.thread", "worker.thread"]
    assert {r["machine"] for r in got} == {socket.gethostname()}
    (run,) = {r["run"] for r in got}
    assert re.fullmatch(r"[0-9a-f]{8}", run)


def test_a_recorded_root_names_itself_then_the_host_again(
    own_log: Path, make_root: Callable[..., Path]
) -> None:
    """Opened on a machine root, records say `root PATH`; after it is closed, the host's name."""
    import socket

    from workbench.target import open_target

    root = make_root("asrock-z170-gtx960")
    with open_target(root=root) as target:
        wlog.get_logger("test").info("on.root")
        assert target.label == f"root {root}"
    wlog.get_logger("test").info("after")
    machines = [r["machine"] for r in records(own_log)]
    assert machines == [f"root {root}", socket.gethostname()]


def test_each_run_has_its_own_id(tmp_path: Path) -> None:
    """Two invocations of the CLI write two run ids into one log."""
    node = write_node(tmp_path / "node.xml", [Domain("a", running=False)])
    log = tmp_path / "wb.log"
    for _ in range(2):
        subprocess.run(
            [str(WORKBENCH), "vm", "start", "a", "--connect", f"test://{node}"],
            env={**os.environ, "WORKBENCH_LOG_FILE": str(log)},
            check=True,
            capture_output=True,
            timeout=60,
        )
    runs = {r["run"] for r in records(log)}  # the test driver forgets: both starts succeed
    assert len(runs) == 2


def test_transitions_are_records_with_from_to_cause(own_log: Path) -> None:
    """Events, operator actions and healed missed events each write vm.transition; a crash is
    an error, a missed event a warning; a mere note (a request) is no transition."""
    vm = VmLifecycle("win11")
    vm.on_event("started", "booted")
    vm.note("action", "operator: shutdown requested")
    vm.on_action("operator: shutdown", "shutdown")
    vm.on_event("started", "booted", reread=lambda: "running")  # missed: shutdown -> started?
    vm.on_event("crashed", "panicked")
    got = [r for r in records(own_log) if r["event"] == "vm.transition"]
    assert [(r["from"], r["to"], r["via"], r["level"]) for r in got] == [
        ("nostate", "running", "event", "info"),
        ("running", "shutdown", "action", "info"),
        ("shutdown", "running", "resync", "warning"),
        ("running", "crashed", "event", "error"),
    ]
    assert got[0]["cause"] == "started: booted"
    assert got[1]["cause"] == "operator: shutdown"
    assert got[2]["cause"].startswith("missed event: started: booted cannot follow shutdown")
    assert {r["vm"] for r in got} == {"win11"}


def _vm(node: Path, log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`workbench vm ARGS --connect test://node` logging into `log`."""
    return subprocess.run(
        [str(WORKBENCH), "vm", *args, "--connect", f"test://{node}"],
        env={**os.environ, "WORKBENCH_LOG_FILE": str(log)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_readme_logs_vm_since_finds_a_started_vm(tmp_path: Path) -> None:
    """`workbench vm start win11` then `logs FILE --vm win11 --since 2h`: its action record
    (shutoff -> running, by the operator) and its attempts; the other VM's records are not."""
    node = write_node(
        tmp_path / "node.xml", [Domain("win11", running=False), Domain("other", running=False)]
    )
    log = tmp_path / "wb.log"
    assert _vm(node, log, "start", "win11").returncode == 0
    assert _vm(node, log, "start", "other").returncode == 0
    shown = subprocess.run(
        [str(WORKBENCH), "logs", str(log), "--vm", "win11", "--since", "2h", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = [json.loads(line) for line in shown.stdout.splitlines()]
    assert {r["vm"] for r in got} == {"win11"}
    requested, action = [r for r in got if r["event"] == "vm.action"]
    assert requested["outcome"] == "requested"
    assert (requested["from"], requested["to"]) == ("shutoff", "running")
    assert action["from"] == "shutoff" and action["to"] == "running"
    assert action["cause"] == "operator: start" and action["outcome"] == "done"
    assert any(r["event"] == "attempt.succeeded" for r in got)  # each attempt names the VM
    text = subprocess.run(
        [str(WORKBENCH), "logs", str(log), "--vm", "win11", "--since", "2h"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "vm.action" in text and "from=shutoff to=running" in text


def test_a_failed_action_is_a_record_too(tmp_path: Path) -> None:
    """Starting a running VM fails (exit 1): a vm.action record says failed, state unchanged."""
    node = write_node(tmp_path / "node.xml", [Domain("up")])
    log = tmp_path / "wb.log"
    assert _vm(node, log, "start", "up").returncode == 1
    requested, action = [r for r in records(log) if r["event"] == "vm.action"]
    assert requested["outcome"] == "requested"
    assert action["outcome"] == "failed" and action["level"] == "warning"
    assert (action["from"], action["to"], action["wanted"]) == ("running", "running", "running")
    assert action["code"] == "VM_ALREADY_RUNNING"


def test_workbench_events_logs_each_vm_it_sees(tmp_path: Path) -> None:
    """`workbench events` writes a vm.transition for every VM's first known state."""
    node = write_node(tmp_path / "node.xml", [Domain("a"), Domain("b", running=False)])
    log = tmp_path / "wb.log"
    with subprocess.Popen(
        [str(WORKBENCH), "events", "--connect", f"test://{node}"],
        env={**os.environ, "WORKBENCH_LOG_FILE": str(log)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert "connection connected" in "".join(proc.stdout.readline() for _ in range(3))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
    got = {r["vm"]: r for r in records(log) if r["event"] == "vm.transition"}
    assert (got["a"]["from"], got["a"]["to"]) == ("nostate", "running")
    assert (got["b"]["from"], got["b"]["to"]) == ("nostate", "shutoff")


async def test_the_workbench_logs_its_actions_and_their_transitions(
    make_app: Callable[..., Any], demo_env: Any, own_log: Path
) -> None:
    """p on a VM in the TUI: a vm.action record and the vm.transition running -> paused."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.press("p")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "paused")
        await until(pilot, lambda: not app.virt.busy("ubuntu-dev"))
    got = [r for r in records(own_log) if r.get("vm") == "ubuntu-dev"]
    actions = [r for r in got if r["event"] == "vm.action"]
    assert [r["outcome"] for r in actions] == ["requested", "done"]
    action = actions[-1]
    assert (action["from"], action["to"], action["action"]) == ("running", "paused", "suspend")
    moves = [(r["from"], r["to"]) for r in got if r["event"] == "vm.transition"]
    assert ("running", "paused") in moves


DEMO_SCRIPT = """
import json
from workbench.core import logging as wlog
from workbench.target import open_target
from workbench.ui.config import UiConfig

user_log = wlog.default_log_path()
with open_target(demo=True) as target:
    shown = UiConfig.from_target(target).log_path
    wlog.get_logger("test").info("in.demo")
    inside = [json.loads(line) for line in shown.read_text().splitlines()]
wlog.get_logger("test").info("after.demo")
print(json.dumps({"user": str(user_log), "shown": str(shown), "inside": inside,
                  "gone": not shown.exists(), "default": str(wlog.default_log_path())}))
"""


def test_the_demo_logs_to_its_own_file(tmp_path: Path) -> None:
    """Inside the demo, records go to its temporary directory and say `the demo machine`; the
    UI's log view shows that file; the user's log gets none of them (a process of its own: the
    demo's agent is a child)."""
    out = subprocess.run(
        [str(WORKBENCH.parent / "python"), "-c", DEMO_SCRIPT],
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    got = json.loads(out)
    user_log = Path(got["user"])
    assert user_log == tmp_path / "workbench" / "workbench.log"
    assert Path(got["shown"]).parent.name.startswith("workbench-demo-")
    assert [(r["event"], r["machine"]) for r in got["inside"]] == [("in.demo", "the demo machine")]
    assert got["gone"]  # removed with the demo's temporary directory
    assert got["default"] == got["user"]
    assert [r["event"] for r in records(user_log)] == ["after.demo"]


def test_the_demo_l_shows_the_demo_log_in_a_terminal(tmp_path: Path) -> None:
    """`workbench demo` in tmux: `l` shows the demo run's records; the user's state dir holds
    no log of it."""
    name = start_session(f"{WORKBENCH} demo", {"XDG_STATE_HOME": str(tmp_path)})
    try:
        wait_for(name, "answer: win11-gaming")
        keys(name, "l")
        wait_for(name, "merged by time")  # the picker
        keys(name, "Enter")
        wait_for(name, "probe.finished  probe=guest.agent")  # the demo run's own records
        keys(name, "q")
        time.sleep(0.5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)
    assert not (tmp_path / "workbench" / "workbench.log").exists()


def test_a_target_log_hands_back_to_the_log_asked_for(tmp_path: Path) -> None:
    """Configured to a file, a target's own log takes the records while open, then the file
    asked for gets them again; configured while open, nothing is created until a record."""
    asked = tmp_path / "asked.log"
    demo = tmp_path / "demo.log"
    wlog.configure_logging(asked)
    with wlog.log_origin("m1", demo):
        wlog.get_logger("test").info("inside")
    wlog.get_logger("test").info("outside")
    assert [(r["event"], r["machine"]) for r in records(demo)] == [("inside", "m1")]
    assert [r["event"] for r in records(asked)] == ["outside"]
    wlog.configure_logging()
    wlog._unconfigure()  # as if nothing had been logged yet in this process
    wlog.default_log_path().unlink()
    with wlog.log_origin("m2", tmp_path / "second.log"):
        wlog.get_logger("test").info("inside")
    user_log = wlog.default_log_path()
    assert not user_log.exists()
    wlog.get_logger("test").warning("later")
    assert [r["event"] for r in records(user_log)] == ["later"]
    assert [r["event"] for r in records(tmp_path / "second.log")] == ["inside"]


def test_a_served_capture_tab_names_the_capture(
    own_log: Path, make_root: Callable[..., Path]
) -> None:
    """A `workbench serve` tab on a capture (unpacked by the server): its records say
    `capture NAME`, as under open_target."""
    import argparse

    from workbench.serve.child import _config

    args = argparse.Namespace(
        demo=False, root=str(make_root("asrock-z170-gtx960")), capture_name="c.tar.gz"
    )
    with _config(args, None):
        wlog.get_logger("test").info("in.tab")
    (record,) = records(own_log)
    assert record["machine"] == "capture c.tar.gz"


async def test_a_failed_start_in_the_workbench_logs_its_explanation(
    make_app: Callable[..., Any], demo_env: Any, own_log: Path
) -> None:
    """s on a running VM fails: vm.action failed, then vm.start_explained for that VM."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.press("s")
        await until(pilot, lambda: "ubuntu-dev" in app.virt.failures)
        await until(pilot, lambda: not app.virt.busy("ubuntu-dev"))
    got = [r for r in records(own_log) if r.get("vm") == "ubuntu-dev"]
    events = [r["event"] for r in got if r["event"].startswith("vm.")]
    assert events[-2:] == ["vm.action", "vm.start_explained"]
    (explained,) = [r for r in got if r["event"] == "vm.start_explained"]
    assert explained["level"] == "warning" and isinstance(explained["cause"], str)


def test_a_probe_of_a_root_writes_records_about_that_root(
    tmp_path: Path, make_root: Callable[..., Path]
) -> None:
    """`workbench probe --root R`: every record of the run says `root R`, and one run id."""
    root = make_root("asrock-z170-gtx960")
    log = tmp_path / "wb.log"
    subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(root)],
        env={**os.environ, "WORKBENCH_LOG_FILE": str(log)},
        capture_output=True,
        timeout=60,
        check=True,
    )
    got = records(log)
    assert got and {r["machine"] for r in got} == {f"root {root}"}
    assert len({r["run"] for r in got}) == 1
