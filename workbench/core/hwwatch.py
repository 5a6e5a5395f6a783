"""Watching the live machine's PCI bus (libudev's monitor): devices coming and going, drivers
binding and unbinding (vfio-pci taking a GPU), reported as they happen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core.logging import get_logger


@dataclass(frozen=True)
class PciChange:
    action: str  # "add", "remove", "bind", "unbind", "change"
    bdf: str
    driver: str | None


class HardwareWatcher:
    """A pyudev monitor on the `pci` subsystem, pumped on its own thread with a stop Event.

    `on_change` is called from that thread: a UI must hand it to its own loop.
    """

    def __init__(self, on_change: Callable[[PciChange], Any], poll_s: float = 0.2) -> None:
        self.on_change = on_change
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udev-pci", daemon=True)
        self._log = get_logger("core.hwwatch")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self.stop_event.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            import pyudev

            monitor = pyudev.Monitor.from_netlink(pyudev.Context())
            monitor.filter_by("pci")
            monitor.start()
        except (ImportError, OSError) as exc:
            self._log.warning("hwwatch.unavailable", error=str(exc))
            self.ready.set()
            return
        self.ready.set()
        while not self.stop_event.is_set():
            device = monitor.poll(timeout=self.poll_s)
            if device is None:
                continue
            change = PciChange(str(device.action), str(device.sys_name), device.driver)
            self._log.info(
                "hardware.changed", action=change.action, bdf=change.bdf, driver=change.driver
            )
            self.on_change(change)
