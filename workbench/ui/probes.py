"""The app's probe runs: all probes, the PCI ones after a hardware change, one probe retried
(now or with backoff). The work runs in thread workers (probe_run, probe_retry) and posts
messages; the state the screens read (results, report) is set here, on the UI thread."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.recovery import CancelToken, RetryPolicy, retry
from workbench.core.report import FAILING, ProbeResult, Report
from workbench.core.runner import ProbeClass, discover_probes, order_probes, run_probes
from workbench.ui.config import UiConfig
from workbench.ui.messages import (
    HardwareChanged,
    ProbeFinished,
    ProbesDone,
    RetryFinished,
    RetryProgress,
    StateChange,
)
from workbench.virt.gateway import open_hypervisor

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

Post = Callable[[Message], Any]

# Probes whose verdict depends on which PCI devices exist and which driver holds them.
PCI_PROBES = ("iommu.groups", "pci.gpus", "vfio.binding")
# A rebind is a burst of udev events (unbind, driver change, bind): judge once it is quiet.
PCI_SETTLE_S = 0.3


class ProbeControl:
    def __init__(self, app: App[Any], config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.classes: list[ProbeClass] = order_probes(discover_probes())
        self.results: dict[str, ProbeResult] = {}
        self.report: Report | None = None
        self._retry_cancel: CancelToken | None = None
        self._pci_timer: Timer | None = None
        # Every run has a number; a probe's result counts only from the newest run that
        # covers it (an older run finishing late is stale).
        self._runs = 0
        self._newest: dict[str, int] = {}
        self._full_run = 0

    def handlers(self) -> dict[type[StateChange], Callable[[Any], bool]]:
        """The messages whose state this part keeps; each says whether screens see it."""
        return {
            ProbeFinished: self._finished,
            ProbesDone: self._done,
            HardwareChanged: self._hardware_changed,
            RetryFinished: self._retry_finished,
        }

    def _start(self, probe_ids: list[str]) -> int:
        """Number a new run covering `probe_ids` (what its worker posts carries the number)."""
        self._runs += 1
        for probe_id in probe_ids:
            self._newest[probe_id] = self._runs
        return self._runs

    def _inputs(self) -> tuple[str, list[ProbeClass], dict[str, Any], Post]:
        """What a worker thread needs, read here on the UI thread."""
        options = dict(self.config.probe_options)
        return self.config.root, self.classes, options, self.app.post_message

    def _run(self, only: list[str] | None, group: str) -> None:
        root, classes, options, post = self._inputs()
        connect = self.config.connect
        run = self._start([p.id for p in order_probes(classes, only)])
        if only is None:
            self._full_run = run
        self.app.run_worker(
            lambda: probe_run(root, connect, classes, options, post, only=only, run=run),
            name="run the probes",
            thread=True,
            exclusive=True,
            group=group,
            exit_on_error=False,
        )

    def run_all(self) -> None:
        self.results.clear()
        self._run(None, "probes")

    def rerun_pci(self) -> None:
        """Judge the PCI probes again once the bus is quiet: a burst of events is one run."""
        if self._pci_timer is not None:
            self._pci_timer.stop()
        self._pci_timer = self.app.set_timer(PCI_SETTLE_S, self._rerun_pci_now)

    def _rerun_pci_now(self) -> None:
        self._pci_timer = None
        self._run(list(PCI_PROBES), "hw-rerun")

    def _finished(self, message: ProbeFinished) -> bool:
        result = message.result
        if message.run < self._newest.get(result.id, 0):
            return False
        self.results[result.id] = result
        return True

    def _done(self, message: ProbesDone) -> bool:
        if len(message.report.probes) == len(self.classes):  # not a partial re-run
            if message.run < self._full_run:
                return False
            # A probe run again since (a retry) has a newer verdict than this run's.
            probes = [self.results.get(r.id, r) for r in message.report.probes]
            self.report = dataclasses.replace(message.report, probes=probes)
        if self.config.owns_process and not gc.get_freeze_count():
            # Start-up is over: the 50k+ objects of Textual, libvirt and the probes live as
            # long as the app. Left to the collector, each full collection walks them all
            # (45-60 ms every ~0.6 s while the log view follows a busy log: the log's p99).
            gc.freeze()
        return True

    def _hardware_changed(self, message: HardwareChanged) -> bool:
        """A device came or went, or a driver changed: say so, and judge the PCI probes again."""
        driver = f" ({message.driver})" if message.driver else ""
        self.app.notify(f"PCI {message.bdf}: {message.action}{driver}; checking again")
        self.rerun_pci()
        return True

    def _retry_finished(self, message: RetryFinished) -> bool:
        self.app.notify(message.detail, severity="information" if message.ok else "warning")
        return True

    def retry(self, probe_id: str, *, backoff: bool) -> None:
        self.cancel_retry()
        token = CancelToken()
        self._retry_cancel = token
        policy = RetryPolicy(
            attempts=self.config.retry_attempts if backoff else 1,
            base_delay=self.config.retry_base_delay_s,
            factor=2.0,
            max_delay=60.0,
            jitter=0.0 if self.config.stable else 0.1,
        )
        root, classes, options, post = self._inputs()
        connect = self.config.connect
        run = self._start([p.id for p in order_probes(classes, [probe_id])])
        self.app.run_worker(
            lambda: probe_retry(
                root, connect, classes, options, probe_id, policy, token, post, run
            ),
            name=f"retry {probe_id}",
            thread=True,
            exclusive=True,
            group="retry",
            exit_on_error=False,
        )

    def cancel_retry(self) -> None:
        if self._retry_cancel is not None:
            self._retry_cancel.cancel()
            self._retry_cancel = None

    def stop(self) -> None:
        self.cancel_retry()
        if self._pci_timer is not None:
            self._pci_timer.stop()


# --- the work, on worker threads: it only posts messages ----------------------------------


def probe_run(
    root: str,
    connect: str | None,
    classes: list[ProbeClass],
    options: dict[str, Any],
    post: Post,
    only: list[str] | None = None,
    run: int = 0,
) -> None:
    """Every probe (or `only` some), each result posted as it is made; `run` numbers them.
    Each run has its own hypervisor (runs overlap; the runner closes its own at the end)."""
    host = Host(root)
    report = run_probes(
        host,
        classes,
        hypervisor=open_hypervisor(host, connect),
        only=only,
        options=options,
        on_result=lambda r: post(ProbeFinished(r, run)),
    )
    post(ProbesDone(report, run))


def probe_retry(
    root: str,
    connect: str | None,
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
        host = Host(root)
        report = run_probes(
            host,
            classes,
            hypervisor=open_hypervisor(host, connect),
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
