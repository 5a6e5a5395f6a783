"""The Python API: the same engine as the CLI, for scripts and notebooks (no Textual on this path).

    import workbench
    report = workbench.diagnose()                  # the live machine (or root=, capture=)
    report["pci.gpus"].facts                       # one probe's facts
    workbench.vms("qemu:///system")                # domains and their transition timelines
    workbench.logs(path).filter(level="error").tail(20)
    workbench.fleet(["captures/"])                 # many machines side by side
    workbench.explain_logs("dmesg.txt", root=DIR)  # the causes the lines show

Each result renders as an HTML table in Jupyter (`_repr_html_`) and as readable text in a REPL.
"""

from __future__ import annotations

from pathlib import Path

from workbench.api.explain import ExplainView, explain_logs
from workbench.api.fleet import FleetView
from workbench.api.logs import LogsView
from workbench.api.report import Diagnosis, ProbeView
from workbench.api.vms import VmsView

__all__ = [
    "Diagnosis",
    "ExplainView",
    "FleetView",
    "LogsView",
    "ProbeView",
    "VmsView",
    "diagnose",
    "explain_logs",
    "fleet",
    "logs",
    "vms",
]


def diagnose(
    root: str | Path | None = None,
    connect: str | None = None,
    capture: str | Path | None = None,
    *,
    sos: str | Path | None = None,
    only: list[str] | None = None,
) -> Diagnosis:
    """Run the probes on the live machine, a machine root, a capture file or a sosreport
    (`sos`: its archive or its directory).

    `connect` names the hypervisor (default: qemu:///system on the live machine; a capture
    answers from its recording). Raises WorkbenchError for an unusable root or capture."""
    from workbench.core.runner import run_probes
    from workbench.target import open_target

    if sum(x is not None for x in (root, capture, sos)) > 1:
        raise ValueError("diagnose: give one of root, capture or sos, not both")
    with open_target(root=root, capture=capture, sos=sos, connect=connect) as target:
        report = run_probes(
            target.host,
            hypervisor=target.new_hypervisor(),  # the run closes it
            only=only,
        )
        report.host.update(target.report_host())
        return Diagnosis(report, target.label)


def vms(connect: str | None = None, *, watch_s: float = 0.0, timeout_s: float = 10.0) -> VmsView:
    """The hypervisor's domains (state, GPU hostdevs, agent channel) and each one's transition
    timeline, watched for `watch_s` seconds after connecting (read-only). `connect` defaults
    to this machine's own hypervisor, as `workbench vm` does."""
    from workbench.target import open_target

    with open_target(connect=connect) as target:
        return VmsView.collect(target.require_connect(), watch_s=watch_s, timeout_s=timeout_s)


def logs(path: str | Path) -> LogsView:
    """A JSON-lines log (any file `workbench logs` reads); `.filter(...)` and `.tail(n)` narrow
    it; nothing is read until the view is shown or its records asked for."""
    return LogsView(Path(path).expanduser())


def fleet(
    paths: str | Path | list[str | Path], index: bool = True, workers: int | None = None
) -> FleetView:
    """Every machine in `paths` (captures, sosreports, roots, directories of them) probed,
    side by side: an HTML table in Jupyter, `.to_dict()` (workbench.fleet/1). A machine that
    cannot be opened is a row saying why, never the fleet's failure. `index=False`: every
    archive probed afresh, the fleet index neither read nor written; `workers`: at most this
    many machines at once (default: the CPU count), as `workbench fleet --workers`."""
    return FleetView.open(paths, index=index, workers=workers)
