"""`workbench demo` in a real terminal (tmux), driven as a user would: keys in, screen out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[str]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux not installed")
    name = f"wb-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm-256color"}
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "32",
            f"{WORKBENCH} demo; echo EXITED $?; sleep 30",
        ],
        check=True,
        env=env,
    )
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def screen(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True, check=True
    ).stdout


def wait_for(session: str, text: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(session)
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{shown}")


def keys(session: str, *names: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, *names], check=True)


def test_demo_as_a_user(tmux: str) -> None:
    """Overview with every verdict, the VMs with the passed-through GPU, the log, help; q quits."""
    shown = wait_for(tmux, "answer: win11-gaming")
    assert "pci.gpus" in shown and "passthrough-ready: 0000:01:00.0" in shown
    assert "libvirt: connected" in shown
    keys(tmux, "v")
    shown = wait_for(tmux, "Agent channel")  # the VMs screen
    assert "0000:01:00.0, 0000:01:00.1" in wait_for(tmux, "win11-gaming")
    assert "read-only" in shown
    keys(tmux, "l")
    wait_for(tmux, "following")
    keys(tmux, "?")
    wait_for(tmux, "retry with backoff")
    keys(tmux, "Escape")  # alone: escape then q at once would read as alt+q
    time.sleep(0.3)
    keys(tmux, "q")
    wait_for(tmux, "EXITED 0")


def test_closing_the_terminal_leaves_nothing_behind(tmux: str) -> None:
    """A closed terminal (SIGHUP) quits like q: the demo's temp dir and its agent are gone."""
    shown = wait_for(tmux, "answer: win11-gaming")
    match = re.search(r"/tmp/(workbench-demo-\w+)/hypervisor", shown)
    assert match, shown
    workdir = Path("/tmp") / match.group(1)
    assert workdir.exists()
    subprocess.run(["tmux", "kill-session", "-t", tmux], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and workdir.exists():
        time.sleep(0.1)
    assert not workdir.exists()


def test_closing_the_terminal_while_it_redraws_leaves_nothing_behind(
    tmux: str, tmp_path: Path
) -> None:
    """The terminal closes while the log view follows thousands of lines a second: writes to the
    hung-up terminal fail, and the workbench must still quit, stop its agent and clean up."""
    shown = wait_for(tmux, "answer: win11-gaming")
    match = re.search(r"/tmp/(workbench-demo-\w+)/hypervisor", shown)
    assert match, shown
    workdir = Path("/tmp") / match.group(1)
    agent = subprocess.run(["pgrep", "-f", f"qemu-ga.*{workdir}"], capture_output=True, text=True)
    pid = int(agent.stdout.split()[0])  # the demo's agent, a child of the workbench
    keys(tmux, "l")
    wait_for(tmux, "following")
    log = tmp_path / "workbench" / "workbench.log"
    with log.open("a") as fh:
        for i in range(3000):  # ~1.5 s of redraws at full speed
            fh.write(f'{{"level": "info", "event": "flood {i}"}}\n')
            fh.flush()
            if i == 1500:
                subprocess.run(["tmux", "kill-session", "-t", tmux], check=True)
            time.sleep(0.0005)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (workdir.exists() or Path(f"/proc/{pid}").exists()):
        time.sleep(0.1)
    assert not workdir.exists(), "the demo's temporary directory was left behind"
    assert not Path(f"/proc/{pid}").exists(), "the demo's qemu-ga was left running"
