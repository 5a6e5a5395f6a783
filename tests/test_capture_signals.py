"""SIGTERM while a capture is open: the unpacked tree is removed, as for Ctrl-C."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.capture_files import crafted, entry, good_capture
from tests.conftest import WORKBENCH
from workbench.capture import unpack
from workbench.capture.sigterm import TerminationGuard


@pytest.fixture
def good(make_root: Callable[..., Path], tmp_path: Path) -> Path:
    """A real capture of a recorded machine (no log: small and quick)."""
    return good_capture(make_root, tmp_path)


@pytest.fixture
def big(good: Path, tmp_path: Path) -> Path:
    """The good capture with 5,000 more small files first (and a log): a while to open."""
    extra = [entry(f"bulk/{i // 1000}/{i}", b"%d\n" % i) for i in range(5_000)]
    extra.append(entry("logs/workbench.log", b'{"event": "x", "level": "info"}\n' * 1000))
    return crafted(good, tmp_path / "big.tar.gz", extra)


@pytest.mark.parametrize(
    ("command", "when"),
    [
        ("probe", ("bulk",)),  # while unpacking
        ("logs", ("bulk",)),
        ("diff", ("bulk",)),
        ("diff", ("bulk", "manifest.json")),  # the first unpacked (manifest last), probes run
    ],
)
def test_sigterm_removes_the_unpacked_capture(
    command: str, when: tuple[str, ...], big: Path, good: Path, tmp_path: Path
) -> None:
    """SIGTERM while a capture is unpacked or read removes the tree, exits non-zero, and
    prints no traceback, as Ctrl-C does."""
    private = tmp_path / "private"
    private.mkdir()
    args = {
        "probe": ("probe", "--capture", str(big)),
        "logs": ("logs", "--capture", str(big)),
        "diff": ("diff", str(big), str(good)),
    }[command]
    proc = subprocess.Popen(
        [str(WORKBENCH), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
    )
    deadline = time.monotonic() + 30
    while not any(
        all((root / name).exists() for name in when)
        for root in private.glob("workbench-capture-*/root")
    ):
        assert proc.poll() is None, "finished before the tree was seen"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in err, err
    assert list(private.iterdir()) == []


def test_a_signal_during_the_clean_up_waits_for_it() -> None:
    """SIGTERM during the clean-up is held until it ends, then exits 143; a second is ignored;
    the default action is back afterwards."""
    ran = []
    with pytest.raises(SystemExit) as caught, TerminationGuard() as guard, guard.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs between bytecodes: it has run by now
        ran.append("clean-up finished")
    assert caught.value.code == 128 + signal.SIGTERM
    assert ran == ["clean-up finished"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_handler_set_by_the_application_is_kept() -> None:
    """Where the application handles SIGTERM itself (the UI quits), the guard leaves it be."""
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with TerminationGuard():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


class _SignalledWhileFreed(io.RawIOBase):
    """An io object whose `closed`, evaluated by its finalizer when it is freed, is where
    SIGTERM's handler runs: CPython discards whatever that raises (as for a tarfile's
    GzipFile freed when `_extract` returns, the moment the test above often signals)."""

    @property
    def closed(self) -> bool:
        signal.raise_signal(signal.SIGTERM)  # the handler runs before this returns
        return True


def _signal_lost_in_a_finalizer() -> None:
    _SignalledWhileFreed()  # freed at once: the handler's SystemExit goes nowhere


def test_a_signal_whose_exit_was_swallowed_still_exits() -> None:
    """SIGTERM handled where CPython swallows the SystemExit is raised again when the guard
    exits: the command never goes on to exit 0."""
    ran = []
    with pytest.raises(SystemExit) as caught, TerminationGuard():
        _signal_lost_in_a_finalizer()
        ran.append("went on")  # the handler's own SystemExit really was lost
    assert caught.value.code == 128 + signal.SIGTERM
    assert ran == ["went on"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_swallowed_while_unpacking_stops_before_the_capture_is_used(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same while a capture unpacks: open_capture yields nothing, removes the tree and
    exits 143."""
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    real_unpack = unpack._unpack

    def unpack_then_lose_a_signal(archive: Path, root: Path, limits: unpack.Limits) -> None:
        real_unpack(archive, root, limits)
        _signal_lost_in_a_finalizer()

    monkeypatch.setattr(unpack, "_unpack", unpack_then_lose_a_signal)
    used = []
    with pytest.raises(SystemExit) as caught, unpack.open_capture(good) as root:
        used.append(root)
    assert caught.value.code == 128 + signal.SIGTERM
    assert used == []
    assert list(private.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
