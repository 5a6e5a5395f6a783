"""Shared fixtures: machine roots built from recorded facts, an isolated state dir, the CLI."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.core import pciids
from workbench.core.host import Host
from workbench.core.report import Report
from workbench.core.runner import run_probes
from workbench.machines import build_root

REPO = Path(__file__).resolve().parent.parent
HOSTS = REPO / "snapshots" / "hosts"
SHARED = REPO.parent / "shared"
SHARED_TOOL = SHARED / "tools" / "hostfacts_to_root.py"
RECORDED = sorted(p.stem for p in HOSTS.glob("*.json") if not p.stem.startswith("demo"))
WORKBENCH = Path(sys.executable).parent / "workbench"


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One throwaway cache dir for the session (the demo's root is built once in it)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _session_cache: Path
) -> None:
    """Logs go to a throwaway state dir, and caches (the fleet index) to a throwaway cache
    dir, never to the developer's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache))
    monkeypatch.delenv("WORKBENCH_LOG_FILE", raising=False)


def load_facts(name: str) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((HOSTS / f"{name}.json").read_text())
    return facts


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    """Build a machine root from a facts dict (or a recorded machine's name) with our builder."""
    counter = iter(range(10_000))

    def make(facts: dict[str, Any] | str, **changes: Any) -> Path:
        data = load_facts(facts) if isinstance(facts, str) else copy.deepcopy(facts)
        data.update(changes)
        root = tmp_path / f"root{next(counter)}"
        return build_root(data, root)

    return make


@pytest.fixture(params=["ours", "shared-tool"])
def root_builder(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Path]:
    """Roots from our builder and from ../shared's tool (skipped when ../shared is absent)."""
    if request.param == "shared-tool" and not SHARED_TOOL.exists():
        pytest.skip("../shared/tools/hostfacts_to_root.py not present")

    def make(name: str) -> Path:
        root = tmp_path / f"{request.param}-{name}"
        if request.param == "ours":
            return build_root(load_facts(name), root)
        subprocess.run(
            [sys.executable, str(SHARED_TOOL), str(HOSTS / f"{name}.json"), str(root)], check=True
        )
        return root

    return make


def report_for(root: Path | str, connect: str | None = None, **kwargs: Any) -> Report:
    """The probes' report on a machine root, with the hypervisor the gateway gives it: `connect`
    when named, else the root's recording (as `workbench probe --root` does)."""
    from workbench.virt.gateway import open_hypervisor

    host = Host(root)
    return run_probes(host, hypervisor=open_hypervisor(host, connect), **kwargs)


@pytest.fixture
def minimal_facts() -> dict[str, Any]:
    """A small Intel machine: host iGPU, one guest GPU with audio alone in its group."""
    return {
        "source": "test",
        "cpu_vendor": "intel",
        "kernel_cmdline": "ro quiet intel_iommu=on",
        "devices": [
            {
                "bdf": "0000:00:01.0",
                "class": "0604",
                "vendor": "8086",
                "device": "1901",
                "iommu_group": 1,
                "driver": "pcieport",
            },
            {
                "bdf": "0000:00:02.0",
                "class": "0300",
                "vendor": "8086",
                "device": "3e92",
                "iommu_group": 0,
                "driver": "i915",
            },
            {
                "bdf": "0000:01:00.0",
                "class": "0300",
                "vendor": "10de",
                "device": "1d01",
                "iommu_group": 1,
                "driver": "vfio-pci",
            },
            {
                "bdf": "0000:01:00.1",
                "class": "0403",
                "vendor": "10de",
                "device": "0fb8",
                "iommu_group": 1,
                "driver": "vfio-pci",
            },
        ],
    }


def run_cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The installed `workbench` command, as a user runs it."""
    env = {**os.environ, **kwargs.pop("env", {})}
    return subprocess.run(
        [str(WORKBENCH), *args], capture_output=True, text=True, env=env, timeout=60, **kwargs
    )


@pytest.fixture
def no_pci_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run as if pci.ids were not installed."""
    monkeypatch.setattr(pciids, "_shared", None)
    monkeypatch.setattr(pciids, "_shared_loaded", True)
    yield


@pytest.fixture
def qga(tmp_path: Path) -> Iterator[Path]:
    """A real qemu-ga serving a unix socket; destructive commands blocked."""
    from tests.virt_helpers import QEMU_GA, run_qemu_ga

    if not Path(QEMU_GA).exists():
        pytest.skip("qemu-ga not installed (make setup installs qemu-guest-agent)")
    workdir = tmp_path / "qga"
    workdir.mkdir()
    with run_qemu_ga(workdir) as sock:
        yield sock


