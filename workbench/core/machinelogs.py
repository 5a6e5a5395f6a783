"""The logs a machine holds that explain its failures: the kernel log of this boot, each
domain's QEMU log, libvirt's own log. Live, read from the journal, /dev/kmsg, `dmesg` and
/var/log; recorded (captures, later sosreports), read from the files the recording wrote.

Where a recorded machine keeps them (a contract between captures and the readers):
- `logs/kernel.log`: this boot's kernel messages, one per line, dmesg style
  (`[   12.345678] message`); the manifest's `facts.kernel_log` says from where
  (`{"origin": "journal|kmsg|dmesg", "lines": N, "truncated": bool}`). A long one keeps the
  first part of the boot (where `kvm: disabled by bios`, BAR reservations and DMAR lines are)
  and the newest part, with a gap line between them saying what was left out
  (`-- workbench: 123 lines left out here --`; facts add `head_lines` and `left_out`).
- `var/log/libvirt/qemu/NAME.log`: each domain's QEMU log (a bounded tail), where libvirt
  writes it on a live machine.
- `logs/libvirt.log`: libvirt's daemon log of this boot (journal of libvirtd/virtqemud), tail.
A log that is absent says why (`why`): not recorded, not readable, no journal, ...; absence of a
log is never read as absence of a failure.

The live readers (core.livekernel's `live_kernel_log`, core.livelibvirt's `live_libvirt_log`)
are the only ones: they give the bytes as read, bounded by their parameters (core.bounded); a
capture stores those, the readers here decode them."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.bounded import GAP_LINE, HEAD_BYTES, decoded, tail
from workbench.core.livekernel import KMSG, live_kernel_log
from workbench.core.livelibvirt import live_libvirt_log
from workbench.core.logtools import COMMAND_TIMEOUT_S
from workbench.core.text import safe_text

if TYPE_CHECKING:
    from workbench.core.bounded import LiveLog
    from workbench.core.host import Host

KERNEL_LOG = "logs/kernel.log"
LIBVIRT_LOG = "logs/libvirt.log"
QEMU_LOG_DIR = "var/log/libvirt/qemu"
GAP_SLACK = 1024  # a recorded head may end with its capture's own gap line: read that too
RECORD_HINT = "capture with a workbench that records the {what}"


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
        """How many log lines the text holds (0 when there is none; gap lines not counted)."""
        if not self.text:
            return 0
        every = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        return every - len(GAP_LINE.findall(self.text))

    def gap(self) -> Gap | None:
        """What was left out of the middle of the log (its gap lines), or None: read whole."""
        if not self.text:
            return None
        found = list(GAP_LINE.finditer(self.text))
        if not found:
            return None
        head = self.text.count("\n", 0, found[0].start())
        what = "; ".join(dict.fromkeys(m.group(1) for m in found))
        return Gap(head, self.lines - head, safe_text(what[:300]))

    def to_facts(self) -> dict[str, Any]:
        """What a probe's facts say of it."""
        return {
            "source": self.source,
            "lines": self.lines,
            "truncated": self.truncated,
            "why": self.why,
            "tried": list(self.tried),
        }


@dataclass(frozen=True)
class Gap:
    """The middle of a log left out: the lines read before it and after it, and what was left
    out in words ("1234 lines")."""

    head: int
    tail: int
    left_out: str


def qemu_log_path(vm: str) -> str:
    """The QEMU log of domain `vm`, relative to the machine root."""
    return f"{QEMU_LOG_DIR}/{vm}.log"


# A live read per Host (a Host is one run's): the probes that judge the kernel log (kernel.log,
# device state's interrupt remapping) read it once between them.
_LIVE_READS: weakref.WeakKeyDictionary[Host, MachineLog] = weakref.WeakKeyDictionary()
_LIVE_LOCK = threading.Lock()
_LOCK_WAIT_S = 3 * COMMAND_TIMEOUT_S + 5  # a reader stuck past its own bounds is not waited for


