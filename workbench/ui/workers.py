"""The blocking work behind the UI, run in thread workers; results reach the app only as
messages."""

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

Post = Callable[[Message], Any]


def probe_run(
    root: str,
    classes: list[ProbeClass],
    options: dict[str, Any],
    post: Post,
    only: list[str] | None = None,
    run: int = 0,
) -> None:
    """Every probe (or `only` some), each result posted as it is made; `run` numbers them."""
    report = run_probes(
        Host(root),
        classes,
        only=only,
        options=options,
        on_result=lambda r: post(ProbeFinished(r, run)),
    )
    post(ProbesDone(report, run))


def probe_retry(
    root: str,
    classes: list[ProbeClass],
    options: dict[str, Any],
    probe_id: str,
    policy: RetryPolicy,
    cancel: CancelToken,
    post: Post,
    run: int = 0,
) -> None:
    """Run one probe again until it no longer fails (the policy's attempts), each attempt and
    its countdown posted; a fresh Host each time, so changed hardware is read again."""

    def attempt() -> ProbeResult:
        report = run_probes(
            Host(root),
            classes,
            only=[probe_id],
            options=options,
            on_result=lambda r: post(ProbeFinished(r, run)),
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
