"""Domain code never imports the UI: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "probes",
        "workbench.core.runner",
        "workbench.cli",
        "workbench.machines",
        "probes.gpus",
        "probes.looking_glass",
        "workbench.api",
        "workbench.capture.collect",
        "workbench.capture.archive",
        "workbench.capture.unpack",
        "workbench.capture.diff",
    ],
)
def test_no_textual_import(module: str) -> None:
    """Importing the engine (and the CLI's headless path) loads no textual."""
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_probe_command_loads_no_textual(tmp_path: object) -> None:
    """A whole `workbench probe` run stays off textual (and rich), which would slow start-up."""
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        "try:\n    main(['probe', '--json'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"


def test_probes_reach_the_hypervisor_only_through_the_protocol() -> None:
    """Probes import from workbench.virt only the Hypervisor protocol (workbench.virt.hypervisor):
    no agent client, no live or recorded implementation, at any level of a module."""
    import ast
    from pathlib import Path

    reached: dict[str, set[str]] = {}
    for path in (Path(__file__).resolve().parent.parent / "probes").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("workbench.virt"):
                    reached.setdefault(name, set()).add(path.name)
    assert "workbench.virt.hypervisor" in reached, "no probe imports the protocol: check broken"
    assert {m: f for m, f in reached.items() if m != "workbench.virt.hypervisor"} == {}


def test_a_run_that_never_asks_the_hypervisor_loads_no_libvirt() -> None:
    """The live machine's hypervisor is made for every run, but libvirt (~25 ms to import) is
    loaded only by the first call to it: the hardware probes alone never pay for it."""
    code = (
        "import sys\n"
        "from workbench.core.host import Host\n"
        "from workbench.core.runner import run_probes\n"
        "from workbench.virt.gateway import open_hypervisor\n"
        "host = Host('/')\n"
        "run_probes(host, hypervisor=open_hypervisor(host, 'test:///default'),"
        " only=['cpu.virtualization'])\n"
        "print('libvirt' in sys.modules)\n"
        "hv = open_hypervisor(host, 'test:///default')\n"
        "print(hv.info().hypervisor, 'libvirt' in sys.modules)\n"
        "hv.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["False", "TEST True"], out.stderr
