"""`open_target`: what the user names becomes a Host, a hypervisor URI, a label and a cleanup;
and it alone decides the default URI."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.capture_files import good_capture
from tests.conftest import run_cli
from workbench.capture.collect import capture
from workbench.capture.collectors import LOG_MEMBER, Source
from workbench.core.errors import CaptureError, ConfigError, RootNotUsableError
from workbench.core.host import Host
from workbench.target import LIVE_URI, open_target

MakeRoot = Callable[..., Path]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every temporary directory (unpacked captures, the demo) made under one empty folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp


def test_the_live_machine_gets_its_own_hypervisor() -> None:
    """No root: this machine, read at /, with qemu:///system for the live parts."""
    with open_target() as target:
        assert (target.kind, target.label, target.connect) == ("live", "this machine", LIVE_URI)
        assert target.host.live
        assert target.report_host() == {}


def test_a_named_uri_wins_on_the_live_machine() -> None:
    """--connect on the live machine is the URI the live parts use."""
    with open_target(root="/", connect="test:///default") as target:
        assert (target.kind, target.connect) == ("live", "test:///default")


def test_a_root_has_no_hypervisor_unless_named(make_root: MakeRoot) -> None:
    """A machine root is not this machine: no URI by default; --connect names one."""
    root = make_root("asrock-z170-gtx960")
    with open_target(root=root) as target:
        assert (target.kind, target.connect) == ("root", None)
        assert target.label == f"root {root.resolve()}"
        assert target.host.root == root.resolve()
    with open_target(root=root, connect="test:///default") as target:
        assert target.connect == "test:///default"
    assert root.is_dir()  # a root the user named is never removed


def test_a_missing_root_is_refused(tmp_path: Path) -> None:
    """A root that does not exist is a RootNotUsableError, before anything is opened."""
    with pytest.raises(RootNotUsableError, match="does not exist"), open_target(tmp_path / "no"):
        pytest.fail("the body ran")


def test_a_capture_is_unpacked_and_removed(
    make_root: MakeRoot, tmp_path: Path, private_tmp: Path
) -> None:
    """A capture reads as its unpacked root, says what it is for the report, and leaves no
    files behind."""
    root = make_root("asrock-z170-gtx960")
    log = root / "logs" / "workbench.log"
    log.parent.mkdir()
    log.write_text('{"level": "info", "event": "hello"}\n')
    made = capture(Source(Host(root), log_path=log), tmp_path / "c.tar.gz")
    with open_target(capture=made.path) as target:
        unpacked = target.host.root
        assert (target.kind, target.connect) == ("capture", None)
        assert target.label == f"capture {made.path}"
        assert unpacked.is_relative_to(private_tmp) and (unpacked / "sys").is_dir()
        assert target.recorded_log == unpacked / LOG_MEMBER
        assert target.recorded_log.read_text().endswith('"event": "hello"}\n')
        created = json.loads((unpacked / "manifest.json").read_text())["created"]
        assert target.report_host() == {"capture": str(made.path), "captured_at": created}
    assert not unpacked.exists()
    assert list(private_tmp.iterdir()) == []


def test_a_capture_without_a_log_says_so(
    make_root: MakeRoot, tmp_path: Path, private_tmp: Path
) -> None:
    """A capture made without the log collector has no recorded log."""
    with open_target(capture=good_capture(make_root, tmp_path)) as target:
        assert target.recorded_log is None


@pytest.mark.parametrize("content", [b"", b"not a tar.gz at all", None])
def test_a_bad_capture_is_refused_before_anything_starts(
    content: bytes | None, tmp_path: Path, private_tmp: Path
) -> None:
    """A damaged or missing capture raises CaptureError: the body never runs, nothing is left."""
    archive = tmp_path / "bad.tar.gz"
    if content is not None:
        archive.write_bytes(content)
    with pytest.raises(CaptureError), open_target(capture=archive):
        pytest.fail("the body ran")
    assert list(private_tmp.iterdir()) == []


def test_the_demo_target_starts_and_stops_everything(private_tmp: Path) -> None:
    """The demo is its machine and its test-driver hypervisor; on exit its agent is stopped and
    its private directory removed."""
    from tests.virt_helpers import QEMU_GA

    pid = None
    with open_target(demo=True) as target:
        assert (target.kind, target.label) == ("demo", "the demo machine")
        assert target.connect is not None and target.connect.startswith("test://")
        node = Path(target.connect.removeprefix("test://"))
        assert node.is_file() and node.is_relative_to(private_tmp)
        assert not target.host.live and (target.host.root / "sys").is_dir()
        if Path(QEMU_GA).exists():  # a real agent for the demo VM, serving in that directory
            sock = str(node.parent / "qga.sock")
            deadline = time.monotonic() + 10
            while pid is None and time.monotonic() < deadline:
                pid = next((p for p in _pids() if sock in _cmdline(p)), None)
                time.sleep(0.05)
            assert pid is not None, "the demo's qemu-ga did not start"
    assert list(private_tmp.iterdir()) == []
    if pid is not None:  # stopped and waited for (not even a zombie)
        assert not Path(f"/proc/{pid}").exists()


