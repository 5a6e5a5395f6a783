"""`memory.hugepages`: hugepages configured and free per page size, against total memory."""

from __future__ import annotations

from typing import Any

from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, not_recorded, worst
from workbench.core.text import parse_uint

GIB = 1024**3
WARN_SHARE = 0.75
FAIL_SHARE = 0.90
MAX_PAGES = 1 << 40  # more pages than any machine holds: a larger count is not believed
MAX_PAGE_KB = 1 << 24  # 16 GiB pages are the largest any architecture has


def _size(kb: int) -> str:
    return f"{kb // (1024 * 1024)}G" if kb >= 1024 * 1024 else f"{kb // 1024}M"


class Hugepages(Probe):
    id = "memory.hugepages"
    title = "Hugepages"
    area = "memory"
    order = 80

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        base = "sys/kernel/mm/hugepages"
        sizes: list[dict[str, Any]] = []
        findings: list[Finding] = []
        for entry in host.listdir(base):
            if not (entry.startswith("hugepages-") and entry.endswith("kB")):
                continue
            kb = parse_uint(entry[len("hugepages-") : -2], limit=MAX_PAGE_KB)
            if kb is None:
                continue
            values: dict[str, int | None] = {}
            for key in ("nr_hugepages", "free_hugepages", "resv_hugepages"):
                text, problem = host.try_read(f"{base}/{entry}/{key}")
                values[key] = parse_uint(text, limit=MAX_PAGES)
                if problem:
                    findings.append(Finding("HUGEPAGES_UNREADABLE", "warn", problem))
                elif text is not None and values[key] is None:
                    findings.append(
                        Finding(
                            "HUGEPAGES_UNREADABLE",
                            "warn",
                            f"{base}/{entry}/{key} holds {text.strip()[:40]!r}, not a page count.",
                        )
                    )
            total = values["nr_hugepages"] or 0
            sizes.append(
                {
                    "page_size": _size(kb),
                    "page_kb": kb,
                    "total": values["nr_hugepages"],
                    "free": values["free_hugepages"],
                    "reserved": values["resv_hugepages"],
                    "bytes": total * kb * 1024,
                }
            )
        memory = host.memory_total_bytes()
        reserved = sum(s["bytes"] for s in sizes)
        facts: dict[str, Any] = {
            "sizes": sorted(sizes, key=lambda s: s["page_kb"]),
            "memory_total_bytes": memory,
            "hugepages_bytes": reserved,
            "share_of_memory": round(reserved / memory, 3) if memory else None,
        }
        if not sizes:
            if not host.live and not host.is_dir(base):
                outcome = not_recorded(base, facts, host=host)
                return Outcome("skip", outcome.summary, facts, findings)
            return Outcome("skip", f"no hugepage sizes in /{base}", facts, findings)
        if reserved == 0:
            findings.append(
                Finding(
                    "HUGEPAGES_NONE",
                    "info",
                    "No hugepages reserved: guests use normal pages (works; hugepages make guest "
                    "memory faster and avoid fragmentation).",
                    "Optionally reserve them for the guest's RAM: hugepagesz=1G hugepages=N on the "
                    "kernel command line, and <memoryBacking><hugepages/></memoryBacking> in the "
                    "domain.",
                )
            )
            return Outcome("pass", "none reserved", facts, findings)
        share = reserved / memory if memory else None
        gib = (memory or 0) / GIB
        shown = ", ".join(
            f"{s['total']}x{s['page_size']} ({s['free']} free)"
            for s in facts["sizes"]
            if s["total"]
        )
        if share is not None and share >= WARN_SHARE:
            findings.append(
                Finding(
                    "HUGEPAGES_TOO_MANY",
                    "fail" if share >= FAIL_SHARE else "warn",
                    f"Hugepages hold {reserved / GIB:.1f} GiB of {gib:.1f} GiB "
                    f"({share:.0%}): little is left for the host.",
                    "Reserve only the guest's RAM in hugepages; leave the host at least a few GiB.",
                )
            )
        summary = f"{reserved / GIB:.1f} GiB reserved: {shown}"
        if share is not None:
            summary += f"; {share:.0%} of {gib:.1f} GiB"
        return Outcome(worst(findings), summary, facts, findings)
