"""Real parts for the hypervisor tests: qemu-ga on a socket, a session libvirtd, node XML files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench.demo import start_agent
from workbench.virt.testdriver import Domain, node_xml, write_node

__all__ = ["Domain", "SessionDaemon", "node_xml", "run_qemu_ga", "write_node"]

QEMU_GA = shutil.which("qemu-ga") or "/usr/sbin/qemu-ga"
LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"


def wait_for_path(path: Path, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.02)
    return False


@contextmanager
def run_qemu_ga(workdir: Path) -> Iterator[Path]:
    """A real qemu-ga listening on a unix socket (what the host side of a channel looks like),
    started as the demo starts it."""
    proc, sock = start_agent(workdir)
    try:
        if proc is None or sock is None or not wait_for_path(sock):
            raise RuntimeError(f"qemu-ga did not start: {(workdir / 'qga.log').read_text()}")
        yield sock
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # busy with a client on a loaded machine
                proc.kill()
                proc.wait()


class SessionDaemon:
    """A real libvirtd in session mode, in its own temp dirs, as an unprivileged user when the
    tests run as root. Its test driver serves node files through `test+unix:///PATH?socket=`."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="workbench-libvirtd-"))
        self.base.chmod(0o755)
        self.run_dir = self.base / "run"
        self.home = self.base / "home"
        for d in (self.run_dir, self.home):
            d.mkdir()
        self.socket = self.run_dir / "libvirt" / "libvirt-sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.user: str | None = "nobody" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.run_dir, self.user)
            shutil.chown(self.home, self.user)

    def uri(self, node_file: Path) -> str:
        return f"test+unix://{node_file}?socket={self.socket}"

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.run_dir),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }
        self.socket.unlink(missing_ok=True)
        cmd = [LIBVIRTD, "--timeout", "0"]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        with (self.base / "libvirtd.log").open("a") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=str(self.base), stdout=subprocess.DEVNULL, stderr=log
            )
        if not wait_for_path(self.socket, 20):
            self.kill()
            raise RuntimeError(
                "libvirtd did not start: " + (self.base / "libvirtd.log").read_text()
            )

    def kill(self) -> None:
        """SIGKILL, as a crash would: no goodbye to clients."""
        if self.proc is not None and self.proc.poll() is None:
            for pid in _children(self.proc.pid):  # helpers it may have started
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.base, ignore_errors=True)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    kids = [int(p) for p in out.stdout.split()]
    return kids + [g for k in kids for g in _children(k)]
