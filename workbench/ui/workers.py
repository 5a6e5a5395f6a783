"""The blocking work behind the UI, run on threads; results reach the app only as messages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.message import Message

from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.recovery import CancelToken, RetryPolicy, retry
from workbench.core.report import FAILING, ProbeResult
from workbench.core.runner import ProbeClass, run_probes
from workbench.logs.index import LogIndex
from workbench.ui.messages import LogGrew, ProbeFinished, ProbesDone, RetryFinished, RetryProgress
from workbench.virt.gateway import open_hypervisor

Post = Callable[[Message], Any]


def probe_run(
    root: str,
    classes: list[ProbeClass],
    options: dict[str, Any],
    post: Post,
    only: list[str] | None = None,
    *,
    connect: str | None,
) -> None:
    """Every probe (or `only` some), each result posted as it is made. Each run has its own
    hypervisor (runs overlap; the runner closes its own at the end)."""
    host = Host(root)
    report = run_probes(
        host,
        classes,
        hypervisor=open_hypervisor(host, connect),
        only=only,
        options=options,
        on_result=lambda r: post(ProbeFinished(r)),
    )
    post(ProbesDone(report))


def probe_retry(
    root: str,
    classes: list[ProbeClass],
    options: dict[str, Any],
    probe_id: str,
    policy: RetryPolicy,
    cancel: CancelToken,
    post: Post,
    *,
    connect: str | None,
) -> None:
    """Run one probe again until it no longer fails (the policy's attempts), each attempt and
    its countdown posted; a fresh Host each time, so changed hardware is read again."""

    def attempt() -> ProbeResult:
        host = Host(root)
        report = run_probes(
            host,
            classes,
            hypervisor=open_hypervisor(host, connect),
            only=[probe_id],
            options=options,
            on_result=lambda r: post(ProbeFinished(r)),
        )
        result = report.get(probe_id)
        if result.status in FAILING:
            raise WorkbenchError(
                f"{probe_id} still {result.status}: {result.summary}",
                code="PROBE_STILL_FAILING",
                recoverable=True,
            )
        return result

    try:
        result = retry(
            attempt,
            policy,
            operation=f"retry {probe_id}",
            cancel=cancel,
            observer=lambda a: post(RetryProgress(a)),
        )
    except WorkbenchError as exc:
        post(RetryFinished(False, exc.message))
        return
    post(RetryFinished(True, f"{probe_id}: {result.status} — {result.summary}"))


class LogFeeder:
    """Indexes the log in time-boxed batches, then watches it grow; posts LogGrew."""

    def __init__(self, index: LogIndex, post: Post, poll_s: float = 0.005) -> None:
        self.index = index
        self.post = post
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="log-feeder", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        seen = -1
        while not self.stop.is_set():
            self.index.refresh()
            self.index.index_step(0.02)
            if self.index.line_count != seen:
                seen = self.index.line_count
                self.post(LogGrew(seen))
            if self.index.complete:
                self.stop.wait(self.poll_s)
