"""A hugepage-backed VM's memory against the free hugepages of its page size (and, when its
memory is bound to host NUMA nodes with `<numatune>`, the free pages of those nodes)."""

from __future__ import annotations

import re
from typing import NamedTuple

from probes.vm_checks import NOT_RECORDED, Check
from workbench.core.host import Host
from workbench.core.text import parse_uint, safe_text
from workbench.explain.model import Evidence
from workbench.virt.hypervisor import DomainSnapshot

BASE = "sys/kernel/mm/hugepages"
NODES = "sys/devices/system/node"
MAX_PAGES = 1 << 40
MAX_NODES = 1 << 10
# Modes that keep the memory on the nodeset (libvirt's default is strict).
STRICT_MODES = frozenset({"strict", "restrictive"})
_RANGE = re.compile(r"(\^?)(\d{1,4})(?:-(\d{1,4}))?")

Result = tuple[Check, list[Evidence] | None, dict[str, str]]


class Pages(NamedTuple):
    """Hugepages of one size, summed over some places (the machine, or NUMA nodes)."""

    total: int
    free: int
    evidence: list[Evidence]


def shown_size(kib: int) -> str:
    if kib >= 1 << 20 and kib % (1 << 20) == 0:
        return f"{kib >> 20} GiB"
    return f"{kib >> 10} MiB" if kib >= 1024 and kib % 1024 == 0 else f"{kib} KiB"


def parse_nodeset(text: str) -> list[int] | None:
    """libvirt's nodeset (`0-3,^2`) as node numbers; None when it is not one."""
    chosen: set[int] = set()
    excluded: set[int] = set()
    for part in text.strip().split(","):
        m = _RANGE.fullmatch(part.strip())
        if m is None:
            return None
        first = int(m[2])
        last = int(m[3]) if m[3] else first
        if last < first or last >= MAX_NODES:
            return None
        (excluded if m[1] else chosen).update(range(first, last + 1))
    return sorted(chosen - excluded) or None


def _sizes(host: Host) -> list[int]:
    out = []
    for entry in host.listdir(BASE):
        if entry.startswith("hugepages-") and entry.endswith("kB"):
            kb = parse_uint(entry[len("hugepages-") : -2], limit=1 << 24)
            if kb is not None:
                out.append(kb)
    return sorted(out)


def _default_size(host: Host, sizes: list[int]) -> tuple[int | None, str]:
    """The machine's default hugepage size (Hugepagesize in /proc/meminfo), else its only one."""
    text, _ = host.try_read("proc/meminfo")
    for line in (text or "").splitlines():
        key, _, rest = line.partition(":")
        if key == "Hugepagesize":
            kb = parse_uint((rest.split() or [""])[0], limit=1 << 24)
            if kb is not None:
                return kb, "the default size"
    if len(sizes) == 1:
        return sizes[0], "the only size this machine has"
    return None, ""


def _count(host: Host, rel: str) -> tuple[int | None, Evidence | None]:
    text, _ = host.try_read(rel)
    value = parse_uint(text, limit=MAX_PAGES)
    if value is None:
        return None, None
    return value, Evidence(1, str(value), f"/{rel}")


