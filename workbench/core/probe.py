"""The probe plugin contract: a small ABC that probe packages implement and register."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from workbench.core.errors import ProbeError
from workbench.core.host import Host
from workbench.core.report import Outcome, ProbeResult

if TYPE_CHECKING:
    from structlog.stdlib import BoundLogger

    from workbench.virt.hypervisor import Hypervisor

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)  # a ProbeOption[str] is one of a probe's ProbeOption[object]

ENTRY_POINT_GROUP = "workbench.probes"


@dataclass(frozen=True)
class ProbeOption(Generic[T_co]):
    """One option a probe reads (like sos's PluginOpt): declared on the probe's `options`,
    checked and defaulted by the runner, read with `ctx.option(OPTION)`."""

    name: str
    type: type[T_co]
    default: T_co
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

    def option(self, opt: ProbeOption[T]) -> T:
        """The option's value for this run (its default when not given). The runner puts every
        option the probe declares in `values`, checked and converted; reading one it does not
        declare is a bug in the probe (a value given for it would be refused or ignored)."""
        if opt.name not in self.values:
            raise ProbeError(
                f"the probe reads option {opt.name!r} without declaring it in `options`",
                code="PROBE_OPTION_UNDECLARED",
                details={"option": opt.name, "declared": sorted(self.values)},
            )
        value = self.values[opt.name]
        if not isinstance(value, opt.type):  # the runner checked it against another declaration
            raise ProbeError(
                f"option {opt.name!r} is a {type(value).__name__}, the probe reads a "
                f"{opt.type.__name__}",
                code="PROBE_OPTION_TYPE",
                details={"option": opt.name},
            )
        return value


class DeclaredResults(Mapping[str, ProbeResult]):
    """The results a probe may read: those of the probes it `requires`, `uses` or `consults`.
    Reading any other is a bug in the probe (it could run before its source, or without it); it
    raises instead of quietly depending on the report's order."""

    def __init__(
        self, probe_id: str, declared: tuple[str, ...], results: Mapping[str, ProbeResult]
    ):
        self._probe_id = probe_id
        self._declared = declared
        self._results = {pid: results[pid] for pid in declared if pid in results}

    def __getitem__(self, pid: str) -> ProbeResult:
        if pid not in self._declared:
            raise ProbeError(
                f"probe {self._probe_id} reads the result of {pid} without declaring it in "
                "`requires`, `uses` or `consults`",
                code="PROBE_UNDECLARED_RESULT",
                details={"probe": self._probe_id, "reads": pid, "declared": list(self._declared)},
            )
        return self._results[pid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)


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
    # Probes whose output this one reads when they have any: it runs after them and is never
    # blocked by them (it says what it could not judge when they skipped or errored).
    consults: ClassVar[tuple[str, ...]] = ()
    timeout_s: ClassVar[float] = 10.0
    # What to check when it does not finish in time (None: a hung filesystem or device).
    timeout_remedy: ClassVar[str | None] = None
    order: ClassVar[int] = 100  # where it stands in a report: root causes first
    options: ClassVar[tuple[ProbeOption[object], ...]] = ()  # what it reads with ctx.option

    @abstractmethod
    def run(self, ctx: ProbeContext) -> Outcome:
        """Examine the machine and return the verdict."""
