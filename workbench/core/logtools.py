"""The system tools the live log readers run (journalctl, dmesg): looked for in the system
directories only, run bounded in time in a fixed environment."""

from __future__ import annotations

import shutil
import subprocess

# Where journalctl and dmesg are looked for (never the caller's PATH: a root's tools only).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Each live source's bound in time: the journal, /dev/kmsg and `dmesg` all failing still fit
# in the kernel.log probe's and a capture collector's 30 s.
COMMAND_TIMEOUT_S = 10.0


def which(tool: str) -> str | None:
    """The path of `tool` in the system directories, or None."""
    return shutil.which(tool, path=SYSTEM_PATH)


def environment() -> dict[str, str]:
    """The environment a tool runs in: no locale, no pager, the system directories."""
    return {"LC_ALL": "C", "PATH": SYSTEM_PATH, "SYSTEMD_PAGER": ""}


def run(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes] | str:
    """Run a reader (bounded in time, in a fixed environment); its result, or why none."""
    try:
        return subprocess.run(  # noqa: S603 - a fixed command from the system directories
            command,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout_s,
            env=environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:g} s"
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"


def first_line(data: bytes) -> str:
    """A tool's first line of output as text, bounded (what it says of a failure)."""
    line = data.decode("utf-8", errors="replace").strip().split("\n", 1)[0]
    return line[:200]
