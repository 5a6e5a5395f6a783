"""The logs a machine holds that explain its failures: the kernel log of this boot, each
domain's QEMU log, libvirt's own log. Live, read from the journal, /dev/kmsg, `dmesg` and
/var/log; recorded (captures, later sosreports), read from the files the recording wrote.

Where a recorded machine keeps them (a contract between captures and the readers):
- `logs/kernel.log`: this boot's kernel messages, one per line, dmesg style
  (`[   12.345678] message`); the manifest's `facts.kernel_log` says from where
  (`{"origin": "journal|kmsg|dmesg", "lines": N, "truncated": bool}`).
- `var/log/libvirt/qemu/NAME.log`: each domain's QEMU log (a bounded tail), where libvirt
  writes it on a live machine.
- `logs/libvirt.log`: libvirt's daemon log of this boot (journal of libvirtd/virtqemud), tail.
A log that is absent says why (`why`): not recorded, not readable, no journal, ...; absence of a
log is never read as absence of a failure."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import HostReadError
from workbench.core.text import safe_text

if TYPE_CHECKING:
    from workbench.core.host import Host

KERNEL_LOG = "logs/kernel.log"
LIBVIRT_LOG = "logs/libvirt.log"
QEMU_LOG_DIR = "var/log/libvirt/qemu"
TAIL_BYTES = 1 << 20  # the most of one log read (the newest part: a failure is at the end)
TAIL_LINES = 50_000  # what journalctl is asked for (it reads backwards: bounded time)
COMMAND_TIMEOUT_S = 10.0
RECORD_HINT = "capture with a workbench that records the {what}"
_JOURNAL_PREFIX = re.compile(r"^(\[\s*\d+\.\d+\]) \S+ kernel: ", re.MULTILINE)
_LIBVIRT_UNITS = ("libvirtd", "virtqemud")


@dataclass(frozen=True)
class MachineLog:
    """One log of a machine: its text (None when it could not be had, `why` says why)."""

    name: str  # "kernel", "qemu:NAME", "libvirt"
    source: str  # where it came from: "journal", "/dev/kmsg", "dmesg", a path
    text: str | None
    why: str | None = None
    truncated: bool = False
    # Sources tried before this one and why each gave nothing (a fallback says what it fell
    # back from: "journal: no journal files").
    tried: tuple[str, ...] = ()

    @property
    def lines(self) -> int:
        """How many lines the text holds (0 when there is none)."""
        if not self.text:
            return 0
        return self.text.count("\n") + (0 if self.text.endswith("\n") else 1)

    def to_facts(self) -> dict[str, Any]:
        """What a probe's facts say of it."""
        return {
            "source": self.source,
            "lines": self.lines,
            "truncated": self.truncated,
            "why": self.why,
            "tried": list(self.tried),
        }


def qemu_log_path(vm: str) -> str:
    """The QEMU log of domain `vm`, relative to the machine root."""
    return f"{QEMU_LOG_DIR}/{vm}.log"


def kernel_log(host: Host) -> MachineLog:
    """This boot's kernel messages: live from the journal, else /dev/kmsg, else `dmesg`;
    recorded from `logs/kernel.log`."""
    if not host.live:
        return _recorded(host, "kernel", KERNEL_LOG, "kernel_log", "kernel log")
    tried: list[str] = []
    for step in (_kernel_journal, _kernel_kmsg, _kernel_dmesg):
        log, why = step()
        if log is not None:
            return MachineLog(
                "kernel", log.source, log.text, truncated=log.truncated, tried=tuple(tried)
            )
        tried.append(why)
    return MachineLog(
        "kernel",
        "none",
        None,
        why="kernel log not readable: " + "; ".join(tried),
        tried=tuple(tried),
    )


def qemu_log(host: Host, vm: str) -> MachineLog:
    """The tail of domain `vm`'s QEMU log."""
    name = f"qemu:{vm}"
    if not vm or "/" in vm or "\0" in vm or vm in (".", ".."):
        return MachineLog(name, "none", None, why=f"not a domain name: {safe_text(repr(vm))}")
    rel = qemu_log_path(vm)
    text, truncated, problem = _tail(host, rel)
    if text is not None:
        return MachineLog(name, "/" + rel, text, truncated=truncated)
    if problem == "missing":
        if host.live:
            why = (
                f"/{rel} does not exist (the domain has not started on this machine, or "
                "libvirt writes its logs elsewhere)"
            )
        else:
            why = f"not recorded: {rel} is not in this capture; " + RECORD_HINT.format(
                what="QEMU logs"
            )
        return MachineLog(name, "/" + rel, None, why=safe_text(why))
    return MachineLog(name, "/" + rel, None, why=safe_text(_unreadable(host, rel, problem)))


