"""Probe options given to a run, checked against what the probes declare and defaulted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from workbench.core.errors import ConfigError
from workbench.core.probe import ProbeOption
from workbench.core.text import safe_text

if TYPE_CHECKING:
    from workbench.core.probe import Probe


def check_options(
    probes: Sequence[type[Probe]], given: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    """Each probe's option values (probe id -> name -> value): the given ones checked against
    the declarations of `probes`, the rest their defaults. A None value means "not given".

    Raises ConfigError naming the option and the known ones for a name no probe declares, and
    for a value of the wrong type (an int where a float is declared is converted).
    """
    declared = {opt.name for cls in probes for opt in cls.options}
    known = ", ".join(sorted(declared)) or "none"
    unknown = sorted(set(given) - declared)
    if unknown:
        names = ", ".join(repr(safe_text(name)) for name in unknown)
        raise ConfigError(
            f"unknown probe option {names} (known: {known})",
            code="PROBE_OPTION_UNKNOWN",
            details={"unknown": unknown, "known": sorted(declared)},
            remedy=f"Give only options the probes declare: {known}.",
        )
    values: dict[str, dict[str, object]] = {}
    for cls in probes:
        mine: dict[str, object] = {}
        for opt in cls.options:
            value = given.get(opt.name)
            mine[opt.name] = opt.default if value is None else _convert(opt, value, cls.id)
        values[cls.id] = mine
    return values


def _convert(opt: ProbeOption[object], value: object, probe_id: str) -> object:
    """`value` as the option's type: as is, or an int widened to a float. A bool is not taken
    for a number (it is an int to Python, never to the user)."""
    if isinstance(value, bool) and opt.type is not bool:
        pass
    elif isinstance(value, opt.type):
        return value
    elif opt.type is float and isinstance(value, int):
        return float(value)
    shown = safe_text(repr(value))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise ConfigError(
        f"probe option {opt.name!r} of {probe_id} takes a {opt.type.__name__}, "
        f"not {type(value).__name__} {shown}",
        code="PROBE_OPTION_TYPE",
        details={
            "option": opt.name,
            "probe": probe_id,
            "expected": opt.type.__name__,
            "got": type(value).__name__,
        },
        remedy=f"{opt.name}: {opt.help} (a {opt.type.__name__}, default {opt.default!r}).",
    )
