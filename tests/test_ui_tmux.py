"""`workbench demo` in a real terminal (tmux), driven as a user would: keys in, screen out."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH, run_cli


def start_session(command: str, env: dict[str, str]) -> str:
    """A detached 120x32 tmux session running `command` (then its exit status, then a pause)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux not installed")
    name = f"wb-{uuid.uuid4().hex[:8]}"
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
            # The pane's environment is the tmux server's (maybe started by someone else, and
            # TERM is tmux's own): what the test needs is set on the command itself.
            f"env {shlex.join(f'{k}={v}' for k, v in env.items())} {command}; "
            "echo EXITED $?; sleep 30",
        ],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    return name


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[str]:
    name = start_session(f"{WORKBENCH} demo", {"XDG_STATE_HOME": str(tmp_path)})
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], check=False)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start tmux sessions running a command of the test's choosing; all killed afterwards."""
    names: list[str] = []

    def start(command: str, **env: str) -> str:
        names.append(start_session(command, {"XDG_STATE_HOME": str(tmp_path), **env}))
        return names[-1]

    yield start
    for name in names:
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
    wait_for(tmux, "merged by time")  # the picker
    keys(tmux, "Enter")  # ours, the kernel's and media-server's QEMU log: its start failed
    wait_for(tmux, "following")
    keys(tmux, "?")
    wait_for(tmux, "Logs — keys")  # the help of the keys bound here
    wait_for(tmux, "Prev hit")
    keys(tmux, "Escape")  # alone: escape then q at once would read as alt+q
    time.sleep(0.3)
    keys(tmux, "q")  # the merged logs: back to the workbench
    wait_for(tmux, "Agent channel")
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
    wait_for(tmux, "merged by time")  # the picker
    keys(tmux, "Enter")
    wait_for(tmux, "following")
    log = workdir / "workbench.log"  # the demo's own log, not the user's
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


def test_no_terminal_is_refused_at_once(make_root: Callable[..., Path]) -> None:
    """Without a terminal (cron, `ssh host workbench`, `</dev/null`) the workbench refuses in
    one line pointing at `workbench probe`, exit 2, no escape codes, instead of spinning."""
    root = make_root("asrock-z170-gtx960")
    try:
        out = run_cli("--root", str(root), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the workbench ran on without a terminal") from exc
    assert out.returncode == 2, out
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and "workbench probe" in out.stderr, out.stderr
    assert "\x1b" not in out.stderr


@pytest.mark.parametrize(
    ("redirect", "env"),
    [("> /dev/null", {}), ("< /dev/null", {}), ("2> /dev/null", {}), ("", {"TERM": "dumb"})],
    ids=["stdout-redirected", "stdin-redirected", "stderr-redirected", "term-dumb"],
)
def test_half_a_terminal_is_refused(
    session: Callable[..., str], make_root: Callable[..., Path], redirect: str, env: dict[str, str]
) -> None:
    """A terminal on some streams only, or TERM=dumb (no alternate screen, no colours): the
    workbench refuses with exit 2 rather than drawing where nobody sees it."""
    root = make_root("asrock-z170-gtx960")
    name = session(f"{WORKBENCH} --root {root} {redirect}", **env)
    wait_for(name, "EXITED 2", timeout_s=15)


def test_served_sessions_need_no_terminal(make_root: Callable[..., Path]) -> None:
    """Under textual-serve (its web driver named in TEXTUAL_DRIVER) the workbench has no TTY and
    must start anyway: it speaks the web driver's protocol on stdout."""
    root = make_root("asrock-z170-gtx960")
    with subprocess.Popen(
        [str(WORKBENCH), "--root", str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"},
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.read(1), "the web driver never spoke"
            assert proc.poll() is None
        finally:
            proc.kill()


CRASHING = """
import sys
from {module} import main
from workbench.ui.screens.overview import OverviewScreen

def broken(self):
    raise RuntimeError("a bug in the overview")

OverviewScreen.refresh_status = broken  # a bug, injected where the first frame needs it
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("module", ["workbench.cli", "workbench.serve.child"])
def test_a_crash_exits_non_zero(
    session: Callable[..., str], make_root: Callable[..., Path], tmp_path: Path, module: str
) -> None:
    """An exception inside the app ends `workbench` (and a tab of `workbench serve`) with a
    non-zero status (scripts and textual-serve must see it failed), after the error's report."""
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING.format(module=module))
    root = make_root("asrock-z170-gtx960")
    name = session(f"{WORKBENCH.parent / 'python'} {script} --root {root}")
    shown = wait_for(name, "EXITED", timeout_s=30)
    assert "a bug in the overview" in shown
    status = re.search(r"EXITED (\d+)", shown)
    assert status and status.group(1) == "1", shown[-300:]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("hangup", ["kill-session", "kill-pane"])
def test_a_vanished_terminal_ends_the_workbench(
    session: Callable[..., str], make_root: Callable[..., Path], hangup: str
) -> None:
    """The terminal goes away under a running workbench (the session or its pane killed): the
    process ends within seconds and does not spin on the dead terminal meanwhile."""
    root = make_root("asrock-z170-gtx960")
    name = session(f"{WORKBENCH} --root {root}")
    wait_for(name, "pci.gpus")
    pids = subprocess.run(
        ["pgrep", "-f", f"{WORKBENCH} --root {root}$"], capture_output=True, text=True
    ).stdout.split()
    assert len(pids) == 1, pids
    pid = int(pids[0])
    subprocess.run(["tmux", hangup, "-t", name], check=True)
    deadline = time.monotonic() + 10
    before = cpu_seconds(pid) if Path(f"/proc/{pid}").exists() else 0.0
    while time.monotonic() < deadline and Path(f"/proc/{pid}/stat").exists():
        time.sleep(0.1)
    alive = Path(f"/proc/{pid}/stat").exists()
    spent = cpu_seconds(pid) - before if alive else 0.0
    assert not alive, f"still running 10 s after the terminal went; {spent:.1f} s of CPU"


def test_a_terminal_closed_without_a_hangup_signal_ends_the_workbench(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """The terminal's other end closes and no SIGHUP comes (the terminal was not the process's
    controlling one): stdin reads end-of-file; the workbench ends instead of spinning on it."""
    import pty

    root = make_root("asrock-z170-gtx960")
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(tmp_path)}
    with subprocess.Popen(
        [str(WORKBENCH), "--root", str(root)], stdin=slave, stdout=slave, stderr=slave, env=env
    ) as proc:
        os.close(slave)
        try:
            shown = b""
            deadline = time.monotonic() + 30
            while b"pci.gpus" not in shown and time.monotonic() < deadline:
                shown += os.read(master, 65536)
            assert b"pci.gpus" in shown
            os.close(master)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                before = cpu_seconds(proc.pid)
                time.sleep(1)
                spin = cpu_seconds(proc.pid) - before
                raise AssertionError(f"still running; {spin:.2f} s of CPU in 1 s") from None
        finally:
            proc.kill()