def libvirt_log(host: Host) -> MachineLog:
    """libvirt's daemon log of this boot: live from the journal of libvirtd/virtqemud (else
    /var/log/libvirt/libvirtd.log); recorded from `logs/libvirt.log`."""
    if not host.live:
        return _recorded(host, "libvirt", LIBVIRT_LOG, "libvirt_log", "libvirt log")
    units = [arg for unit in _LIBVIRT_UNITS for arg in ("-u", unit)]
    text, why = _journal([*units])
    tried: list[str] = []
    if text is not None:
        data, truncated = _bound(text)
        return MachineLog("libvirt", "journal", data, truncated=truncated)
    tried.append(why)
    for rel in ("var/log/libvirt/libvirtd.log", "var/log/libvirt/virtqemud.log"):
        data2, truncated, problem = _tail(host, rel)
        if data2 is not None:
            return MachineLog("libvirt", "/" + rel, data2, truncated=truncated, tried=tuple(tried))
        tried.append(f"/{rel}: " + ("does not exist" if problem == "missing" else str(problem)))
    return MachineLog("libvirt", "none", None, why="libvirt log not readable: " + "; ".join(tried))


# --- recorded ------------------------------------------------------------------------------


def _recorded(host: Host, name: str, rel: str, fact: str, what: str) -> MachineLog:
    """A log a capture wrote at `rel`; its manifest fact (`facts.<fact>`) says where it came
    from, or why the capture could not read it."""
    facts = host.manifest.get("facts")
    recorded = facts.get(fact) if isinstance(facts, dict) else None
    recorded = recorded if isinstance(recorded, dict) else {}
    origin = recorded.get("origin")
    text, truncated, problem = _tail(host, rel)
    if text is not None:
        source = f"{rel} (from {origin})" if isinstance(origin, str) and origin else rel
        return MachineLog(
            name, source, text, truncated=truncated or recorded.get("truncated") is True
        )
    if problem == "missing":
        said = recorded.get("why")
        if isinstance(said, str) and said:
            why = f"not recorded: the capture could not read the {what} ({said[:200]})"
        else:
            why = f"not recorded: {rel} is not in this machine's record; " + RECORD_HINT.format(
                what=what
            )
        return MachineLog(name, rel, None, why=why)
    return MachineLog(name, rel, None, why=_unreadable(host, rel, problem))


def _unreadable(host: Host, rel: str, problem: str | None) -> str:
    if problem == "permission":
        hint = "run as root" if host.live else "make the capture readable, or run as root"
        return f"/{rel} not readable (permission denied): {hint}"
    return f"/{rel} not readable ({problem})"


