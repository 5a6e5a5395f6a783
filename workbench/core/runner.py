"""Runs registered probes in dependency order, each in a thread with a timeout."""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from workbench import __version__
from workbench.core.deadline import call_with_deadline
from workbench.core.discovery import ProbeClass, discover_probes
from workbench.core.errors import (
    ConfigError,
    HostReadError,
    ProbeError,
    ProbeTimeoutError,
    WorkbenchError,
)
from workbench.core.host import Host
from workbench.core.logging import get_logger
from workbench.core.options import check_options
from workbench.core.probe import DeclaredResults, ProbeContext
from workbench.core.report import FAILING, ProbeResult, Report, unreadable

if TYPE_CHECKING:
    from workbench.virt.hypervisor import Hypervisor

__all__ = ["ProbeClass", "discover_probes", "order_probes", "run_probes"]

Listener = Callable[[ProbeResult], None]
BLOCKING = FAILING | {"skip"}  # a `requires` prerequisite with this status blocks
UNUSABLE = frozenset({"error", "skip"})  # a `uses` source with this status produced nothing
# A probe whose evidence file cannot be read for one of these reasons says so (`skip`, with the
# file and why) instead of breaking; a hung read stays an `error` (it can be retried).
ABSENT_EVIDENCE = frozenset(
    {"missing", "permission", "not a regular file", "io", "loop", "too deep", "too large"}
)


def order_probes(
    probes: Sequence[ProbeClass], only: Iterable[str] | None = None
) -> list[ProbeClass]:
    """Topological order (prerequisites first, otherwise as given); `only` pulls in prerequisites.

    Raises ConfigError for an unknown id in `only` or a dependency cycle.
    """
    by_id = {p.id: p for p in probes}
    wanted = list(by_id) if only is None else list(only)
    unknown = [pid for pid in wanted if pid not in by_id]
    if unknown:
        raise ConfigError(
            f"unknown probe id: {', '.join(unknown)}",
            details={"unknown": unknown, "known": sorted(by_id)},
            remedy=f"Known probe ids: {', '.join(sorted(by_id))}.",
        )
    chosen = set(wanted)
    wanted = [pid for pid in by_id if pid in chosen]  # report order, whatever order `only` had
    ordered: list[ProbeClass] = []
    state: dict[str, str] = {}

    def visit(pid: str, chain: tuple[str, ...]) -> None:
        if state.get(pid) == "done" or pid not in by_id:
            return  # an unregistered prerequisite is reported by the runner as a blocker
        if state.get(pid) == "visiting":
            raise ConfigError(f"probe dependency cycle: {' -> '.join((*chain, pid))}")
        state[pid] = "visiting"
        for dep in (*by_id[pid].requires, *by_id[pid].uses, *by_id[pid].consults):
            visit(dep, (*chain, pid))
        state[pid] = "done"
        ordered.append(by_id[pid])

    for pid in wanted:
        visit(pid, ())
    return ordered


def run_probes(
    host: Host,
    probes: Sequence[ProbeClass] | None = None,
    *,
    hypervisor: Hypervisor | None = None,
    only: Iterable[str] | None = None,
    options: Mapping[str, object] | None = None,
    timeout_s: float | None = None,
    on_result: Listener | None = None,
) -> Report:
    """Run probes (`probes`, else every registered one) against `host` and return the report.

    A probe whose prerequisite failed, errored or was skipped is `skip` with `blocked_by`; one that
    raises or times out is `error` with the error's `to_dict()`. `on_result` sees each result as it
    is made (for progress). `hypervisor` belongs to the run: a fresh, unopened one (a
    Target's `new_hypervisor()`; the first probe that asks opens it), closed when the run ends,
    so a probe its timeout abandoned cannot reach it after (HYPERVISOR_CLOSED). `options` are
    checked against what `probes` declare (an option of a probe that `only` leaves out is
    accepted and unused).

    Raises ConfigError for an unknown probe or option, a value of the wrong type, a dependency
    cycle, or (NO_PROBES) when none are registered; an explicit empty `probes` is an empty report.
    """
    log = get_logger("core.runner")
    results: dict[str, ProbeResult] = {}
    try:  # the run owns `hypervisor` from here: closed however the run ends
        candidates = list(probes) if probes is not None else discover_probes()
        classes = order_probes(candidates, only)
        values = check_options(candidates, options or {})
        for cls in classes:
            ctx = ProbeContext(
                host=host,
                results=DeclaredResults(cls.id, (*cls.requires, *cls.uses, *cls.consults), results),
                log=log.bind(probe=cls.id),
                hypervisor=hypervisor,
                values=values[cls.id],
            )
            result = _run_one(cls, ctx, results, timeout_s)
            results[cls.id] = result
            if on_result is not None:
                on_result(result)
    finally:
        if hypervisor is not None:
            try:
                hypervisor.close()
            except Exception as exc:  # noqa: BLE001 - a failed close must not lose the report
                log.warning("hypervisor.close_failed", error=exc)
    return Report(host=describe_host(host), probes=list(results.values()))


