"""The app's probe runs: all probes, the PCI ones after a hardware change, one probe retried
(now or with backoff). Work runs on worker threads; results come back as messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core.recovery import CancelToken, RetryPolicy
from workbench.core.report import ProbeResult, Report
from workbench.core.runner import ProbeClass, discover_probes, order_probes
from workbench.ui.config import UiConfig
from workbench.ui.workers import Post, probe_retry, probe_run

if TYPE_CHECKING:
    from textual.app import App

# Probes whose verdict depends on which PCI devices exist and which driver holds them.
PCI_PROBES = ("iommu.groups", "pci.gpus", "vfio.binding")


class ProbeControl:
    def __init__(self, app: App[Any], config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.classes: list[ProbeClass] = order_probes(discover_probes())
        self.results: dict[str, ProbeResult] = {}
        self.report: Report | None = None
        self._retry_cancel: CancelToken | None = None

    def _inputs(self) -> tuple[str, list[ProbeClass], dict[str, Any], Post]:
        """What a worker thread needs, read here on the UI thread."""
        options = dict(self.config.probe_options)
        return self.config.root, self.classes, options, self.app.post_message

    def _run(self, only: list[str] | None, group: str, *, exclusive: bool) -> None:
        root, classes, options, post = self._inputs()
        connect = self.config.connect
        self.app.run_worker(
            lambda: probe_run(root, classes, options, post, only=only, connect=connect),
            thread=True,
            exclusive=exclusive,
            group=group,
            exit_on_error=False,
        )

    def run_all(self) -> None:
        self.results.clear()
        self._run(None, "probes", exclusive=True)

    def rerun_pci(self) -> None:
        self._run(list(PCI_PROBES), "hw-rerun", exclusive=False)

    def finished(self, result: ProbeResult) -> None:
        self.results[result.id] = result

    def done(self, report: Report) -> None:
        if len(report.probes) == len(self.classes):  # not a partial re-run
            self.report = report

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
        self.app.run_worker(
            lambda: probe_retry(
                root, classes, options, probe_id, policy, token, post, connect=connect
            ),
            thread=True,
            exclusive=True,
            group="retry",
            exit_on_error=False,
        )

    def cancel_retry(self) -> None:
        if self._retry_cancel is not None:
            self._retry_cancel.cancel()
            self._retry_cancel = None
