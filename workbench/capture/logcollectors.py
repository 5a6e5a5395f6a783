"""The collectors of a machine's evidence logs (see workbench.core.machinelogs for where a
capture keeps them): this boot's kernel log, each domain's QEMU log tail, libvirt's log. Live,
read from the journal, /dev/kmsg, `dmesg` and /var/log; from a recorded root, what the root
holds (a capture of a capture is the same machine). Each says in the manifest's facts what it
recorded, or why nothing (`why`): absence of a log is never absence of a failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.capture.tree import Copier
from workbench.core.bounded import HEAD_BYTES
from workbench.core.livekernel import live_kernel_log
from workbench.core.livelibvirt import live_libvirt_log
from workbench.core.machinelogs import (
    GAP_SLACK,
    KERNEL_LOG,
    LIBVIRT_LOG,
    QEMU_LOG_DIR,
    qemu_log_path,
)

KERNEL_BYTES = 4 * 1024 * 1024  # the newest 4 MiB of this boot's kernel messages
KERNEL_LINES = 100_000
LIBVIRT_BYTES = 1024 * 1024
LIBVIRT_LINES = 20_000
QEMU_LOG_BYTES = 1024 * 1024  # the newest 1 MiB of each domain's QEMU log
QEMU_LOGS_MAX = 64  # the most recently written domains' logs, at most
if TYPE_CHECKING:
    from workbench.capture.collectors import Collected, Source

NAME_MAX = 200  # a domain name in a file name, in bytes (libvirt's file names add ".log")


def collect_kernel_log(src: Source, out: Collected) -> None:
    """This boot's kernel messages, its first 256 KiB and newest 4 MiB, a gap line between
    (`logs/kernel.log`, `facts.kernel_log`)."""
    if src.host.live:
        got = live_kernel_log(KERNEL_BYTES, KERNEL_LINES)
        out.facts["kernel_log"] = got.facts()
        if got.data is not None:
            out.tree.add_bytes(KERNEL_LOG, got.data)
        return
    # A capture's own log (first part, gap line, newest) is copied whole.
    _copy_recorded(src, out, KERNEL_LOG, "kernel_log", KERNEL_BYTES + HEAD_BYTES + GAP_SLACK)


def collect_libvirt_log(src: Source, out: Collected) -> None:
    """libvirt's daemon log of this boot, the newest 1 MiB: its journal, else its log file
    (`logs/libvirt.log`, `facts.libvirt_log`)."""
    if not src.host.live:
        _copy_recorded(src, out, LIBVIRT_LOG, "libvirt_log", LIBVIRT_BYTES)
        return
    got = live_libvirt_log(src.host, LIBVIRT_BYTES, LIBVIRT_LINES)
    out.facts["libvirt_log"] = got.facts()
    if got.data is not None:
        out.tree.add_bytes(LIBVIRT_LOG, got.data)


def collect_qemu_logs(src: Source, out: Collected) -> None:
    """Each domain's QEMU log (`var/log/libvirt/qemu/NAME.log`), the newest 1 MiB, for the
    64 most recently written; names that no domain could have are left out and said."""
    copy = Copier(src.host, out.tree)
    facts: dict[str, Any] = {"dir": f"/{QEMU_LOG_DIR}", "domains": {}}
    out.facts["qemu_logs"] = facts
    problems = len(out.tree.problems)
    names = [n for n in copy.listdir(QEMU_LOG_DIR) if n.endswith(".log")]
    if len(out.tree.problems) > problems:  # there, but this user may not list it
        facts["why"] = f"not readable: {out.tree.problems[-1][:300]}"
        return
    if not names and not src.host.is_dir(QEMU_LOG_DIR):
        facts["why"] = "not present" if src.host.live else "not recorded"
        return
    refused = sorted(n for n in names if not domain_name_ok(n[: -len(".log")]))
    if refused:
        facts["refused"] = [n.encode("unicode_escape").decode()[:80] for n in refused[:10]]
    # Newest first; by name among equals (a capture's files all carry one time): the same
    # machine keeps the same logs.
    names = sorted(sorted(set(names) - set(refused)), key=lambda n: _age(src, n))
    if len(names) > QEMU_LOGS_MAX:
        facts["left_out"] = len(names) - QEMU_LOGS_MAX
    for name in names[:QEMU_LOGS_MAX]:
        vm = name[: -len(".log")]
        rel = qemu_log_path(vm)
        tail = copy.tail(rel, QEMU_LOG_BYTES)
        if tail is None:
            facts["domains"][vm] = {"why": "not readable"}
            continue
        real = copy.resolve(rel) or rel
        out.tree.add_bytes(real, tail[0])
        facts["domains"][vm] = {"bytes": len(tail[0]), "truncated": tail[1]}


def domain_name_ok(name: str) -> bool:
    """A name libvirt could have given a domain's log: not empty, not hidden, no control
    characters or separators, not absurdly long."""
    return (
        bool(name)
        and not name.startswith(".")
        and len(name.encode(errors="surrogateescape")) <= NAME_MAX
        and name.isprintable()
        and "/" not in name
        and "\\" not in name
    )


def _age(src: Source, name: str) -> float:
    """Newest first: minus the modification time (unknown: oldest)."""
    try:
        return -src.host.path(f"{QEMU_LOG_DIR}/{name}").lstat().st_mtime
    except Exception:  # noqa: BLE001 - a hostile root's oddity only changes the order
        return 0.0


def _copy_recorded(src: Source, out: Collected, member: str, key: str, limit: int) -> None:
    """A recorded root's log as it holds it (the newest `limit` bytes), with the account its
    own capture gave (its manifest), or, for a root that never recorded it, why not."""
    problems = len(out.tree.problems)
    tail = Copier(src.host, out.tree).tail(member, limit)
    recorded = src.host.manifest.get("facts", {})
    said = recorded.get(key) if isinstance(recorded, dict) else None
    if tail is None:
        # A root that never recorded it says nothing more: its capture reads as the root does.
        why = None
        if len(out.tree.problems) > problems:  # there, but not a log we could read
            why = f"not readable: {out.tree.problems[-1][:300]}"
        elif isinstance(said, dict) and isinstance(said.get("why"), str):
            why = said["why"][:300]
        out.facts[key] = {"origin": None, "lines": 0, "truncated": False}
        if why is not None:
            out.facts[key]["why"] = why
        return
    data, cut = tail
    origin = said.get("origin") if isinstance(said, dict) else None  # the root's word: bounded
    out.facts[key] = {
        "origin": origin[:200] if isinstance(origin, str) else f"root:{member}",
        "lines": data.count(b"\n"),
        "truncated": cut or (isinstance(said, dict) and said.get("truncated") is True),
    }
    out.tree.add_bytes(member, data)
