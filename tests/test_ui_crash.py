"""A crash of the workbench in a real terminal (tmux): the report shows no local variables and
no URI password (locals hold what the user typed; serve passes the report on to its log)."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from tests.test_ui_tmux import start_session

# The secrets come from the environment, so that the traceback's source lines cannot show them.
CRASHING = """
import os
import sys
from workbench.cli import main
from workbench.ui.screens.overview import OverviewScreen

def broken(self):
    uri = os.environ["WB_TEST_URI"]
    token = os.environ["WB_TEST_TOKEN"]
    raise RuntimeError(f"cannot reach {uri} with {len(token)} characters")

OverviewScreen.refresh_status = broken  # a bug, injected where the first frame needs it
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def history(session: str) -> str:
    """The pane with its scrollback (a traceback is longer than the screen)."""
    return subprocess.run(
        ["tmux", "capture-pane", "-t", session, "-p", "-J", "-S", "-5000"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_a_crash_shows_no_local_variables_and_no_password(
    tmux: list[str], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """An exception inside the app prints a traceback without its frames' local variables,
    and a URI in the error is shown with its password masked; the exit status is 1."""
    import time

    script = tmp_path / "crashing.py"
    script.write_text(CRASHING)
    root = make_root("asrock-z170-gtx960")
    env = {
        "XDG_STATE_HOME": str(tmp_path),
        "WB_TEST_URI": "qemu+tcp://admin:pa/s3cret@h:1/system",
        "WB_TEST_TOKEN": "hunter2-in-a-local",
    }
    tmux.append(start_session(f"{WORKBENCH.parent / 'python'} {script} --root {root}", env))
    deadline = time.monotonic() + 30
    shown = ""
    while time.monotonic() < deadline and "EXITED" not in shown:
        time.sleep(0.2)
        shown = history(tmux[0])
    status = re.search(r"EXITED (\d+)", shown)
    assert status and status.group(1) == "1", shown[-600:]
    assert "RuntimeError" in shown
    assert "admin:***@h:1/system" in shown, shown[-1500:]
    assert "s3cret" not in shown
    assert "hunter2-in-a-local" not in shown
    assert not re.search(r"─ locals ─", shown), shown[-1500:]  # rich's panel of a frame's locals


def test_a_crash_report_masks_causes_and_exception_group_members() -> None:
    """URIs in a chained cause and in an exception group's members are masked as well, and
    their control characters escaped."""
    from rich.console import Console

    from workbench.ui.crash import crash_report

    secret = "s3" + "cret"  # not in the source lines the traceback shows

    def chained() -> None:
        try:
            raise OSError(f"qemu+tcp://a:p@{secret}@h/system refused")
        except OSError as exc:
            raise RuntimeError("cannot connect") from exc

    def grouped() -> None:
        members = [ValueError(f"qemu+ssh://root:{secret}@h2/system " + chr(27) + "[2J")]
        raise ExceptionGroup("many", members)

    console = Console(record=True, width=120, file=io.StringIO())
    for crash in (chained, grouped):
        try:
            crash()
        except Exception as error:  # noqa: BLE001 - any crash is reported
            console.print(crash_report(error))
    shown = console.export_text()
    assert "a:***@h/system" in shown and "root:***@h2/system" in shown, shown
    assert secret not in shown
    assert chr(27) not in shown


def test_the_workbench_refuses_an_unusable_uri_before_it_starts(
    tmux: list[str], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """`workbench --connect URI` with a port above 65535 in a terminal: one masked line and
    exit 2 before the UI starts (it used to crash, its traceback showing the password)."""
    import time

    root = make_root("asrock-z170-gtx960")
    uri = "qemu+tcp://admin:s3cret@127.0.0.1:99999/system"
    tmux.append(
        start_session(
            f"{WORKBENCH} --root {root} --connect '{uri}'", {"XDG_STATE_HOME": str(tmp_path)}
        )
    )
    deadline = time.monotonic() + 30
    shown = ""
    while time.monotonic() < deadline and "EXITED" not in shown:
        time.sleep(0.2)
        shown = history(tmux[0])
    assert "EXITED 2" in shown, shown[-600:]
    assert "admin:***@127.0.0.1:99999/system" in shown
    assert "s3cret" not in shown
    assert "Traceback" not in shown