@pytest.fixture
def libvirtd() -> Iterator[Any]:
    """A real session libvirtd, started for the test and killed afterwards."""
    from tests.virt_helpers import LIBVIRTD, SessionDaemon

    if not Path(LIBVIRTD).exists():
        pytest.skip("libvirtd not installed (make setup installs libvirt-daemon)")
    daemon = SessionDaemon()
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.close()


# --- UI ---------------------------------------------------------------------------------------


def _snapshot_dirname(cls: type, *, test_location: Any) -> str:
    """Snapshot SVGs live in the top-level snapshots/ folder, one folder per test module."""
    return str(REPO / "snapshots" / "ui" / test_location.basename)


try:
    import pytest_textual_snapshot

    pytest_textual_snapshot.SVGImageExtension.dirname = classmethod(  # type: ignore[method-assign,assignment]
        _snapshot_dirname
    )
except ImportError:  # pragma: no cover - the plugin is pinned in requirements.lock
    pass


def sample_log(path: Path) -> Path:
    """A deterministic JSON-lines log with every level, a VM, a malformed line."""
    levels = ["info", "debug", "info", "warning", "info", "error", "info", "critical"]
    lines = []
    for n in range(40):
        record = {
            "timestamp": f"2026-11-22T10:{n // 60:02d}:{n % 60:02d}.000Z",
            "level": levels[n % 8],
            "event": f"step {n}",
            "logger": "workbench.demo",
            "vm": "win11-gaming" if n % 3 else "ubuntu-dev",
        }
        lines.append(json.dumps(record))
    lines.insert(20, "this line is not JSON")
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def _fixed_path(base: Path) -> Iterator[Path]:
    """`base`, emptied, held by this test alone: a fixed path (what snapshots show) is shared
    by every test run on the machine (two checkouts' suites at once), so an exclusive lock
    beside it makes the others wait instead of removing each other's files mid-test."""
    import fcntl

    with open(f"{base}.lock", "a") as lock:  # noqa: PTH123 - a lock file, held open
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        try:
            yield base
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def demo_env() -> Iterator[Any]:
    """The demo environment at a fixed path (snapshots must not show random temp names)."""
    from workbench.demo import demo_environment

    with _fixed_path(Path("/tmp/workbench-ui-demo")) as base, demo_environment(base) as env:
        yield env


@pytest.fixture
def fixed_root() -> Iterator[Callable[..., Path]]:
    """Like make_root, at a fixed path: snapshots must not show random temp names."""
    with _fixed_path(Path("/tmp/workbench-ui-roots")) as base:
        counter = iter(range(100))

        def make(facts: dict[str, Any] | str, **changes: Any) -> Path:
            data = load_facts(facts) if isinstance(facts, str) else copy.deepcopy(facts)
            data.update(changes)
            return build_root(data, base / f"root{next(counter)}")

        yield make


@pytest.fixture
def make_app(tmp_path: Path) -> Any:
    """Build the app through the same config object the CLI builds."""
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.config import UiConfig

    def make(root: str | Path, connect: str | None = None, **kw: Any) -> WorkbenchApp:
        if "log_path" not in kw:  # a fixed path: the log view shows it in snapshots
            log_dir = Path("/tmp/workbench-ui-log")
            log_dir.mkdir(exist_ok=True)
            kw["log_path"] = sample_log(log_dir / "workbench.log")
        config = UiConfig(root=str(root), connect=connect, stable=True, **kw)
        return WorkbenchApp(config)

    return make


def run_as(uid: int, fn: Callable[[], Any]) -> Any:
    """`fn()` in a forked child that has dropped to `uid` for good (as an unprivileged operator
    would run); its JSON-able result comes back through a pipe. Needs root."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            with os.fdopen(write_fd, "wb") as out:
                out.write(json.dumps(fn()).encode())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - shown by the parent's assertion
            os.write(2, f"child failed: {exc!r}\n".encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(data)


def put(root: Path, rel: str, data: bytes | str) -> Path:
    """Write a file of the machine root (never outside it: links are resolved and checked)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    real = path.parent.resolve() / path.name
    assert real.is_relative_to(root.resolve()), real
    real.write_bytes(data.encode() if isinstance(data, str) else data)
    return real
