"""Commands that run until stopped (`events`, `logs --follow`) stop on a signal whichever thread
the kernel hands it to."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import WORKBENCH

WAITER = """
import signal, threading, time
from workbench.commands.common import stop_on_signals

stop = stop_on_signals()

def elsewhere():
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # to this thread, not the main one
    time.sleep(60)

threading.Thread(target=elsewhere, daemon=True).start()
stop.wait()
print("stopped")
"""


def test_a_signal_delivered_to_another_thread_stops_the_command(tmp_path: Path) -> None:
    """SIGTERM received by a worker thread (libvirt's event loop) still ends the wait: Python
    runs handlers only on the main thread, which must wake to do it (it waited for ever)."""
    script = tmp_path / "waiter.py"
    script.write_text(WAITER)
    done = subprocess.run(
        [str(WORKBENCH.parent / "python"), str(script)], capture_output=True, text=True, timeout=20
    )
    assert (done.returncode, done.stdout.strip()) == (0, "stopped"), done.stderr