def kernel_log(host: Host) -> MachineLog:
    """This boot's kernel messages: live from the journal, else /dev/kmsg, else `dmesg` (read
    once per Host: a second call gives the first one's reading); recorded from
    `logs/kernel.log`. A long log is its first part and its newest, with a gap line between."""
    if not host.live:
        return _recorded(
            host, "kernel", KERNEL_LOG, "kernel_log", "kernel log", HEAD_BYTES + GAP_SLACK
        )
    locked = _LIVE_LOCK.acquire(timeout=_LOCK_WAIT_S)
    try:
        cached = _LIVE_READS.get(host)
        if cached is None:
            cached = _read_live("kernel", live_kernel_log())
            _LIVE_READS[host] = cached
        return cached
    finally:
        if locked:
            _LIVE_LOCK.release()


def qemu_log(host: Host, vm: str) -> MachineLog:
    """The tail of domain `vm`'s QEMU log."""
    name = f"qemu:{vm}"
    if not vm or "/" in vm or "\0" in vm or vm in (".", ".."):
        return MachineLog(name, "none", None, why=f"not a domain name: {safe_text(repr(vm))}")
    rel = qemu_log_path(vm)
    data, truncated, problem = tail(host, rel)
    if data is not None:
        return MachineLog(name, "/" + rel, decoded(data), truncated=truncated)
    if problem == "missing":
        if host.live:
            why = (
                f"/{rel} does not exist (the domain has not started on this machine, or "
                "libvirt writes its logs elsewhere)"
            )
        elif (hint := host.record_hint(rel)) is not None:
            why = f"QEMU log of {vm} {hint}"
        elif host.recorded_by == "sosreport":  # it has QEMU logs, not this one
            why = (
                f"not recorded: {rel} is not among this sosreport's QEMU logs (a domain that "
                "never started has none; `sos report -o libvirt` collects them)"
            )
        else:
            why = f"not recorded: {rel} is not in this capture; " + RECORD_HINT.format(
                what="QEMU logs"
            )
        return MachineLog(name, "/" + rel, None, why=safe_text(why))
    return MachineLog(name, "/" + rel, None, why=safe_text(_unreadable(host, rel, problem)))


def libvirt_log(host: Host) -> MachineLog:
    """libvirt's daemon log of this boot: live from the journal of libvirtd/virtqemud (else
    /var/log/libvirt/libvirtd.log or virtqemud.log); recorded from `logs/libvirt.log`."""
    if not host.live:
        return _recorded(host, "libvirt", LIBVIRT_LOG, "libvirt_log", "libvirt log")
    return _read_live("libvirt", live_libvirt_log(host))


def _read_live(name: str, got: LiveLog) -> MachineLog:
    """A live log as the readers take it: text, or why each source gave nothing."""
    if got.data is None:
        why = f"{name} log not readable: " + "; ".join(got.tried)
        return MachineLog(name, "none", None, why=why, tried=got.tried)
    source = KMSG if got.origin == "kmsg" else got.origin or "none"  # the device, for kmsg
    return MachineLog(name, source, got.text, truncated=got.truncated, tried=got.tried)


# --- recorded ------------------------------------------------------------------------------


def _recorded(host: Host, name: str, rel: str, fact: str, what: str, head: int = 0) -> MachineLog:
    """A log a capture wrote at `rel` (its first `head` bytes and its newest, when long); its
    manifest fact (`facts.<fact>`) says where it came from, or why the capture could not read
    it."""
    facts = host.manifest.get("facts")
    recorded = facts.get(fact) if isinstance(facts, dict) else None
    recorded = recorded if isinstance(recorded, dict) else {}
    origin = recorded.get("origin")
    data, truncated, problem = tail(host, rel, head=head)
    if data is not None:
        source = f"{rel} (from {origin})" if isinstance(origin, str) and origin else rel
        return MachineLog(
            name, source, decoded(data), truncated=truncated or recorded.get("truncated") is True
        )
    if problem == "missing":
        hint = host.record_hint(rel)  # a sosreport's root says what would hold it
        if hint is not None:
            return MachineLog(name, rel, None, why=safe_text(f"{what} {hint}"))
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
