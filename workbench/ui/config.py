"""What the workbench UI is opened on, in one typed object (built by the CLI and by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.target import Target


@dataclass
class UiConfig:
    """Everything the app needs to know before it starts."""

    root: str = "/"  # the machine root the probes read
    connect: str | None = None  # libvirt URI; None: no hypervisor
    # Every hypervisor the VMs screen watches (repeated --connect), `connect` first; [] or one
    # URI: the one `connect` names.
    connects: list[str] = field(default_factory=list)
    allow_actions: bool = False  # VM actions need the operator's explicit --allow-actions
    log_path: Path | None = None  # the JSON-lines log shown in the log view
    title: str = "Workbench"
    # Our log is this computer's, not the machine's (a sosreport holds none): offered, never
    # ticked by default among the machine's logs.
    local_log: bool = False
    probe_options: dict[str, Any] = field(default_factory=dict)
    # For snapshot tests: hide what changes from run to run (durations, clock times).
    stable: bool = False
    # The app owns its process (the CLI): after start-up its long-lived objects are frozen
    # out of the garbage collector's full passes. Not when embedded (tests, notebooks).
    owns_process: bool = False
    retry_attempts: int = 3
    retry_base_delay_s: float = 2.0

    @classmethod
    def from_target(cls, target: Target, *, allow_actions: bool = False) -> UiConfig:
        """The app of the CLI and `workbench serve` on `target` (a capture is read-only and
        shows its own recorded log; the others show this workbench's log)."""
        from workbench.core.logging import default_log_path

        if target.kind == "capture":
            name = Path(target.capture_file or target.label).name
            return cls(
                root=str(target.host.root),
                connect=target.connect,
                log_path=target.recorded_log,
                title=f"Workbench — capture {name}",
                owns_process=True,
            )
        if target.kind == "sos":  # read-only, its hypervisor is its recording
            name = Path(target.sos_file or target.label).name
            return cls(
                root=str(target.host.root),
                connect=target.connect,
                log_path=default_log_path(),
                title=f"Workbench — sosreport {name}",
                owns_process=True,
                local_log=True,
            )
        # The log file is set up by the first record (on a worker thread, after the first frame).
        return cls(
            root=str(target.host.root),
            connect=target.connect,
            connects=list(target.connects),
            allow_actions=allow_actions,
            log_path=default_log_path(),
            title="Workbench — demo machine" if target.kind == "demo" else "Workbench",
            owns_process=True,
        )
