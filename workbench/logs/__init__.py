"""The log engine: index, read, follow and filter log files of any size (no UI code): JSON
lines (ours, journald's `journalctl -o json`) and text logs (QEMU, libvirt, syslog, dmesg).

The package is also callable: `workbench.logs(path)` is `workbench.api.logs(path)`, the
notebook view of a log (the Python API asks for that name, and the engine already had it)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, path: str | Path) -> Any:
        from workbench.api import logs

        return logs(path)


sys.modules[__name__].__class__ = _CallableModule