def _tail(host: Host, rel: str, limit: int = TAIL_BYTES) -> tuple[str | None, bool, str | None]:
    """(text, truncated, problem): the newest `limit` bytes of a regular file below the root,
    from a line start. Problem: "missing", "permission", "not a regular file", or an error."""
    try:
        real = host.path(rel)
    except HostReadError as exc:
        return None, False, exc.message
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, False, "missing"
    except PermissionError:
        return None, False, "permission"
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link the confined resolution did not follow
            return None, False, "not a regular file"
        return None, False, exc.strerror or str(exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, False, "not a regular file"
        truncated = info.st_size > limit
        if truncated:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(fd, min(1 << 16, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, False, exc.strerror or str(exc)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if truncated:
        data = data[data.find(b"\n") + 1 :]  # the first line is cut: drop it
    return data.decode("utf-8", errors="replace"), truncated, None


def _bound(text: str, limit: int = TAIL_BYTES) -> tuple[str, bool]:
    """The newest `limit` characters of `text`, from a line start."""
    if len(text) <= limit:
        return text, False
    cut = text[-limit:]
    return cut[cut.find("\n") + 1 :], True


# --- live ----------------------------------------------------------------------------------


def _journal(filters: list[str]) -> tuple[str | None, str]:
    """This boot's journal entries matching `filters` (short-monotonic), or (None, why)."""
    exe = shutil.which("journalctl")
    if exe is None:
        return None, "journal: journalctl not installed"
    argv = [exe, *filters, "-b", "-o", "short-monotonic", "--no-pager"]
    argv += ["-n", str(TAIL_LINES)]
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            argv,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"journal: journalctl did not answer in {COMMAND_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return None, f"journal: journalctl could not run ({exc.strerror or exc})"
    err = _first_line(done.stderr)
    if done.returncode != 0:
        return (
            None,
            f"journal: journalctl failed (exit {done.returncode}{': ' + err if err else ''})",
        )
    text = done.stdout.decode("utf-8", errors="replace")
    if not text.strip() or text.strip() == "-- No entries --":
        return None, "journal: " + (err or "no entries for this boot")
    return text, ""


def _kernel_journal() -> tuple[MachineLog | None, str]:
    text, why = _journal(["-k"])
    if text is None:
        return None, why
    text = dmesg_from_journal(text)
    data, truncated = _bound(text)
    lines = text.count("\n")
    return MachineLog("kernel", "journal", data, truncated=truncated or lines >= TAIL_LINES), ""


def dmesg_from_journal(text: str) -> str:
    """`journalctl -o short-monotonic` lines as dmesg's: `[  12.345678] host kernel: msg` ->
    `[  12.345678] msg` (other lines as they are)."""
    return _JOURNAL_PREFIX.sub(r"\1 ", text)


def _kernel_kmsg(path: str = "/dev/kmsg") -> tuple[MachineLog | None, str]:
    """Every record /dev/kmsg still holds (this boot's ring buffer), oldest first, bounded to
    the newest TAIL_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return None, f"{path}: {_os_why(exc)}"
    kept: deque[str] = deque()
    size = 0
    truncated = False
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break  # EAGAIN: no more records
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten while we read: skip on
                    truncated = True
                    continue
                if exc.errno == errno.EINVAL and not kept:  # not a kmsg device
                    return None, f"{path}: {_os_why(exc)}"
                break
            if not record:
                break
            line = kmsg_line(record)
            if line is None:
                continue
            kept.append(line)
            size += len(line) + 1
            while size > TAIL_BYTES and kept:
                size -= len(kept.popleft()) + 1
                truncated = True
    finally:
        os.close(fd)
    if not kept:
        return None, f"{path}: no records"
    return MachineLog("kernel", path, "\n".join(kept) + "\n", truncated=truncated), ""


def kmsg_line(record: bytes) -> str | None:
    """One /dev/kmsg record (`prio,seq,usec,flags;message` then ` KEY=value` continuation
    lines) as a dmesg line `[  sec.usec] message`; None when it is not one."""
    text = record.decode("utf-8", errors="replace")
    head, sep, rest = text.partition(";")
    if not sep:
        return None
    fields = head.split(",")
    if len(fields) < 3 or not fields[2].isdigit():
        return None
    usec = int(fields[2])
    msg = rest.split("\n", 1)[0]  # the continuation lines are key=value properties
    return f"[{usec // 1_000_000:5d}.{usec % 1_000_000:06d}] {msg}"


def _kernel_dmesg() -> tuple[MachineLog | None, str]:
    exe = shutil.which("dmesg")
    if exe is None:
        return None, "dmesg: not installed"
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [exe],
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"dmesg: did not answer in {COMMAND_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return None, f"dmesg: could not run ({exc.strerror or exc})"
    if done.returncode != 0:
        err = _first_line(done.stderr)
        restricted = " (kernel.dmesg_restrict=1: run as root)" if _dmesg_restricted() else ""
        return None, f"dmesg: exit {done.returncode}{': ' + err if err else ''}{restricted}"
    data, truncated = _bound(done.stdout.decode("utf-8", errors="replace"))
    if not data.strip():
        return None, "dmesg: empty"
    return MachineLog("kernel", "dmesg", data, truncated=truncated), ""


def _dmesg_restricted() -> bool:
    try:
        flag = Path("/proc/sys/kernel/dmesg_restrict").read_bytes()
        return flag.strip() == b"1" and os.geteuid() != 0
    except OSError:
        return False


def _os_why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (run as root)"
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    return exc.strerror or str(exc)


def _first_line(data: bytes) -> str:
    line = data.decode("utf-8", errors="replace").strip().split("\n", 1)[0]
    return line[:200]
