"""Finding the probe plugins (entry points), tolerantly: a plugin that cannot be used becomes a
stand-in probe whose result says why, so the other probes still run and the report names it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from workbench.core.errors import ConfigError, ProbeError
from workbench.core.logging import get_logger
from workbench.core.probe import ENTRY_POINT_GROUP, Probe, ProbeContext, ProbeOption
from workbench.core.report import Outcome

ProbeClass = type[Probe]

PLUGIN_BROKEN = "PROBE_PLUGIN_BROKEN"
ID_MISMATCH = "PROBE_ID_MISMATCH"
ID_DUPLICATE = "PROBE_ID_DUPLICATE"
OPTION_CONFLICT = "PROBE_OPTION_CONFLICT"
OWN_DIST = "workbench"  # the distribution whose probes are the built-ins
NO_PROBES = "NO_PROBES"


class RefusedProbe(Probe):
    """Stands in for a plugin discovery refused: it runs as status `error` with the reason."""

    area = "plugins"
    order = 0  # first in the report: nothing after it is complete without it

    @staticmethod
    def problem() -> ProbeError:
        """Why the plugin was refused (each stand-in class sets its own)."""
        raise NotImplementedError

    def run(self, ctx: ProbeContext) -> Outcome:
        error = self.problem()  # a fresh error per run: the runner appends context frames
        error.add_context("core.discovery", "discover_probes")
        raise error


def discover_probes() -> list[ProbeClass]:
    """Every probe registered under the `workbench.probes` entry-point group, in report order.

    An entry point that cannot be loaded, does not name a Probe, or is registered under a name
    other than its probe's id, and ids registered twice, become RefusedProbe stand-ins (one
    `error` result each; the reason goes to the log file, not the terminal). Raises ConfigError
    (NO_PROBES) when nothing at all is registered: the package's metadata is missing.
    """
    points = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
    if not points:
        raise ConfigError(
            f"no probes are registered (entry-point group {ENTRY_POINT_GROUP!r} is empty)",
            code=NO_PROBES,
            remedy="Reinstall workbench (`make setup`, or `pip install --force-reinstall "
            "workbench`): the probes are found through the installed package's metadata, so "
            "a source tree that is not installed has none.",
        )
    loaded: dict[str, list[tuple[EntryPoint, ProbeClass]]] = {}
    for ep in points:
        cls = _load(ep)
        loaded.setdefault(cls.id, []).append((ep, cls))
    found: list[ProbeClass] = []
    for pid, entries in loaded.items():
        if len(entries) == 1:
            found.append(entries[0][1])
            continue
        own = [cls for ep, cls in entries if _dist(ep) == OWN_DIST]  # reads metadata: rare path
        if len(own) == 1:  # a plugin cannot take a built-in's id: the built-in runs
            found.append(own[0])
            found += [_taken(pid, ep) for ep, _ in entries if _dist(ep) != OWN_DIST]
        else:
            found.append(_duplicate(pid, [ep for ep, _ in entries]))
    found = _without_option_conflicts(found, {cls: ep for e in loaded.values() for ep, cls in e})
    refused = [cls for cls in found if issubclass(cls, RefusedProbe)]
    if refused:  # the logger (structlog, ~30 ms to import) only when there is news: the UI
        log = get_logger("core.discovery")  # discovers before its first frame
        for cls in refused:
            log.warning("probe.plugin_refused", probe=cls.id, error=cls.problem())
    return sorted(found, key=lambda p: (p.order, p.id))


def _load(ep: EntryPoint) -> ProbeClass:
    """The entry point's probe class, or a stand-in saying why it cannot be used."""

    def where() -> dict[str, str]:  # the distribution's name is read only for a refusal
        return {"entry_point": ep.name, "value": ep.value, "distribution": _dist(ep)}

    try:
        cls = ep.load()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of a plugin is its own
        reason, cause = f"{type(exc).__name__}: {exc}", exc  # `exc` is unbound after except
        return _refused(
            ep.name,
            lambda: ProbeError(
                f"probe plugin {ep.name!r} ({ep.value}) cannot be loaded: {reason}",
                code=PLUGIN_BROKEN,
                details={**where(), "reason": reason},
                cause=cause,
                remedy=f"Fix or reinstall {_dist(ep)}, which registers it, or "
                "uninstall it; the other probes ran.",
            ),
        )
    if not (isinstance(cls, type) and issubclass(cls, Probe)) or inspect.isabstract(cls):
        return _refused(
            ep.name,
            lambda: ProbeError(
                f"probe plugin {ep.name!r} ({ep.value}) is not a concrete Probe subclass",
                code=PLUGIN_BROKEN,
                details={**where(), "reason": f"loads {type(cls).__name__} {cls!r}"[:200]},
                remedy=f"Point the entry point at a Probe subclass in {_dist(ep)}.",
            ),
        )
    pid = getattr(cls, "id", None)
    if not (isinstance(pid, str) and isinstance(getattr(cls, "title", None), str)):
        return _refused(
            ep.name,
            lambda: ProbeError(
                f"probe plugin {ep.name!r} ({ep.value}) lacks a string `id` or `title`",
                code=PLUGIN_BROKEN,
                details={**where(), "reason": "no id or title"},
                remedy=f"Give the probe class in {_dist(ep)} an `id` and a `title`.",
            ),
        )
    if pid != ep.name:
        return _refused(
            ep.name,
            lambda: ProbeError(
                f"probe plugin {ep.name!r} ({ep.value}) holds a probe with id {pid!r}; the "
                "entry-point name must be the probe's id",
                code=ID_MISMATCH,
                details={**where(), "probe_id": pid},
                remedy=f"Register it as {pid!r} = {ep.value!r} in the "
                f"{ENTRY_POINT_GROUP!r} entry points of {_dist(ep)}.",
            ),
        )
    return cls


