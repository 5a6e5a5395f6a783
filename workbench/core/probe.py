"""The probe plugin contract: a small ABC that probe packages implement and register."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from workbench.core.host import Host
from workbench.core.report import Outcome, ProbeResult

if TYPE_CHECKING:
    from structlog.stdlib import BoundLogger

    from workbench.virt.hypervisor import Hypervisor

T = TypeVar("T")

ENTRY_POINT_GROUP = "workbench.probes"


@dataclass(frozen=True)
class ProbeOption(Generic[T]):
    """One option a probe reads (like sos's PluginOpt): declared on the probe's `options`,
    checked and defaulted by the runner, read with `ctx.option(OPTION)`."""

    name: str
    type: type[T]
    default: T
    help: str


@dataclass
class ProbeContext:
    """What a probe may use: the machine, its hypervisor (opened and closed by the runner;
    None when the target has none), the results of the probes it requires or uses, its
    options, a logger."""

    host: Host
    results: Mapping[str, ProbeResult]
    log: BoundLogger
    hypervisor: Hypervisor | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    # TRANSITIONAL (issue 12): the untyped dicts that `values`/`option()` and `hypervisor`
    # replace; removed once every probe and the runner use the typed contract.
    options: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def option(self, opt: ProbeOption[T]) -> T:
        """The option's value for this run (its default when not given)."""
        value = self.values.get(opt.name, opt.default)
        return value if isinstance(value, opt.type) else opt.default


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
    options: ClassVar[tuple[ProbeOption[object], ...]] = ()  # what it reads with ctx.option

    @abstractmethod
    def run(self, ctx: ProbeContext) -> Outcome:
        """Examine the machine and return the verdict."""