def _pids() -> list[str]:
    """The ids of the processes running now."""
    return [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: str) -> str:
    """A process's command line ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize(
    "named",
    [
        {"root": "/", "capture": "c.tar.gz"},
        {"root": "/", "demo": True},
        {"capture": "c.tar.gz", "demo": True},
        {"demo": True, "connect": "test:///default"},
    ],
)
def test_two_machines_at_once_are_refused(named: dict[str, object]) -> None:
    """One target at a time: a ConfigError, never a silent choice."""
    with pytest.raises(ConfigError), open_target(**named):  # type: ignore[arg-type]
        pytest.fail("the body ran")


def _libvirt_probe(*args: str) -> dict[str, object]:
    """The libvirt.connection result of `workbench ARGS probe`."""
    proc = run_cli(*args, "probe", "--json", "--only", "libvirt.connection")
    assert proc.returncode in (0, 1), proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)["probes"][0]
    return result


def test_the_cli_asks_qemu_system_on_the_live_machine() -> None:
    """`workbench probe` on / asks qemu:///system (reachable or not)."""
    assert _libvirt_probe("--root", "/")["facts"]["uri"] == LIVE_URI  # type: ignore[index]


def test_the_cli_asks_no_hypervisor_of_another_root(make_root: MakeRoot) -> None:
    """`workbench probe --root DIR` asks no live hypervisor; --connect makes it ask that one."""
    root = str(make_root("asrock-z170-gtx960"))
    assert _libvirt_probe("--root", root)["status"] == "skip"
    named = _libvirt_probe("--root", root, "--connect", "test:///default")
    assert named["facts"]["uri"] == "test:///default"  # type: ignore[index]


def test_vm_defaults_to_qemu_system() -> None:
    """`workbench vm` with no --connect acts through qemu:///system."""
    proc = run_cli("vm", "start", "nope", "--retries", "0")
    assert proc.returncode in (1, 2), proc.stderr
    assert LIVE_URI in proc.stderr


def test_the_ui_on_a_capture_is_read_only_and_shows_its_log(
    make_root: MakeRoot, tmp_path: Path, private_tmp: Path
) -> None:
    """The app on a capture: no actions (even when asked), the recorded log, the file's name in
    the title; a serve tab on the same unpacked capture gets the same config."""
    import argparse

    from workbench.serve.child import _config
    from workbench.ui.config import UiConfig

    root = make_root("asrock-z170-gtx960")
    log = root / "logs" / "workbench.log"
    log.parent.mkdir()
    log.write_text('{"level": "info", "event": "hello"}\n')
    made = capture(Source(Host(root), log_path=log), tmp_path / "c.tar.gz")
    with open_target(capture=made.path) as target:
        config = UiConfig.from_target(target, allow_actions=True)
        assert (config.allow_actions, config.connect) == (False, None)
        assert config.log_path is not None and config.log_path == target.recorded_log
        assert config.title == "Workbench — capture c.tar.gz"
        assert config.root == str(target.host.root)
        tab = argparse.Namespace(
            demo=False, root=config.root, capture_name="c.tar.gz", allow_actions=False
        )
        with _config(tab, None) as served:
            assert served == config


def test_the_ui_on_a_root_keeps_its_options(make_root: MakeRoot) -> None:
    """The app on a root: the URI named, actions as asked, this workbench's own log."""
    from workbench.core.logging import default_log_path
    from workbench.ui.config import UiConfig

    root = make_root("asrock-z170-gtx960")
    with open_target(root=root, connect="test:///default") as target:
        config = UiConfig.from_target(target, allow_actions=True)
    assert (config.root, config.connect) == (str(root.resolve()), "test:///default")
    assert (config.allow_actions, config.title) == (True, "Workbench")
    assert config.log_path == default_log_path()


def _serve_args(**named: object) -> argparse.Namespace:
    """`workbench serve`'s parsed arguments, with only `named` given."""
    given = {"demo": False, "root": None, "capture": None, "connect": None}
    return argparse.Namespace(**{**given, **named, "allow_actions": False})


def test_serve_tabs_get_the_targets_uri(make_root: MakeRoot) -> None:
    """Each serve tab is told the URI its target decided: qemu:///system on the live machine,
    none on another root, the named one when given (in the environment, never argv)."""
    from workbench.commands.serve import sessions_of
    from workbench.serve.child import CONNECT_ENV

    root = str(make_root("asrock-z170-gtx960"))
    with sessions_of(_serve_args()) as (argv, env):
        assert env == {CONNECT_ENV: LIVE_URI} and argv[-2:] == ["--root", "/"]
    with sessions_of(_serve_args(root=root)) as (argv, env):
        assert env == {} and argv[-1] == str(Path(root).resolve())
    with sessions_of(_serve_args(root=root, connect="test:///default")) as (argv, env):
        assert env == {CONNECT_ENV: "test:///default"}
        assert "test:///default" not in argv
