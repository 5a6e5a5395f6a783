"""What the workbench UI is opened on, in one typed object (built by the CLI and by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class UiConfig:
    """Everything the app needs to know before it starts."""

    root: str = "/"  # the machine root the probes read
    connect: str | None = None  # libvirt URI; None: no hypervisor
    allow_actions: bool = False  # VM actions need the operator's explicit --allow-actions
    log_path: Path | None = None  # the JSON-lines log shown in the log view
    title: str = "Workbench"
    probe_options: dict[str, Any] = field(default_factory=dict)
    # For snapshot tests: hide what changes from run to run (durations, clock times).
    stable: bool = False
    # The app owns its process (the CLI): after start-up its long-lived objects are frozen
    # out of the garbage collector's full passes. Not when embedded (tests, notebooks).
    owns_process: bool = False
    retry_attempts: int = 3
    retry_base_delay_s: float = 2.0
