"""What the app watches once its first frame is on screen: its log file (followed on a thread)
and, on the live machine, the PCI bus (udev). Both report by posting messages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from workbench.logs.index import LogIndex
from workbench.ui.config import UiConfig
from workbench.ui.messages import HardwareChanged, LogGrew

if TYPE_CHECKING:
    from textual.app import App


class Watchers:
    def __init__(self, app: App[Any], config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.log_index: LogIndex | None = None
        self._feeder: LogFeeder | None = None
        self._hardware: Any = None

    def start(self) -> None:
        from workbench.core.logging import get_logger

        # The first record sets the log file up (now, after the first frame, not before it).
        get_logger("ui").info("ui.started", root=self.config.root, connect=self.config.connect)
        if self.config.log_path is not None:
            try:
                self.log_index = LogIndex(self.config.log_path, following=True)
            except Exception as exc:  # noqa: BLE001 - a missing log must not stop the app
                self.app.notify(f"log view: {exc}", severity="warning")
            else:
                self._feeder = LogFeeder(self.log_index, self.app.post_message)
                self._feeder.start()
        if self.config.root == "/":
            from workbench.core.hwwatch import HardwareWatcher

            post = self.app.post_message
            self._hardware = HardwareWatcher(
                lambda c: post(HardwareChanged(c.action, c.bdf, c.driver))
            )
            self._hardware.start()

    def stop(self) -> None:
        if self._feeder is not None:
            self._feeder.stop.set()
        if self._hardware is not None:
            self._hardware.stop()


class LogFeeder:
    """Indexes the log in time-boxed batches, then watches it grow; posts LogGrew."""

    def __init__(
        self, index: LogIndex, post: Callable[[Message], Any], poll_s: float = 0.005
    ) -> None:
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