def _taken(pid: str, ep: EntryPoint) -> ProbeClass:
    """A stand-in, under its own name, for a plugin registering a built-in probe's id."""
    return _refused(
        f"plugin:{_dist(ep)}:{pid}",
        lambda: ProbeError(
            f"probe plugin {ep.value} ({_dist(ep)}) registers {pid!r}, the id of one of "
            "Workbench's own probes; the built-in is used",
            code=ID_DUPLICATE,
            details={"probe_id": pid, "registered_by": [f"{ep.value} ({_dist(ep)})"]},
            remedy=f"Give the probe in {_dist(ep)} an id of its own (prefix it with the "
            "package's name).",
        ),
    )


def _duplicate(pid: str, eps: list[EntryPoint]) -> ProbeClass:
    """A stand-in for an id registered more than once: neither is run (which one is meant
    cannot be known, and entry-point order is not stable)."""
    names = [f"{ep.value} ({_dist(ep)})" for ep in eps]
    return _refused(
        pid,
        lambda: ProbeError(
            f"probe id {pid!r} is registered {len(eps)} times: {', '.join(names)}",
            code=ID_DUPLICATE,
            details={"probe_id": pid, "registered_by": names},
            remedy="Uninstall one of the packages, or give one probe another id; ids are unique.",
        ),
    )


def _without_option_conflicts(
    found: list[ProbeClass], eps: dict[ProbeClass, EntryPoint]
) -> list[ProbeClass]:
    """Options are one namespace (one `--lg-resolution` reaches every probe that reads it): a
    plugin declaring a name that an earlier probe declares with another type is refused, the
    workbench's own probes first, then by id, so a plugin cannot take a built-in's option."""
    types: dict[str, set[type]] = {}
    for cls in found:
        for opt in cls.options:
            types.setdefault(opt.name, set()).add(opt.type)
    if all(len(kinds) == 1 for kinds in types.values()):
        return found  # the usual case: no distribution's metadata need be read
    owners: dict[str, ProbeClass] = {}
    out: list[ProbeClass] = []

    def builtin_first(cls: ProbeClass) -> tuple[bool, str]:
        ep = eps.get(cls)
        return (ep is None or _dist(ep) != OWN_DIST, cls.id)

    for cls in sorted(found, key=builtin_first):
        clash = next(
            (
                (opt, owners[opt.name])
                for opt in cls.options
                if opt.name in owners
                and next(o for o in owners[opt.name].options if o.name == opt.name).type
                is not opt.type
            ),
            None,
        )
        if clash is None:
            out.append(cls)
            for opt in cls.options:
                owners.setdefault(opt.name, cls)
            continue
        opt, owner = clash
        out.append(_conflict(eps[cls], opt, owner))
    return out


def _conflict(ep: EntryPoint, opt: ProbeOption[object], owner: ProbeClass) -> ProbeClass:
    return _refused(
        ep.name,
        lambda: ProbeError(
            f"probe plugin {ep.name!r} ({ep.value}) declares option {opt.name!r} as a "
            f"{opt.type.__name__}; {owner.id} declares it with another type",
            code=OPTION_CONFLICT,
            details={"option": opt.name, "probe_id": ep.name, "declared_by": owner.id},
            remedy=f"Rename the option in {_dist(ep)} (options are shared by name: prefix a "
            "plugin's own with its id).",
        ),
    )


def _refused(pid: str, problem: Callable[[], ProbeError]) -> ProbeClass:
    attrs = {"id": pid, "title": f"plugin {pid}", "problem": staticmethod(problem)}
    return type("RefusedProbe", (RefusedProbe,), attrs)


def _dist(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return str(getattr(dist, "name", None) or "an unknown distribution")
