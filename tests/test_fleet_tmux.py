"""`workbench fleet PATH` in a real terminal (tmux): the fleet TUI opens, q quits with the
table's exit status; `--text` prints the table on a terminal too."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from tests.fleet_helpers import capture_of
from tests.test_ui_tmux import keys, start_session, wait_for


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    folder = tmp_path / "caps"
    folder.mkdir()
    capture_of("asrock-z170-gtx960", tmp_path / "work", folder / "a.tar.gz")
    return folder


@pytest.fixture
def sessions() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_fleet_on_a_terminal_opens_the_tui(
    captures: Path, tmp_path: Path, sessions: list[str]
) -> None:
    """The fleet screen with the machine's row; q quits; the exit status is the table's."""
    table = subprocess.run(
        [str(WORKBENCH), "fleet", str(captures)], capture_output=True, text=True, check=False
    )
    name = start_session(
        f"{WORKBENCH} fleet {captures}",
        {"XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)},
    )
    sessions.append(name)
    shown = wait_for(name, "Workbench — fleet")
    assert "machine" in shown and "pci.gpus" in shown
    keys(name, "q")
    assert f"EXITED {table.returncode}" in wait_for(name, "EXITED")


def test_fleet_text_on_a_terminal_prints_the_table(
    captures: Path, tmp_path: Path, sessions: list[str]
) -> None:
    """--text: the table on the terminal, no TUI."""
    command = f"{WORKBENCH} fleet --text {captures}"
    name = start_session(
        command, {"XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    )
    sessions.append(name)
    shown = wait_for(name, "EXITED")
    assert "Fleet of 1 machine" in shown and "Workbench — fleet" not in shown


def test_fleet_tui_exits_1_when_a_machine_fails(
    captures: Path, tmp_path: Path, sessions: list[str]
) -> None:
    """A machine that cannot be opened (a capture cut short): q quits with 1, as the table."""
    data = (captures / "a.tar.gz").read_bytes()
    (captures / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    name = start_session(
        f"{WORKBENCH} fleet {captures}",
        {"XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)},
    )
    sessions.append(name)
    assert "cut" in wait_for(name, "Workbench — fleet")
    keys(name, "q")
    assert "EXITED 1" in wait_for(name, "EXITED")
