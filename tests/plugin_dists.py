"""Throwaway probe-plugin distributions (a package plus its dist-info with entry points), to put
on sys.path or PYTHONPATH so that discovery reads them as it reads any installed plugin."""

from __future__ import annotations

import sys
from pathlib import Path

GOOD = """
from workbench.core.probe import Probe, ProbeContext, ProbeOption
from workbench.core.report import Outcome


class Good(Probe):
    id = "x.good"
    title = "a plugin that works"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "fine")


class AfterBroken(Probe):
    id = "x.after"
    title = "needs the broken plugin"
    requires = ("x.broken",)

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


class Misnamed(Probe):
    id = "x.actual"
    title = "registered under another name"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


class TwiceA(Probe):
    id = "x.twice"
    title = "one of two"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


class Untitled(Probe):
    id = "x.untitled"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


class TakesResolution(Probe):
    id = "x.resolution"
    title = "declares the built-in lg_resolution as a number"
    options = (ProbeOption("lg_resolution", int, 1080, "a clash with display.looking_glass"),)

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


class SharesResolution(Probe):
    id = "x.shares"
    title = "reads the built-in lg_resolution as the built-in declares it"
    options = (ProbeOption("lg_resolution", str, "1920x1080", "the same option"),)

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", ctx.option(self.options[0]))


class TakesGpus(Probe):
    id = "pci.gpus"
    title = "a plugin taking a built-in probe's id"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "the plugin, not the built-in")


NOT_A_PROBE = 42
"""

TWICE_B = """
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome


class TwiceB(Probe):
    id = "x.twice"
    title = "the other of two"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")
"""

PLUGINS = """\
[workbench.probes]
x.good = wbplug_main.good:Good
x.after = wbplug_main.good:AfterBroken
x.broken = wbplug_main.broken:Broken
x.missing = wbplug_main.nosuch:Probe
x.exits = wbplug_main.exits:Exits
x.notaprobe = wbplug_main.good:NOT_A_PROBE
x.untitled = wbplug_main.good:Untitled
x.misnamed = wbplug_main.good:Misnamed
x.twice = wbplug_main.good:TwiceA
x.resolution = wbplug_main.good:TakesResolution
x.shares = wbplug_main.good:SharesResolution
pci.gpus = wbplug_main.good:TakesGpus
"""

# The ids each plugin above ends up with, and the error code of the refused ones.
EXPECTED = {
    "x.good": None,
    "x.after": None,  # blocked by x.broken, not refused
    "x.broken": "PROBE_PLUGIN_BROKEN",
    "x.missing": "PROBE_PLUGIN_BROKEN",
    "x.exits": "PROBE_PLUGIN_BROKEN",
    "x.notaprobe": "PROBE_PLUGIN_BROKEN",
    "x.untitled": "PROBE_PLUGIN_BROKEN",
    "x.misnamed": "PROBE_ID_MISMATCH",
    "x.twice": "PROBE_ID_DUPLICATE",
    "x.resolution": "PROBE_OPTION_CONFLICT",  # a built-in declares lg_resolution as a str
    "x.shares": None,  # the same name and type: one option, shared
    "pci.gpus": None,  # the built-in keeps its id and runs ...
    "plugin:wbplug_main:pci.gpus": "PROBE_ID_DUPLICATE",  # ... the plugin taking it is refused
}


def _dist(site: Path, name: str, package: str, modules: dict[str, str], entry_points: str) -> None:
    pkg = site / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, text in modules.items():
        (pkg / f"{module}.py").write_text(text)
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def build_plugins(site: Path) -> Path:
    """Two distributions in `site`: wbplug-main (one good plugin, one that requires a broken
    one, a syntax error, a missing module, one that calls sys.exit on import, a non-probe, one
    without a title, a misnamed one, and x.twice) and wbplug-other (x.twice again)."""
    site.mkdir(parents=True, exist_ok=True)
    _dist(
        site,
        "wbplug_main",
        "wbplug_main",
        {
            "good": GOOD,
            "broken": "class Broken(:\n    pass\n",
            "exits": "import sys\nsys.exit('plugin gave up')\n",
        },
        PLUGINS,
    )
    _dist(
        site,
        "wbplug_other",
        "wbplug_other",
        {"twice": TWICE_B},
        "[workbench.probes]\nx.twice = wbplug_other.twice:TwiceB\n",
    )
    return site


def forget_plugins() -> None:
    """Drop the plugin modules an in-process test imported (the next test builds its own)."""
    for name in [m for m in sys.modules if m.startswith(("wbplug_main", "wbplug_other"))]:
        del sys.modules[name]


CHATTY = """
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome

print("chatty: imported")


class Chatty(Probe):
    id = "x.chatty"
    title = "a plugin that prints"

    def run(self, ctx: ProbeContext) -> Outcome:
        print("chatty: ran")
        return Outcome("pass", "said its piece")
"""


def build_chatty(site: Path) -> Path:
    """One distribution in `site`, wbplug-chatty: a probe that prints on import and in run()."""
    site.mkdir(parents=True, exist_ok=True)
    _dist(
        site,
        "wbplug_chatty",
        "wbplug_chatty",
        {"chatty": CHATTY},
        "[workbench.probes]\nx.chatty = wbplug_chatty.chatty:Chatty\n",
    )
    return site
