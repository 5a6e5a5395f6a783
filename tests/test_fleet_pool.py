"""fleet.pool: a worker killed mid-machine is that machine's error row, the rest go on; a
script without an `if __name__ == "__main__":` guard and a script read from stdin end, probing
in their own process; SIGTERM stops the fleet as Ctrl-C does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from tests.fleet_helpers import HOTSOS, capture_of

pytestmark = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared is absent")
PYTHON = Path(sys.executable)


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 copies of one real capture, each its own machine."""
    work = tmp_path_factory.mktemp("pool")
    one = capture_of("asrock-z170-gtx960", work, work / "one.tar.gz")
    top = work / "fleet"
    top.mkdir()
    for i in range(16):
        shutil.copy(one, top / f"host-{i:02d}.tar.gz")
    return top


def _private_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    private = tmp_path / "tmp"
    private.mkdir()
    return {**os.environ, "TMPDIR": str(private)}, private


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _archive_held(pid: int, top: Path) -> str | None:
    """The fleet archive a worker has open (it is mid-machine), else None."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None
    for fd in fds:
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith(str(top)) and target.endswith(".tar.gz"):
            return Path(target).name
    return None


def test_a_worker_killed_mid_machine_is_that_machines_error_row(
    copies: Path, tmp_path: Path
) -> None:
    """SIGKILL to the worker holding a capture open: the fleet ends, that machine's row says
    its worker died (signal 9), every other machine is probed."""
    env, private = _private_env(tmp_path)
    proc = subprocess.Popen(
        [str(WORKBENCH), "fleet", str(copies), "--json", "--workers", "2", "--no-index"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        for server in _children(proc.pid):
            for worker in _children(server):
                held = _archive_held(worker, copies)
                if held is not None:
                    os.kill(worker, signal.SIGKILL)
                    killed = held
                    break
            if killed:
                break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    assert killed is not None, "no worker was seen holding a capture"
    assert proc.returncode == 1, err
    doc = json.loads(out)
    rows = {Path(m["source"]).name: m for m in doc["machines"]}
    assert len(rows) == 16
    dead = rows.pop(killed)
    assert dead["error"]["code"] == "FLEET_WORKER_DIED"
    assert "signal 9" in dead["error"]["message"]
    others = {n: m.get("error") for n, m in rows.items() if "error" in m or not m["statuses"]}
    assert others == {}
    assert list(private.iterdir()) == []


def _script(tmp_path: Path, fleet: Path, guarded: bool) -> str:
    call = f"print(workbench.fleet([{str(fleet)!r}], index=False))"
    if guarded:
        call = f"if __name__ == '__main__':\n    {call}"
    return f"import workbench\n{call}\n"


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_script_without_a_main_guard_ends_probing_in_itself(
    copies: Path, tmp_path: Path, how: str
) -> None:
    """A script calling workbench.fleet without a __main__ guard (as a file, or read from
    stdin) ends in bounded time with every machine, says once that it probed in its own
    process, prints no traceback and leaves no temp directory."""
    env, private = _private_env(tmp_path)
    text = _script(tmp_path, copies, guarded=False)
    if how == "file":
        script = tmp_path / "noguard.py"
        script.write_text(text)
        done = subprocess.run(
            [str(PYTHON), str(script)], capture_output=True, text=True, env=env, timeout=300
        )
    else:
        done = subprocess.run(
            [str(PYTHON), "-"], input=text, capture_output=True, text=True, env=env, timeout=300
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("16 machine(s)")
    assert all(f"host-{i:02d}" in done.stdout for i in range(16))
    assert done.stderr.count("in this process, one at a time") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert list(private.iterdir()) == []


def test_a_guarded_script_uses_worker_processes(copies: Path, tmp_path: Path) -> None:
    """With the guard, the machines are probed in workers: nothing said about this process."""
    env, private = _private_env(tmp_path)
    script = tmp_path / "guarded.py"
    script.write_text(_script(tmp_path, copies, guarded=True))
    done = subprocess.run(
        [str(PYTHON), str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("16 machine(s)")
    assert "in this process" not in done.stderr
    assert list(private.iterdir()) == []


def test_sigterm_stops_the_fleet_and_leaves_nothing(copies: Path, tmp_path: Path) -> None:
    """SIGTERM to the CLI mid-fleet: exit 143, no traceback, every process of its group gone
    within seconds and its temp directory removed."""
    env, private = _private_env(tmp_path)
    proc = subprocess.Popen(
        [str(WORKBENCH), "fleet", str(copies), "--progress", "--workers", "2", "--no-index"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while b"/16 machines" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096)
    assert b"/16 machines" in seen
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert b"Traceback" not in err
    assert _group_gone(proc.pid, within_s=5)
    assert list(private.iterdir()) == []


def _group_gone(pgid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
