"""The probe plugin contract: a small ABC that probe packages implement and register."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.core.host import Host
from workbench.core.report import Outcome, ProbeResult

if TYPE_CHECKING:
    from structlog.stdlib import BoundLogger

ENTRY_POINT_GROUP = "workbench.probes"


@dataclass
class ProbeContext:
    """What a probe may use: the machine, the results of its prerequisites, options, a logger."""

    host: Host
    results: dict[str, ProbeResult]
    log: BoundLogger
    options: dict[str, Any] = field(default_factory=dict)
    # One dict for the whole run: a probe may leave a resource (a connection) for the probes that
    # require it; callables appended to shared["cleanup"] run when the run ends.
    shared: dict[str, Any] = field(default_factory=dict)


class Probe(ABC):
    """One check of the machine.

    Subclasses set `id` (stable, dotted: `area.name`), `title`, and `requires` (ids of probes
    that must not fail or error first; when one does, the runner marks this probe `skip` with
    `blocked_by` and never calls `run`) and `uses` (probes it reads from, which need only to
    have run).

    `run` returns an Outcome (status, summary, facts, findings). It reads the machine only
    through `ctx.host`. It raises WorkbenchError (for example HostReadError) when it cannot
    judge at all; the runner turns that, and any other exception, into status `error`.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    area: ClassVar[str] = "host"
    requires: ClassVar[tuple[str, ...]] = ()
    # Probes whose output this one reads but whose verdict it does not depend on: it runs after
    # them and is blocked only when they could not run at all (error or skip).
    uses: ClassVar[tuple[str, ...]] = ()
    timeout_s: ClassVar[float] = 10.0
    order: ClassVar[int] = 100  # where it stands in a report: root causes first

    @abstractmethod
    def run(self, ctx: ProbeContext) -> Outcome:
        """Examine the machine and return the verdict."""