def _run_one(
    cls: ProbeClass, ctx: ProbeContext, results: dict[str, ProbeResult], timeout_s: float | None
) -> ProbeResult:
    plog, host = ctx.log, ctx.host
    blockers = [d for d in cls.requires if d not in results or results[d].status in BLOCKING]
    blockers += [d for d in cls.uses if d not in results or results[d].status in UNUSABLE]
    if blockers:
        names = ", ".join(blockers)
        plog.info("probe.finished", status="skip", blocked_by=blockers)
        return ProbeResult(cls.id, cls.title, "skip", f"blocked by {names}", blocked_by=blockers)
    start = time.perf_counter()
    try:
        limit = timeout_s or cls.timeout_s
        outcome = call_with_deadline(
            lambda: cls().run(ctx),
            limit,
            lambda: ProbeTimeoutError(
                f"probe did not finish within {limit:g} s",
                details={"timeout_s": limit},
                remedy=cls.timeout_remedy,  # None: the generic one (a hung file or device)
            ),
            name=f"probe:{cls.id}",
        )
    except HostReadError as exc:
        exc.add_context(f"probes.{cls.id}", "run")
        reason = str(exc.details.get("reason"))
        if reason not in ABSENT_EVIDENCE:
            result = ProbeResult(cls.id, cls.title, "error", exc.message, error=exc.to_dict())
            plog.warning("probe.error", error=exc)
        else:
            path = str(exc.details.get("path") or "?")
            outcome = unreadable(path, reason, live=host.live, host=host)
            facts = {
                "unreadable": {
                    "path": path,
                    "reason": reason,
                    "message": exc.message,
                    "context": list(exc.context),  # the skip keeps the path the error took
                }
            }
            result = ProbeResult(cls.id, cls.title, "skip", outcome.summary, facts)
    except WorkbenchError as exc:
        exc.add_context(f"probes.{cls.id}", "run")
        result = ProbeResult(cls.id, cls.title, "error", exc.message, error=exc.to_dict())
        plog.warning("probe.error", error=exc)
    except Exception as exc:  # noqa: BLE001 - a broken probe must not take the report down
        err = ProbeError(
            f"probe crashed: {type(exc).__name__}: {exc}",
            cause=exc,
            details={"traceback": traceback.format_exception(exc)[-3:]},
        )
        err.add_context(f"probes.{cls.id}", "run")
        result = ProbeResult(cls.id, cls.title, "error", err.message, error=err.to_dict())
        plog.error("probe.crashed", error=err)
    else:
        result = ProbeResult(
            cls.id, cls.title, outcome.status, outcome.summary, outcome.facts, outcome.findings
        )
    result.duration_ms = (time.perf_counter() - start) * 1000
    # The verdict sets the level: `workbench logs --level error` (or `e` in the log view) then
    # lists what is wrong with the machine, not only what went wrong in the tool.
    level = {"fail": "error", "error": "error", "warn": "warning"}.get(result.status, "info")
    getattr(plog, level)(
        "probe.finished",
        status=result.status,
        summary=result.summary,
        duration_ms=round(result.duration_ms, 3),
    )
    return result


def describe_host(host: Host) -> dict[str, Any]:
    """The report's `host` object: which machine, seen how, when, by which version."""
    hostname, _ = host.try_read("proc/sys/kernel/hostname")
    kernel, _ = host.try_read("proc/sys/kernel/osrelease")
    info: dict[str, Any] = {
        "root": str(host.root),
        "live": host.live,
        "hostname": (hostname or "").strip() or (platform.node() if host.live else None),
        "kernel": (kernel or "").strip() or (platform.release() if host.live else None),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workbench_version": __version__,
    }
    source = host.manifest.get("source")
    if isinstance(source, str):
        info["source"] = source
    if host.problems:
        info["problems"] = list(host.problems)
    return info
