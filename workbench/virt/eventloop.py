"""libvirt's event loop: registered once per process, before any connection, pumped on one thread.

libvirt requires the event implementation to exist before a connection is opened if that
connection is to deliver events and keepalives, and allows only one per process, so the pump
thread lives as long as the process (a daemon thread); sessions stop their own threads.
"""

from __future__ import annotations

import threading
import time

import libvirt

_lock = threading.Lock()
_thread: threading.Thread | None = None
_TICK_MS = 250  # a periodic timer keeps the loop turning even when no file descriptor is busy


def _tick(_timer: int, _opaque: object) -> None:
    return None


def _pump() -> None:
    while True:
        if libvirt.virEventRunDefaultImpl() < 0:
            time.sleep(0.1)  # keep a broken loop from spinning


def ensure_event_loop() -> None:
    """Register the default event implementation and start its pump (idempotent)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        libvirt.virEventAddTimeout(_TICK_MS, _tick, None)
        _thread = threading.Thread(target=_pump, name="libvirt-events", daemon=True)
        _thread.start()