def check_hugepages(host: Host, dom: DomainSnapshot) -> list[Result]:
    """The hugepages check of a shut-off domain ([] when it does not use hugepages)."""
    config = dom.config
    if config is None:  # unreadable XML: libvirt.domains says so
        return []
    if config.hugepages is None:
        return []
    size_kib, _guest_cells = (config.hugepages.pages or ((None, None),))[0]
    if not host.is_dir(BASE):
        if host.live:
            why = f"this kernel has no hugepages (/{BASE} is absent)"
            return [
                (Check("hugepages", "hugepages", "fail", why, "HUGEPAGES_NOT_RESERVED"), None, {})
            ]
        return [(Check("hugepages", "hugepages", NOT_RECORDED, f"/{BASE}"), None, {})]
    sizes = _sizes(host)
    how = "its <page size>"
    if size_kib is None:
        size_kib, how = _default_size(host, sizes)
        if size_kib is None:
            why = "the machine's default hugepage size (Hugepagesize in /proc/meminfo)"
            return [(Check("hugepages", "hugepages", NOT_RECORDED, why), None, {})]
    size = shown_size(size_kib)
    subject = {"size": size}
    if size_kib not in sizes:
        have = ", ".join(shown_size(s) for s in sizes) or "none"
        why = f"no {size} pages on this machine (it has: {have})"
        check = Check("hugepages", size, "fail", why, "HUGEPAGE_SIZE_MISCONFIGURED")
        return [(check, None, subject)]
    if config.memory_kib is None:
        return [(Check("hugepages", size, NOT_RECORDED, "the domain's <memory>"), None, subject)]
    need = -(-config.memory_kib // size_kib)
    memory = shown_size(config.memory_kib)
    wants = f"needs {need} pages of {size} ({how}) for {memory}"
    machine = [f"{BASE}/hugepages-{size_kib}kB"]
    if not config.numa_nodeset:
        return [_judge(host, machine, need, wants, "", subject)]
    nodes = parse_nodeset(config.numa_nodeset)
    if nodes is None:
        why = f"<numatune> nodeset {config.numa_nodeset[:40]!r} is not a nodeset"
        return [(Check("hugepages", size, "fail", why), None, subject)]
    on_nodes = [f"{NODES}/node{n}/hugepages/hugepages-{size_kib}kB" for n in nodes]
    place = f" on NUMA node{'s' if len(nodes) > 1 else ''} {config.numa_nodeset}"
    subject["node"] = config.numa_nodeset
    mode = config.numa_mode or "strict"  # libvirt's default
    if mode in STRICT_MODES:
        return [_judge(host, on_nodes, need, wants, place, subject)]
    # preferred, interleave: pages come from any node when these run short: the machine's
    # free pages decide; a preferred node that is short is said, as a warning at most.
    mode_shown = safe_text(mode[:20])
    result = _judge(host, machine, need, wants, f" ({mode_shown} {place.strip()})", subject)
    if mode != "preferred" or result[0].status != "pass":
        return [result]
    counted = _counts(host, on_nodes, need, wants, subject)
    if isinstance(counted, Pages) and counted.free < need:
        total, free, evidence = counted
        why = f"{wants}; {free} of {total} free{place}, preferred: the rest from other nodes"
        check = Check("hugepages", size, "warn", why, "HUGEPAGES_INSUFFICIENT")
        return [(check, evidence, subject)]
    return [result]


def _counts(
    host: Host, where: list[str], need: int, wants: str, subject: dict[str, str]
) -> Pages | Result:
    """(reserved, free, evidence) summed over `where`, or the check saying why not."""
    size = subject["size"]
    total = free = 0
    evidence: list[Evidence] = []
    for rel in where:
        nr, nr_ev = _count(host, f"{rel}/nr_hugepages")
        fr, fr_ev = _count(host, f"{rel}/free_hugepages")
        if nr is None or fr is None or nr_ev is None or fr_ev is None:
            node = rel.split("/hugepages/")[0]
            if host.live and rel.startswith(NODES) and not host.is_dir(node):
                why = f"/{node} does not exist: {wants} on a NUMA node this machine lacks"
                check = Check("hugepages", size, "fail", why, "HUGEPAGES_INSUFFICIENT")
                return (check, None, subject)
            why = f"/{rel}/nr_hugepages and free_hugepages"
            return (Check("hugepages", size, NOT_RECORDED, why), None, subject)
        total, free = total + nr, free + fr
        evidence += [nr_ev, fr_ev]
    return Pages(total, free, evidence)


def _judge(
    host: Host, where: list[str], need: int, wants: str, place: str, subject: dict[str, str]
) -> Result:
    """`need` pages against the free pages of `where` (the machine's, or some nodes')."""
    size = subject["size"]
    counted = _counts(host, where, need, wants, subject)
    if not isinstance(counted, Pages):
        return counted
    total, free, evidence = counted
    if total == 0:
        why = f"{wants}; none reserved{place}"
        return (Check("hugepages", size, "fail", why, "HUGEPAGES_NOT_RESERVED"), evidence, subject)
    if free < need:
        why = f"{wants}; {free} of {total} free{place}"
        return (Check("hugepages", size, "fail", why, "HUGEPAGES_INSUFFICIENT"), evidence, subject)
    return (
        Check("hugepages", size, "pass", f"{wants}; {free} of {total} free{place}"),
        None,
        subject,
    )
